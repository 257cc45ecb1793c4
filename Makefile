# The two commands a newcomer needs: `make serve` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: serve test lint format bench soak scale-test clean

LINTED := cds_service tests bench fixtures/corpus

$(BIN)/cds-service: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: $(BIN)/cds-service
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

serve: $(BIN)/cds-service
	CDS_AUTH_MODE=$${CDS_AUTH_MODE:-off} $(BIN)/cds-service serve --host $(HOST) --port $(PORT)

test: $(VENV)/.dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff (rules and line length in pyproject.toml) and mypy on cds_service/; run by .ci/run.
lint: $(VENV)/.dev
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy cds_service

# Rewrites files: ruff's formatter, then ruff's safe fixes.
format: $(VENV)/.dev
	$(BIN)/ruff format $(LINTED)
	$(BIN)/ruff check --fix $(LINTED)

bench: $(VENV)/.dev
	$(BIN)/python -m bench

# Not part of `make test`: SOAK_SECONDS (default 600) of mixed traffic at SOAK_CONCURRENCY (32).
soak: $(VENV)/.dev
	$(BIN)/python -m bench.soak

# Not part of `make test` (which runs the short form, tests/test_replicas.py): three replicas behind
# HAProxy on loopback, kill -9 and a rolling restart under load, latency through the balancer vs direct.
scale-test: $(VENV)/.dev
	$(BIN)/python -m bench.scale $(SCALE_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache

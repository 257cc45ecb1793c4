"""The compose demo's wiring, checked without Docker (which does not run here): services, start-up
order and its conditions, healthchecks, volumes, the service's settings, the files it mounts, the
balancer's wiring to the replicas, and the seed step's command as the real CLI parses it. (The
balancer's own behaviour is proved on loopback by tests/test_replicas.py, with the same file.)"""

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from cds_service.auth.clients import load_registry
from cds_service.cli import build_parser
from cds_service.config import Settings
from cds_service.worker import FLUSH_RESERVE_S

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_ISS = "https://sandbox.cds-hooks.org"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _mounts(service: dict) -> dict:
    """container path -> host source of each volume entry ("src:dst[:ro]")."""
    out = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        out[target] = source
    return out


def test_start_up_order_and_its_conditions(compose):
    services = compose["services"]
    assert set(services) == {"balancer", "cds", "cds-db", "redis", "fhir-seed", "fhir", "fhir-db"}
    conditions = {
        name: {dep: spec["condition"] for dep, spec in svc.get("depends_on", {}).items()}
        for name, svc in services.items()
    }
    assert conditions == {
        "balancer": {"cds": "service_started"},
        "cds": {"fhir-seed": "service_completed_successfully", "cds-db": "service_healthy", "redis": "service_healthy"},
        "cds-db": {},
        "redis": {},
        "fhir-seed": {"fhir": "service_started"},
        "fhir": {"fhir-db": "service_healthy"},
        "fhir-db": {},
    }
    for name, deps in conditions.items():
        for dep, condition in deps.items():
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} to be healthy but it has no healthcheck"
    assert services["fhir-seed"]["restart"] == "no"


def test_healthchecks_probe_the_real_endpoints(compose):
    services = compose["services"]
    cds = services["cds"]
    probe = " ".join(cds["healthcheck"]["test"])
    assert "http://127.0.0.1:8080/readyz" in probe and "timeout=" in probe  # warm and database answering
    for name in ("fhir-db", "cds-db"):
        assert "pg_isready" in " ".join(services[name]["healthcheck"]["test"])
    assert "ping" in services["redis"]["healthcheck"]["test"]
    for name in ("cds", "fhir-db", "cds-db", "redis"):
        assert services[name]["healthcheck"]["retries"] >= 1 and services[name]["healthcheck"]["timeout"]


def _haproxy_lines() -> list[str]:
    return [line.strip() for line in (ROOT / "deploy/haproxy/haproxy.cfg").read_text().splitlines()]


def test_the_balancer_publishes_the_port_and_health_checks_every_replica_on_readyz(compose):
    services = compose["services"]
    balancer, cds = services["balancer"], services["cds"]
    assert "8080:8080" in balancer["ports"] and "ports" not in cds  # calls reach the replicas through it only
    assert _mounts(balancer)["/usr/local/etc/haproxy/haproxy.cfg"] == "./deploy/haproxy/haproxy.cfg"
    assert cds["deploy"]["replicas"] >= 2
    lines = _haproxy_lines()
    assert "bind :8080" in lines
    [template] = [line for line in lines if line.startswith("server-template ")]
    assert template.split()[3] == "cds:8080"  # the compose service's name and the port serve listens on
    assert "http-check send meth GET uri /readyz" in lines and "http-check expect status 200" in lines
    [default] = [line for line in lines if line.startswith("default-server ")]
    assert " check " in f" {default} "
    env = cds["environment"]
    assert env["CDS_PUBLIC_BASE_URL"] == "http://localhost:8080"  # what clients call: the balancer


def test_replicas_share_postgresql_and_a_persistent_redis(compose):
    services = compose["services"]
    env = services["cds"]["environment"]
    database, redis = urlsplit(env["CDS_DATABASE_URL"]), urlsplit(env["CDS_REDIS_URL"])
    assert database.scheme == "postgresql" and database.hostname == "cds-db"
    assert database.path == "/" + services["cds-db"]["environment"]["POSTGRES_DB"]
    assert database.username == services["cds-db"]["environment"]["POSTGRES_USER"]
    assert redis.hostname == "redis"
    command = services["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"  # seen JWT ids survive a Redis restart
    assert _mounts(services["redis"])["/data"] == "redis-data"


def test_a_stopping_replica_gets_longer_than_its_drain(compose):
    cds = compose["services"]["cds"]
    grace = int(cds["stop_grace_period"].rstrip("s"))
    drain = Settings.from_env({k: str(v) for k, v in cds["environment"].items()}).graceful_timeout_s
    assert grace > drain + FLUSH_RESERVE_S  # calls drain, then queued records are written, then SIGKILL


def test_data_lives_in_named_volumes_and_mounted_files_exist(compose):
    declared = set(compose["volumes"])
    assert declared == {"cds-db-data", "redis-data", "hapi-data"}
    assert _mounts(compose["services"]["fhir-db"])["/var/lib/postgresql/data"] == "hapi-data"
    assert _mounts(compose["services"]["cds-db"])["/var/lib/postgresql/data"] == "cds-db-data"
    for name, service in compose["services"].items():
        for source in _mounts(service).values():
            if source.startswith("./"):
                assert (ROOT / source).is_file(), f"{name} mounts {source}, which is not in the repo"
            else:
                assert source in declared, f"{name} uses an undeclared volume {source}"
        if "build" in service:
            assert service["build"] == "." and (ROOT / "Dockerfile").is_file()


def test_the_service_settings_are_valid_and_point_at_mounted_files(compose):
    cds = compose["services"]["cds"]
    env = {k: str(v) for k, v in cds["environment"].items()}
    settings = Settings.from_env(env)  # raises on an unknown value
    assert settings.auth_mode == "required" and settings.cors_origins == ("https://sandbox.cds-hooks.org",)
    assert settings.trusted_clients_path in _mounts(cds)
    assert settings.database_url.startswith("postgresql://") and settings.redis_url
    assert env["CDS_WORKERS"] and "CDS_THREADS" not in env  # serve refuses a thread count (gevent workers)


def test_the_seed_step_loads_the_mounted_demo_bundle_into_the_fhir_service(compose):
    services = compose["services"]
    command = services["fhir-seed"]["command"]
    assert command[:2] == ["cds-service", "seed-fhir"]
    args = build_parser().parse_args(command[1:])
    assert 0 < args.wait <= 600 and args.timeout > 0
    assert _mounts(services["fhir-seed"])[args.bundle] == "./fixtures/demo/patients.bundle.json"
    url = urlsplit(args.url)
    fhir = services["fhir"]
    assert url.hostname == "fhir" and url.path == "/fhir"  # the compose service name, not localhost
    assert str(url.port) == str(fhir["environment"]["SERVER_PORT"])
    assert f"{url.port}:{url.port}" in fhir["ports"]  # same port on the host: only the host name differs


def test_the_sandbox_may_name_the_compose_fhir_server(compose):
    cds = compose["services"]["cds"]
    source = _mounts(cds)[cds["environment"]["CDS_TRUSTED_CLIENTS"]]
    registry = load_registry(str(ROOT / source), Settings.from_env({}))
    sandbox = registry.get(SANDBOX_ISS)
    seed_url = compose["services"]["fhir-seed"]["command"][2]
    assert sandbox is not None and sandbox.allows_fhir_server(seed_url)
    assert sandbox.allows_fhir_server(seed_url.replace("//fhir:", "//localhost:"))


def test_dockerignore_keeps_local_state_out_but_not_what_the_image_copies():
    import fnmatch

    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for must in (".git", ".venv", "instance", "*.sqlite3", "*.pem", "tests"):
        assert must in patterns, must
    copied = [
        word
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ")
        for word in line.split()[1:-1]
    ]
    assert copied
    for source in copied:
        assert not any(fnmatch.fnmatch(source, p) for p in patterns), (
            f".dockerignore hides {source}, which the image needs"
        )


def test_the_image_takes_workers_and_threads_from_the_environment():
    cmd = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD ")][-1]
    assert "--workers" not in cmd and "--threads" not in cmd  # so CDS_WORKERS applies


def test_environment_values_are_quoted(compose):
    """A bare YAML true/false is refused by some compose versions and means True, not "true", to others."""
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            assert isinstance(value, str), f"{name}: {key} should be quoted ({value!r})"

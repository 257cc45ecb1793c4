"""The console script: `evaluate` offline, and `serve` under real gunicorn workers."""

import json
from pathlib import Path

import requests

from tests.support.builders import SERVICE_IDS, empty_prefetch, request
from tests.support.cli import run_cli
from tests.support.gunicorn import served

ROOT = Path(__file__).resolve().parent.parent


def test_evaluate_prints_the_response(tmp_path):
    path = tmp_path / "req.json"
    path.write_text(json.dumps(request("patient-view", prefetch=empty_prefetch())))
    result = run_cli("evaluate", str(path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"cards": []}


def test_evaluate_reports_errors_as_json_and_nonzero(tmp_path):
    path = tmp_path / "req.json"
    path.write_text(json.dumps(request("patient-view")))  # no prefetch, no fhirServer -> 412
    result = run_cli("evaluate", str(path), "--service", SERVICE_IDS["patient-view"])
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"] == "precondition_failed"
    assert run_cli("evaluate", str(tmp_path / "missing.json")).returncode == 2


def test_evaluate_never_writes_to_the_report_database(tmp_path):
    """Issue 10 item 5: a positive case (a card and a rating) evaluated offline leaves the configured
    database untouched: not created, so no cards or ratings can enter the committee report."""
    from cds_service.audit import report
    from cds_service.storage import database_for

    db_url = f"sqlite:///{tmp_path}/report.sqlite3"
    case = ROOT / "fixtures" / "cases" / "adult-left-coded-conclusion-mri.json"
    result = run_cli("evaluate", str(case), env={"CDS_DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["cards"] and answer["systemActions"]  # something that would be recorded by the server
    assert not (tmp_path / "report.sqlite3").exists()
    data = report.build(database_for(db_url), 30)
    assert data["totals"]["cards"] == 0 and data["ratings"] == []


def test_serve_runs_gunicorn_workers(tmp_path):
    env = {"CDS_AUTH_MODE": "off", "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
    with served(env, tmp_path) as (url, log_path):
        assert len(requests.get(f"{url}/cds-services", timeout=5).json()["services"]) == 3
        answer = requests.post(
            f"{url}/cds-services/{SERVICE_IDS['order-sign']}",
            json=request("order-sign", prefetch=empty_prefetch()),
            timeout=5,
        )
        assert answer.status_code == 200 and answer.json() == {"cards": []}
    log = log_path.read_text()
    assert "Traceback" not in log and '"msg":"request"' in log.replace(" ", "")


def test_serve_refuses_bad_configuration():
    result = run_cli("serve", "--port", "1", env={"CDS_FHIR_TIMEOUT_S": "soon"})
    assert result.returncode == 2
    assert "CDS_FHIR_TIMEOUT_S" in result.stderr


def _options(parser):
    import argparse

    for action in parser._actions:
        if action.option_strings and action.help != argparse.SUPPRESS and "-h" not in action.option_strings:
            yield action


def test_every_option_says_its_default_and_every_command_is_described():
    import argparse

    from cds_service.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    listed = {c.dest: c.help for c in commands._choices_actions}
    assert set(listed) == set(commands.choices) and all(len(h) > 40 for h in listed.values())
    for name, sub in commands.choices.items():
        assert sub.description, name
        for action in _options(sub):
            assert "default" in (action.help or ""), f"{name} {action.option_strings[0]} does not say its default"
    assert "cds-service try" in parser.format_help()  # the first hour, from the top-level help


def test_options_without_effect_are_refused():
    for args, env, named in (
        (("serve", "--port", "1", "--threads", "4"), {}, "--threads has no effect"),
        (("serve", "--port", "1"), {"CDS_THREADS": "4"}, "CDS_THREADS has no effect"),
        (("purge", "--dry-run", "--yes"), {}, "--yes has no effect with --dry-run"),
    ):
        result = run_cli(*args, env=env)
        assert result.returncode == 2 and named in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_try_calls_answers_the_card_and_shows_the_report(live, tmp_path):
    database = {"CDS_DATABASE_URL": f"sqlite:///{tmp_path}/try.sqlite3"}
    url = live(database)
    result = run_cli("try", "--url", url, env=database)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[warning] Calcified left flank mass on ultrasound" in out and "suggestion: Change this order" in out
    assert 'feedback (accepted) -> {"received":1,"stored":1}' in out
    assert "accepted 1" in out and "CDS card report" in out
    overridden = run_cli("try", "--url", url, "--outcome", "overridden", env=database)
    assert overridden.returncode == 0 and "overridden 1" in overridden.stdout


def test_try_says_why_it_cannot_run(live, tmp_path):
    result = run_cli("try", "--url", "http://127.0.0.1:9")
    assert result.returncode == 1 and "is the service running" in result.stderr
    secured = live({"CDS_AUTH_MODE": "required", "CDS_TRUSTED_CLIENTS": _no_clients(tmp_path)})
    result = run_cli("try", "--url", secured)
    assert result.returncode == 1 and "requires client JWTs" in result.stderr


def _no_clients(folder: Path) -> str:
    path = folder / "clients.json"
    path.write_text("[]")
    return str(path)

"""The careful command line: purge asks first, and operator mistakes are one line and exit 2.

Every test runs the real `cds-service` in a subprocess, with an empty stdin unless it answers.
"""

import json
import time

import pytest

from cds_service.audit import ledger
from cds_service.storage import database_for
from tests.support.cli import run_cli
from tests.support.gunicorn import free_port

DAY = 86400


@pytest.fixture
def aged_db(tmp_path):
    """A SQLite database with two cards 40 days old and one from today; yields (env, count of cards)."""
    url = f"sqlite:///{tmp_path}/cards.sqlite3"
    db = database_for(url)
    now = time.time()
    for uuid, days_ago in (("old-1", 40), ("old-2", 40), ("new-1", 0)):
        ledger.record_batch(
            db, [("svc", "order-select", [ledger.IssuedCard(uuid, "mri-before-ct", "warning", ())], [], "r")]
        )
        db.execute("UPDATE cds_card SET issued_at = ? WHERE uuid = ?", (int(now - days_ago * DAY), uuid))
    yield {"CDS_DATABASE_URL": url}, lambda: db.query("SELECT COUNT(*) FROM cds_card")[0][0]
    db.close()


def _one_clean_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and "usage:" not in stderr
    return lines[0]


def test_purge_dry_run_counts_and_deletes_nothing(aged_db):
    env, cards = aged_db
    result = run_cli("purge", "--days", "30", "--dry-run", env=env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["wouldDelete"] == {"cards": 2, "ratings": 0, "feedback": 0} and out["deleted"] is None
    assert cards() == 3


def test_purge_without_yes_and_without_stdin_refuses(aged_db):
    env, cards = aged_db
    result = run_cli("purge", "--days", "30", env=env)
    assert result.returncode == 2
    assert "--yes" in result.stderr.splitlines()[-1] and "Traceback" not in result.stderr
    assert cards() == 3


def test_purge_asks_and_honours_the_answer(aged_db):
    env, cards = aged_db
    declined = run_cli("purge", "--days", "30", env=env, input="n\n")
    assert declined.returncode == 1 and "2 cards" in declined.stderr and "nothing deleted" in declined.stderr
    assert cards() == 3
    accepted = run_cli("purge", "--days", "30", env=env, input="yes\n")
    assert accepted.returncode == 0, accepted.stderr
    assert json.loads(accepted.stdout)["deleted"]["cards"] == 2 and cards() == 1


def test_purge_yes_deletes_without_asking(aged_db):
    env, cards = aged_db
    result = run_cli("purge", "--days", "30", "--yes", env=env)
    assert result.returncode == 0 and json.loads(result.stdout)["deleted"]["cards"] == 2
    assert result.stderr == "" and cards() == 1


@pytest.mark.parametrize("since", ["abc", "0", "-3", "1.5"])
def test_bad_since_is_one_line_and_exit_2(aged_db, since):
    env, _ = aged_db
    result = run_cli("report", "--since", since, env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert "--since" in _one_clean_line(result.stderr)


def test_missing_sqlite_directory_or_file_is_refused_and_not_created(tmp_path):
    for path in (tmp_path / "no" / "such" / "dir" / "cds.sqlite3", tmp_path / "absent.sqlite3"):
        for args in (("report",), ("purge", "--yes"), ("purge", "--dry-run")):
            result = run_cli(*args, env={"CDS_DATABASE_URL": f"sqlite:///{path}"})
            assert result.returncode == 2, result.stderr
            assert str(path) in _one_clean_line(result.stderr)
        assert not path.exists() and not (tmp_path / "no").exists()


def test_unreachable_postgresql_is_one_line_and_exit_2():
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/absent"  # nothing listens there
    for args in (("report",), ("purge", "--yes")):
        result = run_cli(*args, env={"CDS_DATABASE_URL": url})
        assert result.returncode == 2
        assert "PostgreSQL" in _one_clean_line(result.stderr)


def test_unsupported_database_url_is_one_line_and_exit_2():
    result = run_cli("report", env={"CDS_DATABASE_URL": "mysql://db/x"})
    assert result.returncode == 2 and "CDS_DATABASE_URL" in _one_clean_line(result.stderr)


def test_serve_takes_workers_from_cds_workers(tmp_path):
    from tests.support.gunicorn import child_pids, served

    env = {
        "CDS_AUTH_MODE": "off",
        "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "CDS_WORKERS": "3",
    }
    with served(env, tmp_path, workers=None, with_process=True) as (_url, _log, proc):
        deadline = time.monotonic() + 15
        while len(child_pids(proc.pid)) != 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(child_pids(proc.pid)) == 3


def test_a_bad_cds_workers_is_one_line_and_exit_2():
    result = run_cli("serve", "--port", "1", env={"CDS_WORKERS": "many"})
    assert result.returncode == 2 and "CDS_WORKERS" in _one_clean_line(result.stderr)


def test_report_to_an_unwritable_place_is_one_line_and_exit_2(aged_db, tmp_path):
    env, _ = aged_db
    target = tmp_path / "no-such-dir" / "report.html"
    result = run_cli("report", "--format", "html", "--out", str(target), env=env)
    assert result.returncode == 2 and str(target) in _one_clean_line(result.stderr)

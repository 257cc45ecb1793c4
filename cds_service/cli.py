"""The `cds-service` command: serve, evaluate, score, try, report, purge, seed (docs/cli.md)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import orjson

from . import trial

NO_THREADS = (
    "has no effect: each gevent worker serves its connections as greenlets, not threads "
    "(CDS_WORKER_CONNECTIONS bounds them; CDS_WORKERS sets the processes)"
)


def _serve(args) -> int:
    if args.threads is not None:
        raise CliError(f"--threads {NO_THREADS}")
    if os.environ.get("CDS_THREADS"):
        raise CliError(f"CDS_THREADS {NO_THREADS}; unset it")
    # gevent must patch the standard library before requests, ssl or psycopg are imported here
    # (the master checks the configuration with them before forking the gevent workers).
    from gevent import monkey

    monkey.patch_all()
    from . import metrics
    from .config import _int
    from .server import run_gunicorn

    workers = args.workers or _int(os.environ, "CDS_WORKERS", 2)  # a bad value: one line, exit 2 (main)
    with metrics.shared_dir():  # before gunicorn forks its workers, so they all write there
        return run_gunicorn(args.host, args.port, workers)


def _evaluate(args) -> int:
    """Run one CDS Hooks request through the same HTTP path as the server, without a socket.

    Auth is off (there is no caller to authenticate); prefetch fallback still calls the request's
    fhirServer if it names one. Prints the response JSON; exit status 0 only for a 200. An offline
    evaluation must never enter the committee report, so the app gets a throwaway database of its
    own: CDS_DATABASE_URL (SQLite or PostgreSQL) is neither opened nor written.
    """
    import tempfile

    from . import create_app
    from .config import Settings

    try:
        raw = Path(args.request).read_bytes()
    except OSError as exc:
        print(f"cannot read {args.request}: {exc.strerror}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="cds-evaluate-") as scratch:
        settings = Settings.from_env(
            auth_mode="off",
            database_url=f"sqlite:///{scratch}/evaluate.sqlite3",
            log_level=os.environ.get("CDS_LOG_LEVEL", "WARNING").upper(),
        )
        app = create_app(settings)
        runtime = app.extensions["cds"]
        try:
            return _evaluate_in(app, runtime.content.services, raw, args.service)
        finally:
            runtime.ledger.flush()  # into the scratch database, before it is removed


def _evaluate_in(app, services, raw: bytes, service_id: str | None) -> int:
    if service_id is None:
        try:
            hook = orjson.loads(raw).get("hook")
        except (orjson.JSONDecodeError, AttributeError):
            hook = None
        matches = [s.id for s in services.values() if s.hook == hook]
        if len(matches) != 1:
            print(
                "cannot tell the service from the request's hook; pass --service ID "
                f"(one of: {', '.join(sorted(services))})",
                file=sys.stderr,
            )
            return 2
        service_id = matches[0]
    response = app.test_client().post(f"/cds-services/{service_id}", data=raw, content_type="application/json")
    sys.stdout.write(orjson.dumps(response.get_json(), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0 if response.status_code == 200 else 1


def _eval(args) -> int:
    """Score a labelled corpus (see fixtures/corpus/README.md); exit 1 below the thresholds."""
    from .evaluation import corpus

    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"not a directory: {folder}", file=sys.stderr)
        return 2
    result = corpus.run(folder)
    if not result.outcomes:
        print(f"no labelled charts in {folder}", file=sys.stderr)
        return 2
    sys.stdout.write(corpus.table(result))
    below = [
        (name, got, want)
        for name, got, want in (
            ("sensitivity", result.sensitivity(), args.min_sensitivity),
            ("specificity", result.specificity(), args.min_specificity),
            ("accuracy", result.accuracy(), args.min_accuracy),
        )
        if want is not None and got is not None and got < want
    ]
    for name, got, want in below:
        print(f"{name} {got:.3f} is below the required {want:.3f}", file=sys.stderr)
    return 1 if below else 0


def _database():
    """The configured database, opened only if it already exists: the report and purge commands must
    never create an empty database (a wrong CDS_DATABASE_URL would then report zero cards)."""
    from .config import Settings
    from .storage import database_for
    from .storage.database import sqlite_path

    settings = Settings.from_env()
    if settings.database_url.startswith("sqlite:///"):
        path = sqlite_path(settings.database_url)
        if not path.is_file():
            where = "its directory does not exist" if not path.parent.is_dir() else "no such file"
            raise CliError(
                f"no database at {path} ({where}); check CDS_DATABASE_URL "
                "(the service creates the database when it first starts)"
            )
    return settings, database_for(settings.database_url)


def _report(args) -> int:
    from .audit import report, report_render

    settings, db = _database()
    data = report.report_for(db, args.since, settings.hooks_dir, now=args.now)
    if args.format == "json":
        out = orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"
    elif args.format == "html":
        out = report_render.page(data)
    else:
        out = report_render.text(data)
    if args.out:
        try:
            Path(args.out).write_text(out, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot write {args.out}: {exc.strerror}") from None
    else:
        sys.stdout.write(out)
    return 0


class CliError(Exception):
    """A problem the operator can fix; printed as one line, exit status 2, never a traceback."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of days, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1 day, got {value}")
    return value


def _confirm(question: str) -> bool:
    """Ask on stderr, read the answer from stdin; no stdin at all (a cron job, CI) is a refusal."""
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline() if sys.stdin is not None else ""
    if not answer:
        raise CliError("nothing deleted: no answer on standard input; pass --yes to delete without asking")
    return answer.strip().lower() in ("y", "yes")


def _purge(args) -> int:
    from .audit import report

    if args.dry_run and args.yes:
        raise CliError("--yes has no effect with --dry-run (nothing is deleted, so nothing is asked)")
    settings, db = _database()
    days = args.days if args.days is not None else settings.retention_days
    due = report.expired(db, days, now=args.now)
    plan = {"retentionDays": days, "wouldDelete": due}
    if args.dry_run or not any(due.values()):
        print(orjson.dumps({**plan, "deleted": None if args.dry_run else due}).decode())
        return 0
    if not args.yes:
        listed = ", ".join(f"{n} {name}" for name, n in due.items())
        if not _confirm(f"Delete {listed} older than {days} days from {settings.database_url.split('@')[-1]}?"):
            print("nothing deleted", file=sys.stderr)
            return 1
    removed = report.purge(db, days, now=args.now)
    print(orjson.dumps({"retentionDays": days, "deleted": removed}).decode())
    return 0


def _seed_fhir(args) -> int:
    from .fhir import seed

    try:
        base = seed.check_base(args.url)
        bundle = seed.load_bundle(Path(args.bundle) if args.bundle else seed.DEMO_BUNDLE)
        outcomes = seed.post_bundle(base, bundle, timeout_s=args.timeout, wait_s=args.wait)
    except seed.SeedError as exc:
        print(f"cds-service seed-fhir: {exc}", file=sys.stderr)
        return 2 if exc.usage else 1
    answers = ", ".join(f"{code} x{n}" for code, n in sorted(outcomes.items()))
    print(f"loaded {len(bundle['entry'])} entries ({seed.summary(bundle)}) into {base}: {answers}")
    return 0


def _try(args) -> int:
    return trial.run(args, _database)


class _Parser(argparse.ArgumentParser):
    """Usage mistakes in one line (and exit 2), not argparse's usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _hidden_now(parser: argparse.ArgumentParser) -> None:
    """`--now EPOCH`: the moment the report or purge cut-off counts from (tests pin it; undocumented)."""
    parser.add_argument("--now", type=float, default=None, help=argparse.SUPPRESS)


EPILOG = """\
first hour (with `make serve` running; its client authentication is off):
  cds-service try                   call the service with a sample chart, accept its card, show the report
  cds-service evaluate FILE         the same call offline, printing the answer
  cds-service report --format html --out report.html

documentation: README.md, then docs/cli.md for every command and docs/configuration.md for every setting
"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cds-service",
        description="A CDS Hooks 2.0 service for imaging decisions at order entry, and its tools.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    serve = sub.add_parser(
        "serve",
        help="serve the CDS Hooks API (gunicorn, gevent workers; client JWTs required unless CDS_AUTH_MODE=off)",
        description="Serve the CDS Hooks API until stopped; prints 'listening on URL' once a call would be answered at once.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default: %(default)s)")
    serve.add_argument("--workers", type=int, help="worker processes (default: CDS_WORKERS, else 2)")
    serve.add_argument("--threads", help=argparse.SUPPRESS)  # refused with a reason (gevent workers)
    serve.set_defaults(func=_serve)
    trial.add_parser(sub, _try)
    evaluate = sub.add_parser(
        "evaluate",
        help="run one CDS Hooks request file offline and print the answer (nothing recorded)",
        description="Run one CDS Hooks request file through the service offline and print the answer JSON.",
    )
    evaluate.add_argument("request", help="path to a CDS Hooks request JSON file, e.g. fixtures/cases/*.json")
    evaluate.add_argument("--service", help="service id (default: the one service for the request's hook)")
    evaluate.set_defaults(func=_evaluate)
    ev = sub.add_parser(
        "eval",
        help="score a folder of labelled charts: sensitivity, specificity, every miss, latency",
        description="Score a folder of labelled charts (format: fixtures/corpus/README.md) through the service.",
    )
    ev.add_argument("folder", metavar="DIR", help="folder of labelled chart files (fixtures/corpus/README.md)")
    for flag, letter, what in (
        ("--min-sensitivity", "X", "sensitivity"),
        ("--min-specificity", "Y", "specificity"),
        ("--min-accuracy", "Z", "the share of charts matching their label exactly (cards and verdicts)"),
    ):
        ev.add_argument(
            flag, type=float, metavar=letter, help=f"exit 1 when {what} is below {letter}, 0-1 (default: no minimum)"
        )
    ev.set_defaults(func=_eval)
    rep = sub.add_parser(
        "report",
        help="the committee report: decisions, cards, acceptance, override reasons, ratings",
        description="The committee report from the database named by CDS_DATABASE_URL.",
    )
    rep.add_argument(
        "--since",
        type=_positive_int,
        default=30,
        metavar="DAYS",
        help="look back this many days (default: %(default)s)",
    )
    rep.add_argument("--format", choices=("text", "json", "html"), default="text", help="(default: %(default)s)")
    rep.add_argument("--out", metavar="FILE", help="write to FILE (default: standard output)")
    _hidden_now(rep)
    rep.set_defaults(func=_report)
    purge = sub.add_parser(
        "purge",
        help="delete stored cards, ratings and feedback older than the retention period",
        description="Delete stored cards, ratings and feedback older than the retention period.",
    )
    purge.add_argument("--days", type=_positive_int, help="retention in days (default: CDS_RETENTION_DAYS, else 365)")
    purge.add_argument(
        "--dry-run", action="store_true", help="count what would be deleted; delete nothing (default: off)"
    )
    purge.add_argument("--yes", action="store_true", help="delete without asking (default: off: ask on the terminal)")
    _hidden_now(purge)
    purge.set_defaults(func=_purge)
    seed_fhir = sub.add_parser(
        "seed-fhir",
        help="load a FHIR transaction Bundle (default: the demo patients) into a FHIR server",
        description="POST a FHIR transaction or batch Bundle to a FHIR R4 server's base URL.",
    )
    seed_fhir.add_argument("url", help="the FHIR server's base URL, e.g. http://localhost:8090/fhir")
    seed_fhir.add_argument(
        "--bundle", metavar="FILE", help="transaction Bundle JSON (default: fixtures/demo/patients.bundle.json)"
    )
    seed_fhir.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="S",
        help="first wait up to S seconds for GET [base]/metadata to answer (default: %(default)s, no wait)",
    )
    seed_fhir.add_argument(
        "--timeout", type=float, default=60.0, metavar="S", help="time limit of the POST (default: %(default)s)"
    )
    seed_fhir.set_defaults(func=_seed_fhir)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .config import ConfigError
    from .storage import StorageError

    args = build_parser().parse_args(argv)
    if args.command != "serve":  # an offline command must not add to a running server's /metrics
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    try:
        return args.func(args)
    except (CliError, ConfigError, StorageError) as exc:
        print(f"cds-service {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

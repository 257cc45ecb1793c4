"""The `cds-service` command: serve under gunicorn, or evaluate one request file offline."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import orjson


def _serve(args) -> int:
    # gevent must patch the standard library before requests, ssl or psycopg are imported here
    # (the master checks the configuration with them before forking the gevent workers).
    from gevent import monkey

    monkey.patch_all()
    from .server import run_gunicorn

    return run_gunicorn(args.host, args.port, args.workers, args.threads)


def _evaluate(args) -> int:
    """Run one CDS Hooks request through the same HTTP path as the server, without a socket.

    Auth is off (there is no caller to authenticate); prefetch fallback still calls the request's
    fhirServer if it names one. Prints the response JSON; exit status 0 only for a 200.
    """
    from . import create_app
    from .config import Settings

    try:
        raw = Path(args.request).read_bytes()
    except OSError as exc:
        print(f"cannot read {args.request}: {exc.strerror}", file=sys.stderr)
        return 2
    settings = Settings.from_env(auth_mode="off", log_level=os.environ.get("CDS_LOG_LEVEL", "WARNING").upper())
    app = create_app(settings)
    services = app.extensions["cds"].content.services
    service_id = args.service
    if service_id is None:
        try:
            hook = orjson.loads(raw).get("hook")
        except (orjson.JSONDecodeError, AttributeError):
            hook = None
        matches = [s.id for s in services.values() if s.hook == hook]
        if len(matches) != 1:
            print("cannot tell the service from the request's hook; pass --service ID "
                  f"(one of: {', '.join(sorted(services))})", file=sys.stderr)
            return 2
        service_id = matches[0]
    response = app.test_client().post(f"/cds-services/{service_id}", data=raw, content_type="application/json")
    sys.stdout.write(orjson.dumps(response.get_json(), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0 if response.status_code == 200 else 1


def _database():
    from .config import Settings
    from .storage import database_for

    settings = Settings.from_env()
    return settings, database_for(settings.database_url)


def _report(args) -> int:
    from .audit import report, report_render

    _, db = _database()
    data = report.build(db, args.since)
    if args.format == "json":
        out = orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"
    elif args.format == "html":
        out = report_render.page(data)
    else:
        out = report_render.text(data)
    if args.out:
        Path(args.out).write_text(out, encoding="utf-8")
    else:
        sys.stdout.write(out)
    return 0


def _purge(args) -> int:
    from .audit import report

    settings, db = _database()
    days = args.days if args.days is not None else settings.retention_days
    removed = report.purge(db, days)
    print(orjson.dumps({"retentionDays": days, "deleted": removed}).decode())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cds-service", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the CDS Hooks API under gunicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=int(os.environ.get("CDS_WORKERS", "2")))
    serve.add_argument("--threads", type=int, default=int(os.environ.get("CDS_THREADS", "4")))
    serve.set_defaults(func=_serve)
    evaluate = sub.add_parser("evaluate", help="run one CDS Hooks request file offline and print the response")
    evaluate.add_argument("request", help="path to a CDS Hooks request JSON file")
    evaluate.add_argument("--service", help="service id (default: the one service for the request's hook)")
    evaluate.set_defaults(func=_evaluate)
    rep = sub.add_parser("report", help="cards shown, accepted and overridden, from the database")
    rep.add_argument("--since", type=int, default=30, metavar="DAYS", help="look back this many days (default 30)")
    rep.add_argument("--format", choices=("text", "json", "html"), default="text")
    rep.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    rep.set_defaults(func=_report)
    purge = sub.add_parser("purge", help="delete stored cards and feedback older than CDS_RETENTION_DAYS")
    purge.add_argument("--days", type=int, help="override CDS_RETENTION_DAYS")
    purge.set_defaults(func=_purge)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

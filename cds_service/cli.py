"""The `cds-service` command: serve under gunicorn, or evaluate one request file offline."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import orjson


def _serve(args) -> int:
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

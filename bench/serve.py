"""`python -m bench.serve floor --port P --workers N`: the floor under our gunicorn settings."""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()  # as `cds-service serve` does, before anything imports ssl or sockets

import argparse  # noqa: E402

from cds_service.server import GunicornApp, gunicorn_options  # noqa: E402

from .floor_app import create_app  # noqa: E402

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("target", choices=["floor"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    GunicornApp(gunicorn_options("127.0.0.1", args.port, args.workers), create_app).run()

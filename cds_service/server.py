"""Production serving: the app factory under gunicorn, configured in code rather than a conf file.

gthread workers keep connections alive (EHRs reuse connections) and let a request that waits on
the FHIR server leave the worker's other threads free. Each worker builds its own app (no
preload), so database connections and thread pools are never shared across fork.
"""
from __future__ import annotations

import sys

from gunicorn.app.base import BaseApplication


class GunicornApp(BaseApplication):
    """Runs `factory()` in each worker with the given gunicorn options (the benchmark's floor reuses it)."""

    def __init__(self, options: dict, factory=None):
        self.options = options
        self.factory = factory
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        if self.factory is not None:
            return self.factory()
        from . import create_app

        return create_app()


def _flush_ledger(server, worker) -> None:
    from .audit.writer import flush_all

    flush_all()


def gunicorn_options(host: str, port: int, workers: int, threads: int) -> dict:
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "keepalive": 30,
        "timeout": 30,
        "graceful_timeout": 10,
        "max_requests": 0,
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "accesslog": None,  # our JSON request log replaces it
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "cds-service",
        "worker_exit": _flush_ledger,  # issued-card records queued in the worker are written before it exits
        "child_exit": _metrics_child_exit,  # its metrics files stop counting as live (prometheus multiprocess)
        "when_ready": _announce,
    }


def run_gunicorn(host: str, port: int, workers: int, threads: int) -> int:
    from .auth import check_trusted_clients
    from .config import ConfigError, Settings
    from .content import ContentError
    from .runtime import load_content
    from .site import load_site

    try:  # fail in the parent, with a readable message, before forking workers
        settings = Settings.from_env()
        content, knowledge = load_content(settings.hooks_dir)
        check_trusted_clients(settings)
        secret = settings.suppression_secret.encode() if settings.suppression_secret else None
        load_site(settings.site_config_path, content.schemas, content.services, knowledge, secret)
    except (ConfigError, ContentError) as exc:
        print(f"cds-service: configuration error: {exc}", file=sys.stderr)
        return 2
    GunicornApp(gunicorn_options(host, port, workers, threads)).run()
    return 0


def _announce(server) -> None:
    """gunicorn's when_ready hook: one line a newcomer can click (gunicorn's own is below our log level)."""
    scheme = "https" if server.cfg.is_ssl else "http"  # gunicorn names every TCP listener http://
    for listener in server.LISTENERS:
        print(f"cds-service: listening on {scheme}://{str(listener).split('://', 1)[-1]}", file=sys.stderr, flush=True)


def _metrics_child_exit(server, worker) -> None:
    from .metrics import worker_exited

    worker_exited(worker.pid)

"""Production serving: the app factory under gunicorn, configured in code rather than a conf file.

Workers are gevent workers (cds_service.worker explains why: a slow client must cost a greenlet,
not a thread). Connections are kept alive (EHRs reuse them) for CDS_READ_TIMEOUT_S, which also
bounds how long a request's headers, and then its body, may take to arrive. Each worker builds
its own app (no preload), so database connections and pools are never shared across fork.
With CDS_TLS_CERT and CDS_TLS_KEY the socket speaks TLS 1.2 or later itself.
"""

from __future__ import annotations

import ssl
import sys

from gunicorn.app.base import BaseApplication

from . import readiness


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
            app = self.factory()
        else:
            from . import create_app
            from .warmup import warm

            app = create_app()
            warm(app.extensions["cds"])  # before the worker takes calls (cds_service.warmup says why)
            if readiness.worker_warm():
                _say(f"listening on {', '.join(_urls)}")
        _tune_gc()
        return app


# Young-generation collections every 10,000 allocations instead of 700. Parsing a prefetch of
# 10,000 resources allocates about 600,000 containers; at the default every one of the dozens of
# collections it triggered also walked the app's own long-lived objects (content, pydantic models,
# the spaCy pipeline once built): half the time of that request. p50 of small calls is unchanged.
GC_THRESHOLD = (10_000, 10, 10)


def _tune_gc() -> None:
    """In each worker after the app is built: what exists now lives as long as the process, so it
    is moved out of the collector's sight (gc.freeze), and collections run less often."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def _flush_ledger(server, worker) -> None:
    from .audit.writer import flush_all

    flush_all()


def _tls_context(config, default_ssl_context_factory):
    """gunicorn's ssl_context hook: its own context, refusing anything older than TLS 1.2."""
    context = default_ssl_context_factory()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def gunicorn_options(
    host: str,
    port: int,
    workers: int,
    *,
    read_timeout_s: int = 10,
    connections: int = 1000,
    graceful_timeout_s: int = 20,
    tls_cert: str | None = None,
    tls_key: str | None = None,
) -> dict:
    from .worker import FLUSH_RESERVE_S

    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "cds_service.worker.CdsWorker",
        "worker_connections": connections,
        "keepalive": read_timeout_s,
        "timeout": 30,
        # SIGTERM: calls in flight get graceful_timeout_s to finish, then each worker writes its queued
        # records (the worker drains for FLUSH_RESERVE_S less than this, which the master waits)
        "graceful_timeout": graceful_timeout_s + FLUSH_RESERVE_S,
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
    if tls_cert and tls_key:
        options.update(certfile=tls_cert, keyfile=tls_key, ssl_context=_tls_context)
    return options


def run_gunicorn(host: str, port: int, workers: int) -> int:
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
    options = gunicorn_options(
        host,
        port,
        workers,
        read_timeout_s=settings.read_timeout_s,
        connections=settings.worker_connections,
        graceful_timeout_s=settings.graceful_timeout_s,
        tls_cert=settings.tls_cert,
        tls_key=settings.tls_key,
    )
    readiness.expect(workers)
    GunicornApp(options).run()
    return 0


_urls: list[str] = []  # set in the master before it forks, so every worker knows them


def _say(line: str) -> None:
    print(f"cds-service: {line}", file=sys.stderr, flush=True)


def _announce(server) -> None:
    """gunicorn's when_ready hook, in the master once the socket is open and before any worker is
    forked. The socket accepts already, but a call would wait for a worker's warm-up (about a
    second, longer on a busy machine): "listening", the line a newcomer waits for and can click,
    comes from the last worker to warm up (GunicornApp.load)."""
    scheme = "https" if server.cfg.is_ssl else "http"  # gunicorn names every TCP listener http://
    _urls[:] = [f"{scheme}://{str(listener).split('://', 1)[-1]}" for listener in server.LISTENERS]
    _say(f"warming up {server.cfg.workers} worker(s) for {', '.join(_urls)}")


def _metrics_child_exit(server, worker) -> None:
    from .metrics import worker_exited

    worker_exited(worker.pid)

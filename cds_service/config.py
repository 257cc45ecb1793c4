"""Settings read once from environment variables (documented in docs/configuration.md).

Everything has an embedded default so `make serve` works on a fresh clone; invalid values fail
at start-up with a message naming the variable rather than surfacing as a fault mid-request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A setting is malformed; raised at start-up only."""


def _float(env: Mapping, name: str, default: float, minimum: float = 0.0) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= minimum:
        raise ConfigError(f"{name} must be greater than {minimum}")
    return value


def _int(env: Mapping, name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    return value


def _bool(env: Mapping, name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _secret(env: Mapping, name: str) -> str | None:
    """A keying secret: absent, or long enough that the keyed hashes it makes cannot be guessed."""
    raw = env.get(name)
    if raw in (None, ""):
        return None
    if len(raw) < 32:
        raise ConfigError(f"{name} must be at least 32 characters (a random string; it keys patient hashes)")
    return raw


def _tls(env: Mapping) -> dict:
    """CDS_TLS_CERT and CDS_TLS_KEY: both or neither, each a readable file (checked at start-up)."""
    cert, key = (env.get("CDS_TLS_CERT") or None), (env.get("CDS_TLS_KEY") or None)
    if bool(cert) != bool(key):
        raise ConfigError("CDS_TLS_CERT and CDS_TLS_KEY must be set together")
    for name, path in (("CDS_TLS_CERT", cert), ("CDS_TLS_KEY", key)):
        if path and not os.access(path, os.R_OK):
            raise ConfigError(f"{name}: cannot read {path}")
    return {"tls_cert": cert, "tls_key": key}


@dataclass(frozen=True)
class Settings:
    auth_mode: str = "required"
    public_base_url: str | None = None
    accepted_audiences: tuple[str, ...] = ()
    database_url: str = "sqlite:///instance/cds.sqlite3"
    redis_url: str | None = None
    trusted_clients_path: str | None = None
    fhir_timeout_s: float = 3.0
    fhir_deadline_s: float = 4.5
    fhir_max_pages: int = 10
    max_body_bytes: int = 5 * 1024 * 1024
    cors_origins: tuple[str, ...] = ("*",)
    validate_responses: bool = False
    metrics_enabled: bool = True
    retention_days: int = 365
    hooks_dir: Path = field(default=REPO_ROOT / "hooks")
    log_level: str = "INFO"
    jwt_leeway_s: int = 30
    jwt_max_lifetime_s: int = 3600
    jwks_ttl_s: float = 300.0
    jwks_refresh_floor_s: float = 30.0
    jwks_timeout_s: float = 3.0
    allow_insecure_jku: bool = False
    site_config_path: str | None = None
    site_reload_s: float = 2.0
    suppression_secret: str | None = field(default=None, repr=False)
    fhir_max_response_bytes: int = 8 * 1024 * 1024
    fhir_max_request_bytes: int = 32 * 1024 * 1024
    fhir_max_per_server: int = 16
    read_timeout_s: int = 10
    worker_connections: int = 1000
    tls_cert: str | None = None
    tls_key: str | None = None
    db_timeout_s: float = 2.0
    db_connect_timeout_s: float = 3.0
    db_pool_size: int = 8
    hook_db_timeout_s: float = 0.05
    spool_dir: str = "instance/spool"
    spool_max_bytes: int = 64 * 1024 * 1024
    feedback_wait_s: float = 2.0
    migration_timeout_s: float = 300.0
    graceful_timeout_s: int = 20
    decision_window_min: int = 30

    @classmethod
    def from_env(cls, env: dict | None = None, **overrides) -> Settings:
        env = dict(os.environ if env is None else env)
        auth_mode = env.get("CDS_AUTH_MODE", "required").strip().lower() or "required"
        if auth_mode not in ("required", "off"):
            raise ConfigError(f"CDS_AUTH_MODE must be 'required' or 'off', got {auth_mode!r}")
        base = (env.get("CDS_PUBLIC_BASE_URL") or "").strip().rstrip("/") or None
        if base and not base.startswith(("http://", "https://")):
            raise ConfigError("CDS_PUBLIC_BASE_URL must be an absolute http(s) URL")
        accepted = tuple(a.strip().rstrip("/") for a in env.get("CDS_ACCEPTED_AUDIENCES", "").split(",") if a.strip())
        for item in accepted:
            if not item.startswith(("http://", "https://")):
                raise ConfigError(f"CDS_ACCEPTED_AUDIENCES: {item!r} is not an absolute http(s) base URL")
        origins = tuple(o.strip().rstrip("/") for o in env.get("CDS_CORS_ORIGINS", "*").split(",") if o.strip())
        values: dict[str, Any] = dict(
            auth_mode=auth_mode,
            public_base_url=base,
            accepted_audiences=accepted,
            database_url=env.get("CDS_DATABASE_URL") or cls.database_url,
            redis_url=env.get("CDS_REDIS_URL") or None,
            trusted_clients_path=env.get("CDS_TRUSTED_CLIENTS") or None,
            fhir_timeout_s=_float(env, "CDS_FHIR_TIMEOUT_S", cls.fhir_timeout_s),
            fhir_deadline_s=_float(env, "CDS_FHIR_DEADLINE_S", cls.fhir_deadline_s),
            fhir_max_pages=_int(env, "CDS_FHIR_MAX_PAGES", cls.fhir_max_pages),
            max_body_bytes=_int(env, "CDS_MAX_BODY_BYTES", cls.max_body_bytes),
            cors_origins=origins or ("*",),
            validate_responses=_bool(env, "CDS_VALIDATE_RESPONSES", cls.validate_responses),
            metrics_enabled=_bool(env, "CDS_METRICS_ENABLED", cls.metrics_enabled),
            retention_days=_int(env, "CDS_RETENTION_DAYS", cls.retention_days),
            hooks_dir=Path(env.get("CDS_HOOKS_DIR") or REPO_ROOT / "hooks"),
            log_level=(env.get("CDS_LOG_LEVEL") or "INFO").upper(),
            jwt_leeway_s=_int(env, "CDS_JWT_LEEWAY_S", cls.jwt_leeway_s, minimum=0),
            jwt_max_lifetime_s=_int(env, "CDS_JWT_MAX_LIFETIME_S", cls.jwt_max_lifetime_s),
            jwks_ttl_s=_float(env, "CDS_JWKS_TTL_S", cls.jwks_ttl_s),
            jwks_refresh_floor_s=_float(env, "CDS_JWKS_REFRESH_FLOOR_S", cls.jwks_refresh_floor_s),
            jwks_timeout_s=_float(env, "CDS_JWKS_TIMEOUT_S", cls.jwks_timeout_s),
            allow_insecure_jku=_bool(env, "CDS_ALLOW_INSECURE_JKU", cls.allow_insecure_jku),
            site_config_path=env.get("CDS_SITE_CONFIG") or None,
            site_reload_s=0.0
            if env.get("CDS_SITE_RELOAD_S", "").strip() == "0"
            else _float(env, "CDS_SITE_RELOAD_S", cls.site_reload_s),
            suppression_secret=_secret(env, "CDS_SUPPRESSION_SECRET"),
        )
        values.update(
            fhir_max_response_bytes=_int(env, "CDS_FHIR_MAX_RESPONSE_BYTES", cls.fhir_max_response_bytes),
            fhir_max_request_bytes=_int(env, "CDS_FHIR_MAX_REQUEST_BYTES", cls.fhir_max_request_bytes),
            fhir_max_per_server=_int(env, "CDS_FHIR_MAX_PER_SERVER", cls.fhir_max_per_server),
            read_timeout_s=_int(env, "CDS_READ_TIMEOUT_S", cls.read_timeout_s),
            worker_connections=_int(env, "CDS_WORKER_CONNECTIONS", cls.worker_connections),
            db_timeout_s=_float(env, "CDS_DB_TIMEOUT_S", cls.db_timeout_s),
            db_connect_timeout_s=_float(env, "CDS_DB_CONNECT_TIMEOUT_S", cls.db_connect_timeout_s),
            db_pool_size=_int(env, "CDS_DB_POOL_SIZE", cls.db_pool_size),
            hook_db_timeout_s=_float(env, "CDS_HOOK_DB_TIMEOUT_S", cls.hook_db_timeout_s),
            spool_dir=env.get("CDS_SPOOL_DIR") or cls.spool_dir,
            spool_max_bytes=_int(env, "CDS_SPOOL_MAX_BYTES", cls.spool_max_bytes),
            feedback_wait_s=_float(env, "CDS_FEEDBACK_WAIT_S", cls.feedback_wait_s),
            migration_timeout_s=_float(env, "CDS_MIGRATION_TIMEOUT_S", cls.migration_timeout_s),
            graceful_timeout_s=_int(env, "CDS_GRACEFUL_TIMEOUT_S", cls.graceful_timeout_s),
            decision_window_min=_int(env, "CDS_DECISION_WINDOW_MIN", cls.decision_window_min),
            **_tls(env),
        )
        values.update(overrides)
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown settings: {sorted(unknown)}")
        return cls(**values)

    @property
    def audience_bases(self) -> tuple[str, ...]:
        """The base URLs a client JWT's `aud` may name (plus the endpoint path); never the Host header,
        which the caller chooses."""
        bases = ((self.public_base_url,) if self.public_base_url else ()) + self.accepted_audiences
        return tuple(dict.fromkeys(bases))

"""Who may call us: CDS client authentication (CDS Hooks 2.0 §Trusting CDS Clients).

Every call under /cds-services carries a JWT signed by a registered client; the guard hands
its Authorization header and the endpoint URL here and gets back the `TrustedClient`, or a 401.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..config import ConfigError, Settings
from .clients import Registry, TrustedClient, TrustedClientsError, load_registry, normalise_base_url
from .identity import LOCAL, Caller, caller_for
from .verify import Verifier

if TYPE_CHECKING:
    from .replay import DatabaseReplayGuard, RedisReplayGuard

log = logging.getLogger("cds_service.auth")

__all__ = [
    "Authenticator",
    "Caller",
    "TrustedClient",
    "TrustedClientsError",
    "build_authenticator",
    "check_audience_settings",
    "check_trusted_clients",
    "normalise_base_url",
]


class Authenticator:
    """Verifies client JWTs; logs who was admitted and why anyone was not, never the token."""

    def __init__(self, registry: Registry, verifier: Verifier | None):
        self.registry = registry
        self._verifier = verifier

    def authenticate(
        self, authorization: str | None, audiences: tuple[str, ...]
    ) -> tuple[TrustedClient | None, Caller]:
        """The client behind the request's JWT (None when authentication is off) and the caller's
        identity (auth.identity: what feedback and suppression are scoped to); a 401 CdsError otherwise.

        `audiences`: the endpoint's URL under each configured public base URL (any one may be the aud)."""
        if self._verifier is None:  # CDS_AUTH_MODE=off (warned about at start-up)
            return None, LOCAL
        client, claims = self._verifier.verify(authorization, audiences)
        return client, caller_for(client, claims)


def check_audience_settings(settings: Settings) -> None:
    """With auth required, the accepted `aud` base URLs must be configured: deriving them from the
    Host header would let a token minted for another host in when the caller sends that Host."""
    if settings.auth_mode == "required" and not settings.audience_bases:
        raise ConfigError(
            "CDS_AUTH_MODE=required needs CDS_PUBLIC_BASE_URL (the external base URL clients call; "
            "JWTs must name it in aud) or CDS_ACCEPTED_AUDIENCES (a comma-separated list of such URLs)"
        )


def check_trusted_clients(settings: Settings) -> int:
    """Validate the trusted-clients file without opening any store; for a pre-fork check in the
    server parent, so a bad file fails with one readable line instead of a worker traceback.
    Raises TrustedClientsError (a ConfigError); returns the number of clients."""
    check_audience_settings(settings)
    if settings.auth_mode == "required" and settings.redis_url:
        import redis

        from .replay import check_durable

        check_durable(redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2))
    if not settings.trusted_clients_path:
        return 0
    return len(load_registry(settings.trusted_clients_path, settings))


def build_authenticator(settings: Settings) -> Authenticator:
    """Load and check the trusted clients; with auth required, also open the replay store.

    With auth off the file is still checked when given (a bad file should fail before the day
    auth is switched on) but no database or Redis connection is made.
    """
    check_audience_settings(settings)
    if settings.trusted_clients_path:
        registry = load_registry(settings.trusted_clients_path, settings)
    else:
        registry = Registry([])
    if settings.auth_mode == "off":
        return Authenticator(registry, None)
    if not len(registry):
        log.warning("no trusted CDS clients configured (CDS_TRUSTED_CLIENTS); every call will be refused with 401")
    if settings.redis_url:
        from .replay import RedisReplayGuard

        replay: RedisReplayGuard | DatabaseReplayGuard = RedisReplayGuard(settings.redis_url)
    else:
        from ..storage import database_for
        from .replay import DatabaseReplayGuard

        replay = DatabaseReplayGuard(database_for(settings.database_url))
    log.info(
        "CDS client authentication on",
        extra={"trustedClients": len(registry), "replayStore": "redis" if settings.redis_url else "database"},
    )
    return Authenticator(
        registry, Verifier(registry, replay, leeway_s=settings.jwt_leeway_s, max_lifetime_s=settings.jwt_max_lifetime_s)
    )

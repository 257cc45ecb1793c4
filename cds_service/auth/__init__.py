"""Who may call us: CDS client authentication (CDS Hooks 2.0 §Trusting CDS Clients)."""
from __future__ import annotations

from ..config import Settings
from ..errors import CdsError


class Authenticator:
    """Placeholder until JWT verification lands: with auth required, nobody is admitted."""

    def authenticate(self, authorization: str | None, audience: str):
        raise CdsError(401, "authentication required", headers={"WWW-Authenticate": 'Bearer realm="cds-services"'},
                       log_detail="JWT verification not configured")


def build_authenticator(settings: Settings) -> Authenticator:
    return Authenticator()

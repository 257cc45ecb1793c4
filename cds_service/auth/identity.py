"""Who a call came from, as far as anything the service keeps is concerned: the caller's identity.

Patient ids are unique only within one EHR, and a card shown to one client is that client's
alone: suppression of repeated alerts and feedback are both scoped to the caller. The identity is
the token's issuer plus its tenant: the one the trusted-clients registry gives for that issuer,
or else the token's own `tenant` claim (CDS Hooks: the organisation invoking the hook), so one
issuer serving several organisations keeps them apart. With authentication off every call has
the same local identity.

`Caller.key` is what storage holds (cds_card.client_key, cds_card_subject.client_key,
cds_suppression.client_key): a SHA-256 digest, fixed length, so no issuer or tenant string
sizes an index and none is written next to patient-derived keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

MAX_TENANT_CHARS = 256


@dataclass(frozen=True)
class Caller:
    iss: str | None = None  # None: authentication is off (one local identity)
    tenant: str | None = None

    @property
    def key(self) -> str:
        """The stored form of this identity (64 hex characters); stable across workers and replicas."""
        raw = "local" if self.iss is None else f"iss\x1f{self.iss}\x1ftenant\x1f{self.tenant or ''}"
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()


LOCAL = Caller()


def caller_for(client, claims: dict) -> Caller:
    """The identity of a verified token: its issuer, and the registry's tenant or else the token's."""
    tenant = client.tenant
    if tenant is None:
        claimed = claims.get("tenant")
        if isinstance(claimed, str) and 0 < len(claimed) <= MAX_TENANT_CHARS:
            tenant = claimed
    return Caller(client.iss, tenant)

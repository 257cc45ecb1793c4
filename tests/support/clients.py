"""Several registered CDS clients, each with its own key, in two tenants, calling one live service
with auth required: what the isolation tests (issue 21) need."""

from __future__ import annotations

import json
from dataclasses import dataclass

import requests

from tests.support.jwt_clients import Signer, bearer, jwks, write_clients

SUPPRESSION_SECRET = "suppression-secret-for-tests-0123456789"


@dataclass
class Client:
    iss: str
    tenant: str | None
    signer: Signer

    def entry(self) -> dict:
        entry = {"iss": self.iss, "jwks": jwks(self.signer)}
        if self.tenant:
            entry["tenant"] = self.tenant
        return entry

    def post(self, base: str, path: str, body: dict, claims: dict | None = None) -> requests.Response:
        url = base + path
        token = self.signer.token(self.iss, url, claims=claims)
        with requests.Session() as session:
            session.trust_env = False
            return session.post(
                url, data=json.dumps(body), headers={**bearer(token), "Content-Type": "application/json"}
            )


def four_clients() -> dict[str, Client]:
    """a and c in tenant hospital-1, b in hospital-2, d registered without a tenant (its tokens say)."""
    return {
        "a": Client("https://ehr-a.example/fhir", "hospital-1", Signer("ES384")),
        "b": Client("https://ehr-b.example/fhir", "hospital-2", Signer("RS384")),
        "c": Client("https://ehr-c.example/fhir", "hospital-1", Signer("ES256")),
        "d": Client("https://ehr-d.example/fhir", None, Signer("ES384")),
    }


def auth_env(tmp_path, clients: dict[str, Client], database_url: str, suppression_hours: float | None = 24) -> dict:
    env = {
        "CDS_AUTH_MODE": "required",
        "CDS_TRUSTED_CLIENTS": write_clients(tmp_path, [c.entry() for c in clients.values()]),
        "CDS_DATABASE_URL": database_url,
    }
    if suppression_hours is not None:
        site = tmp_path / "site.json"
        site.write_text(json.dumps({"suppression": {"enabled": True, "hours": suppression_hours}}))
        env.update(CDS_SITE_CONFIG=str(site), CDS_SUPPRESSION_SECRET=SUPPRESSION_SECRET)
    return env

"""Pinned keys next to a registered `jku`, as real clients need (issue 10 item 1).

The CDS Hooks Sandbox and Inferno put `jku` in every JWT header. A registry entry that pins the
client's keys (inline `jwks` or a `jwks_file`) and also names its `jku` accepts that header jku
without ever fetching it; any other jku is refused and not fetched either. Keys are made here;
the Sandbox's token shape is reproduced by tests.support.jwt_clients.sandbox_token.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from cds_service.auth import load_registry
from cds_service.config import REPO_ROOT, Settings
from tests.support import builders
from tests.support.jwt_clients import (
    SANDBOX_ISS,
    SANDBOX_JKU,
    JwksServer,
    Signer,
    bearer,
    jwks,
    sandbox_token,
    write_clients,
)

SERVICE = builders.SERVICE_IDS["order-select"]


def _app(live, tmp_path, entries, **env):
    return live(
        {
            "CDS_AUTH_MODE": "required",
            "CDS_TRUSTED_CLIENTS": write_clients(tmp_path, entries),
            "CDS_ALLOW_INSECURE_JKU": "true",
            **env,
        }
    )


@pytest.mark.parametrize("pinning", ["jwks", "jwks_file"])
def test_sandbox_shaped_token_with_pinned_keys_and_its_jku_is_accepted_without_fetching(live, http, tmp_path, pinning):
    signer = Signer("ES384")
    with JwksServer(jwks(Signer("ES384"))) as registered:  # a key URL that would serve other keys
        if pinning == "jwks":
            entry = {"iss": SANDBOX_ISS, "jku": registered.url, "jwks": jwks(signer)}
        else:
            (tmp_path / "sandbox.jwks.json").write_text(json.dumps(jwks(signer)), encoding="utf-8")
            entry = {"iss": SANDBOX_ISS, "jku": registered.url, "jwks_file": "sandbox.jwks.json"}
        url = _app(live, tmp_path, [entry])
        discovery, service = url + "/cds-services", f"{url}/cds-services/{SERVICE}"
        token = sandbox_token(signer, discovery, jku=registered.url)
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        assert set(header) == {"alg", "typ", "kid", "jku"} and header["alg"] == "ES384"
        assert http.get(discovery, headers=bearer(token)).status_code == 200
        body = builders.request(prefetch=builders.empty_prefetch())
        response = http.post(service, json=body, headers=bearer(sandbox_token(signer, service, jku=registered.url)))
        assert response.status_code == 200, response.text
        assert registered.total() == 0  # pinned: the registered jku is compared, never fetched


def test_pinned_client_refuses_any_other_jku_and_fetches_none(live, http, tmp_path, log_lines):
    signer = Signer("ES384")
    with JwksServer(jwks(signer)) as elsewhere:
        url = _app(live, tmp_path, [{"iss": SANDBOX_ISS, "jku": SANDBOX_JKU, "jwks": jwks(signer)}])
        discovery = url + "/cds-services"
        # the real Sandbox jku (https, never fetched: no network is needed to accept it)
        assert http.get(discovery, headers=bearer(sandbox_token(signer, discovery))).status_code == 200
        for jku in (elsewhere.url, SANDBOX_JKU + "?x=1", SANDBOX_JKU.upper()):
            response = http.get(discovery, headers=bearer(sandbox_token(signer, discovery, jku=jku)))
            assert response.status_code == 401
        assert elsewhere.total() == 0
    reasons = [entry.get("error") for entry in log_lines.requests()]
    assert reasons.count(f"auth: jku is not the one registered for {SANDBOX_ISS}; not fetched") == 3


def test_pinned_keys_without_a_registered_jku_refuse_any_header_jku(live, http, tmp_path):
    signer = Signer("RS384")
    url = _app(live, tmp_path, [{"iss": SANDBOX_ISS, "jwks": jwks(signer)}])
    discovery = url + "/cds-services"
    assert http.get(discovery, headers=bearer(signer.token(SANDBOX_ISS, discovery))).status_code == 200
    assert http.get(discovery, headers=bearer(sandbox_token(signer, discovery))).status_code == 401


def test_registry_rejects_both_pinned_forms_at_once(tmp_path):
    from cds_service.auth import TrustedClientsError

    path = write_clients(tmp_path, [{"iss": "i", "jku": SANDBOX_JKU, "jwks": jwks(Signer()), "jwks_file": "x.json"}])
    with pytest.raises(TrustedClientsError, match="not both"):
        load_registry(path, Settings.from_env({}))


def test_shipped_sandbox_registration_pins_the_sandbox_key_and_its_jku():
    """deploy/trusted-clients.sandbox.json loads, passes the schema and never needs the network."""
    path = REPO_ROOT / "deploy" / "trusted-clients.sandbox.json"
    client = load_registry(str(path), Settings.from_env({})).get(SANDBOX_ISS)
    assert client is not None and client.jku == SANDBOX_JKU
    entry = next(e for e in json.loads(Path(path).read_text()) if e["iss"] == SANDBOX_ISS)
    assert "jwks" in entry or "jwks_file" in entry  # pinned: trusted offline
    key = client.keys.find("44823f3d-0b01-4a6c-a80e-b9d3e8a7226f")  # the kid the Sandbox signs with
    assert key is not None and key.fits("ES384")


def test_unreachable_key_url_is_named_in_the_refusal_reason(live, http, tmp_path, log_lines):
    server = JwksServer(jwks(Signer()))  # bound, then closed: the port refuses connections
    gone_url = server.url
    server._server.server_close()
    signer = Signer("ES384")
    url = _app(live, tmp_path, [{"iss": SANDBOX_ISS, "jku": gone_url}])
    discovery = url + "/cds-services"
    assert http.get(discovery, headers=bearer(sandbox_token(signer, discovery, jku=gone_url))).status_code == 401
    reason = log_lines.requests()[-1]["error"]
    assert "unavailable" in reason and "unreachable" in reason, reason
    assert "no key with this kid" not in reason

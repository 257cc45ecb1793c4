"""The JWT `aud` comes from configuration, never from the Host header (issue 11 item 11)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cds_service import create_app
from cds_service.config import ConfigError, Settings
from tests.support.gunicorn import ROOT, free_port
from tests.support.jwt_clients import Signer, bearer, jwks, write_clients

ISS = "https://ehr.example.org/fhir"


def _clients(tmp_path, signer: Signer) -> str:
    return write_clients(tmp_path, [{"iss": ISS, "jwks": jwks(signer)}])


def test_a_token_for_another_host_is_refused_even_when_the_host_header_names_it(live, http, tmp_path):
    signer = Signer("ES384")
    url = live({"CDS_AUTH_MODE": "required", "CDS_TRUSTED_CLIENTS": _clients(tmp_path, signer)})
    discovery = url + "/cds-services"
    forged_for = "http://evil.example/cds-services"
    response = http.get(discovery, headers={**bearer(signer.token(ISS, forged_for)), "Host": "evil.example"})
    assert response.status_code == 401
    # the configured audience still works whatever Host says
    response = http.get(discovery, headers={**bearer(signer.token(ISS, discovery)), "Host": "evil.example"})
    assert response.status_code == 200


def test_accepted_audiences_allow_list(live, http, tmp_path):
    signer = Signer("ES384")
    url = live(
        {
            "CDS_AUTH_MODE": "required",
            "CDS_TRUSTED_CLIENTS": _clients(tmp_path, signer),
            "CDS_PUBLIC_BASE_URL": "https://cds.example.org",
            "CDS_ACCEPTED_AUDIENCES": "https://cds.internal.example:8443/, http://cds-alias.example",
        }
    )
    discovery = url + "/cds-services"
    for base in ("https://cds.example.org", "https://cds.internal.example:8443", "http://cds-alias.example"):
        assert http.get(discovery, headers=bearer(signer.token(ISS, base + "/cds-services"))).status_code == 200
    for base in (url, "https://other.example"):
        assert http.get(discovery, headers=bearer(signer.token(ISS, base + "/cds-services"))).status_code == 401


def test_auth_required_without_a_public_base_url_refuses_to_start(tmp_path):
    env = {"CDS_AUTH_MODE": "required", "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/cds.sqlite3"}
    with pytest.raises(ConfigError, match="CDS_PUBLIC_BASE_URL"):
        create_app(Settings.from_env(env))
    create_app(Settings.from_env({**env, "CDS_ACCEPTED_AUDIENCES": "https://cds.example.org"}))  # an allow-list will do
    create_app(Settings.from_env({**env, "CDS_AUTH_MODE": "off"}))  # auth off needs no audience
    with pytest.raises(ConfigError, match="CDS_ACCEPTED_AUDIENCES"):
        Settings.from_env({"CDS_ACCEPTED_AUDIENCES": "cds.example.org"})


def test_serve_exits_with_one_clear_line_without_a_public_base_url(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "CDS_AUTH_MODE": "required",
        "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/cds.sqlite3",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "cds_service", "serve", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "CDS_PUBLIC_BASE_URL" in proc.stderr and "Traceback" not in proc.stderr


def test_aud_must_be_the_exact_url_not_one_with_a_trailing_slash(live, http, tmp_path):
    """Issue 21 point 9: the README promises the exact URL; `/x/` and `/x//` are other URLs."""
    signer = Signer("ES384")
    url = live({"CDS_AUTH_MODE": "required", "CDS_TRUSTED_CLIENTS": _clients(tmp_path, signer)})
    endpoint = url + "/cds-services/flank-mass-imaging-order-select"
    for aud in (endpoint + "/", endpoint + "//", [endpoint + "/"]):
        assert http.post(endpoint, json={}, headers=bearer(signer.token(ISS, aud))).status_code == 401, aud
    assert http.post(endpoint, json={}, headers=bearer(signer.token(ISS, [endpoint]))).status_code == 400

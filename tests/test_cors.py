"""CORS (Appendix A A-C1, A-C2): browser clients such as the CDS Hooks Sandbox must see every answer."""

import pytest

from tests.support.builders import SERVICE_IDS, empty_prefetch, mri_draft, request

SANDBOX = "https://sandbox.cds-hooks.org"
PATHS = [
    "/cds-services",
    f"/cds-services/{SERVICE_IDS['order-select']}",
    f"/cds-services/{SERVICE_IDS['order-select']}/feedback",
]


@pytest.mark.parametrize("path", PATHS)
def test_preflight_is_answered_without_auth_or_redirect(live, http, path):
    url = live({"CDS_AUTH_MODE": "required"})
    for suffix in ("", "/"):
        response = http.options(
            f"{url}{path}{suffix}",
            allow_redirects=False,
            headers={
                "Origin": SANDBOX,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        assert response.status_code == 204
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
        allowed = response.headers["Access-Control-Allow-Headers"].lower()
        assert "authorization" in allowed and "content-type" in allowed


def test_cors_headers_on_success_and_every_error(live, http):
    url = live()
    select = f"{url}/cds-services/{SERVICE_IDS['order-select']}"
    headers = {"Origin": SANDBOX, "Content-Type": "application/json"}
    answers = [
        http.get(f"{url}/cds-services", headers=headers),
        http.post(select, json=request(prefetch=empty_prefetch()), headers=headers),
        http.post(select, data=b"{", headers=headers),
        http.post(select, json=request(drafts=[mri_draft()]), headers=headers),  # 412: no chart for a judged draft
        http.post(f"{url}/cds-services/nope", json={}, headers=headers),
        http.get(select, headers=headers),
        http.get(f"{url}/healthz", headers=headers),
    ]
    assert [a.status_code for a in answers] == [200, 200, 400, 412, 404, 405, 200]
    for answer in answers:
        assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_401_carries_cors_headers(live, http):
    url = live({"CDS_AUTH_MODE": "required"})
    response = http.get(f"{url}/cds-services", headers={"Origin": SANDBOX})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "WWW-Authenticate" in response.headers["Access-Control-Expose-Headers"]


def test_origin_allowlist(live, http):
    url = live({"CDS_CORS_ORIGINS": f"{SANDBOX}, https://ehr.example.org"})
    allowed = http.get(f"{url}/cds-services", headers={"Origin": SANDBOX})
    assert allowed.headers["Access-Control-Allow-Origin"] == SANDBOX
    assert "Origin" in allowed.headers["Vary"]
    other = http.get(f"{url}/cds-services", headers={"Origin": "https://evil.example"})
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers


def test_private_network_preflight(live, http):
    response = http.options(
        f"{live()}/cds-services",
        headers={
            "Origin": SANDBOX,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert response.headers["Access-Control-Allow-Private-Network"] == "true"

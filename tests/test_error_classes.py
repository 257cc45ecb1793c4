"""Issue 11 item 6: inputs that used to be 500s get a clear 400/401, or the bad resource is dropped.

Each test covers a class, not one input: every JSON type where an object is expected, nesting
deep enough to break any recursive reader (in the context, the prefetch, and data fetched from
the FHIR server), URLs that do not parse, header-unsafe tokens, and NumericDate claims.
"""

from __future__ import annotations

import json

import pytest

from tests.support.builders import SERVICE_IDS, draft_service_request, empty_prefetch, patient, request
from tests.support.jwt_clients import Signer, bearer, jwks, write_clients

VIEW = SERVICE_IDS["patient-view"]
SELECT = SERVICE_IDS["order-select"]


def _post(http, url, body) -> object:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return http.post(url, data=data, headers={"Content-Type": "application/json"})


def _nested_concept(levels: int, code: str = "18115005") -> str:
    """A CodeableConcept whose extension holds a CodeableConcept, `levels` times (3 JSON levels each)."""
    text = '{"text": "calcified mass"}'
    # JSON text: %-formatting keeps its braces single (UP031 would double every one of them)
    for _ in range(levels):
        text = (
            '{"coding": [{"system": "http://snomed.info/sct", "code": "%s"}], "extension": '  # noqa: UP031
            '[{"url": "http://example.org/x", "valueCodeableConcept": %s}]}' % (code, text)
        )
    return text


@pytest.mark.parametrize("stray", ["a string", 5, 2.5, [1, "x"], True, False, {"resourceType": 7}])
def test_patient_view_ignores_a_draft_orders_member_it_does_not_define(live, http, stray):
    """CDS Hooks §Extensions / G-7: context members a hook does not define are ignored, whatever their type."""
    body = request("patient-view", prefetch=empty_prefetch())
    body["context"]["draftOrders"] = stray
    body["context"]["selections"] = stray
    response = _post(http, f"{live()}/cds-services/{VIEW}", body)
    assert response.status_code == 200, response.text
    assert response.json()["cards"] == []


@pytest.mark.parametrize("levels", [25, 330])
def test_a_context_nested_too_deep_is_400(live, http, levels):
    """25 concepts = 75 levels: past the 64-level cap; 330 = 990 levels, just inside what JSON parsing takes."""
    body = json.dumps(request("order-select", prefetch=empty_prefetch(), drafts=[draft_service_request()]))
    body = body.replace('"code": {"coding": [{}]}', '"code": ' + _nested_concept(levels))
    response = _post(http, f"{live()}/cds-services/{SELECT}", body)
    assert response.status_code == 400, response.text
    assert response.json()["message"] == "context: nested deeper than 64 levels"


def test_a_draft_nested_just_within_the_cap_gets_its_card(live, http):
    """An MRI draft whose reasonCode nests 63 levels from the context, the deepest allowed: the card
    that carries the draft back (update action, response validation on) must not trip over it."""
    from bench import data

    draft = data.mri_draft()
    draft["reasonCode"] = ["PLACEHOLDER"]
    body = json.dumps(data.order_select(draft, data.prefetch(20)))
    body = body.replace('["PLACEHOLDER"]', "[" + _nested_concept(19) + "]")
    response = _post(http, f"{live()}/cds-services/{SELECT}", body)
    assert response.status_code == 200, response.text
    assert [c["summary"] for c in response.json()["cards"]][0].startswith("Calcified left flank mass")


@pytest.mark.parametrize(
    "member, value",
    [
        ("code", _nested_concept(80, "309088003")),  # 240 levels: fhir.resources recursed until it broke
        ("code", _nested_concept(330, "309088003")),  # 990 levels
        ("bodySite", "[" * 1010 + "]" * 1010),  # arrays in arrays: so did the Coding walk
        ("code", "[" * 1010 + "]" * 1010),
    ],
)
@pytest.mark.parametrize("source", ["request", "fhir server"])
def test_a_prefetched_resource_nested_too_deep_is_dropped(live, http, fhir, log_lines, member, value, source):
    """Deep nesting in a patient's data (sent or fetched): 200, and that resource (a renal mass) is not used."""
    mass = {"code": '{"coding": [{"system": "http://snomed.info/sct", "code": "309088003"}]}', "bodySite": "[]"}
    mass[member] = value  # a renal mass, so the engine reads both members
    # JSON text: %-formatting keeps its braces single (UP031 would double every one of them)
    deep = (
        '{"resourceType": "Condition", "id": "deep", "subject": {"reference": "Patient/p1"}, "code": %s, '  # noqa: UP031
        '"bodySite": %s}' % (mass["code"], mass["bodySite"])
    )
    conditions = '{"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": %s}]}' % deep  # noqa: UP031
    prefetch = empty_prefetch()
    prefetch["conditions"] = "CONDITIONS"
    extra = {}
    if source == "fhir server":
        del prefetch["conditions"]
        fhir.routes["Condition?patient=p1"] = conditions.encode()
        extra = {"fhirServer": fhir.url, "fhirAuthorization": {"access_token": fhir.token, "token_type": "Bearer"}}
    body = json.dumps(request("patient-view", prefetch=prefetch, **extra)).replace('"CONDITIONS"', conditions)
    response = _post(http, f"{live()}/cds-services/{VIEW}", body)
    assert response.status_code == 200, response.text
    entry = log_lines.requests()[-1]
    assert entry["evidence"]["mass"] is False
    assert 1 in (entry.get("invalidR4"), entry.get("malformedDropped"))  # skipped as invalid, or dropped on retry


@pytest.mark.parametrize(
    "server",
    [
        "http://[::1/fhir",
        "http://[::1]:99999/fhir",
        "http://host:port/fhir",
        "http:///fhir",
        "https://user:secret@ehr.example/fhir",
        "http://ehr.example/fhir?x=1",
    ],
)
def test_a_fhir_server_url_that_does_not_parse_is_400(live, http, server):
    for extra in ({}, {"fhirAuthorization": {"access_token": "t", "token_type": "Bearer"}}):
        body = request("patient-view", fhirServer=server, **extra)  # no prefetch: the service would fetch
        response = _post(http, f"{live()}/cds-services/{VIEW}", body)
        assert response.status_code == 400, response.text
        assert response.json()["message"].startswith("fhirServer: ")


@pytest.mark.parametrize("token", ["tök€n", "caf\u00e9", "line\r\nbreak", "tab\there", "\u0000"])
def test_an_access_token_that_cannot_go_in_a_header_is_400(live, http, fhir, token):
    body = request(
        "patient-view", fhirServer=fhir.url, fhirAuthorization={"access_token": token, "token_type": "Bearer"}
    )
    response = _post(http, f"{live()}/cds-services/{VIEW}", body)
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith("fhirAuthorization.access_token: ")
    assert fhir.calls == []


def test_a_printable_access_token_is_sent(live, http, fhir):
    fhir.token = "ab.C-9_~+/= z"  # every VSCHAR class, a space included
    fhir.routes["Patient/p1"] = patient()
    body = request(
        "patient-view", fhirServer=fhir.url, fhirAuthorization={"access_token": fhir.token, "token_type": "Bearer"}
    )
    assert _post(http, f"{live()}/cds-services/{VIEW}", body).status_code == 200


@pytest.fixture
def signed(live, tmp_path):
    """A live app that requires JWTs from one client (inline JWKS); returns (discovery URL, signer)."""
    signer = Signer("ES384")
    path = write_clients(tmp_path, [{"iss": "https://ehr.example.org", "jwks": jwks(signer)}])
    url = live({"CDS_AUTH_MODE": "required", "CDS_TRUSTED_CLIENTS": path})
    return url + "/cds-services", signer


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": "1800000000"},
        {"exp": "soon"},
        {"exp": True},
        {"exp": None},
        {"exp": [1800000000]},
        {"iat": "1700000000"},
        {"iat": False},
        {"nbf": "0"},
        {"nbf": {"t": 1}},
    ],
)
def test_a_signed_token_whose_dates_are_not_numbers_is_401(signed, http, claims):
    url, signer = signed
    response = http.get(url, headers=bearer(signer.token("https://ehr.example.org", url, claims=claims)))
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "unauthorized"


def test_a_signed_token_whose_expiry_is_infinite_is_401(signed, http):
    """JSON has no Infinity, but Python's parser (used by PyJWT) reads one: int(inf) used to raise."""
    import base64

    import jwt

    url, signer = signed
    token = signer.token("https://ehr.example.org", url)
    header, payload, _ = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    raw = json.dumps(claims).replace(str(claims["exp"]), "Infinity").encode()
    forged = jwt.api_jws.encode(raw, signer.private_key, algorithm="ES384", headers={"kid": signer.kid, "typ": "JWT"})
    assert http.get(url, headers=bearer(forged)).status_code == 401
    assert http.get(url, headers=bearer(signer.token("https://ehr.example.org", url))).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        {"alg": ["ES384"]},
        {"alg": {"a": 1}},
        {"alg": 384},
        {"alg": None},
        {"alg": "ES384", "typ": ["JWT"]},
        {"alg": "ES384", "kid": {"k": 1}},
        {"alg": "ES384", "jku": ["https://x.example/jwks"]},
    ],
)
def test_a_token_header_member_of_the_wrong_type_is_401(signed, http, header):
    """The header is read before any signature check: every member's type is checked, not trusted."""
    import base64

    def b64(doc) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()

    url, signer = signed
    header = {"kid": signer.kid, "typ": "JWT", **header}
    claims = {"iss": "https://ehr.example.org", "aud": url, "iat": 1, "exp": 2, "jti": "j"}
    token = f"{b64(header)}.{b64(claims)}.{base64.urlsafe_b64encode(b'x' * 96).rstrip(b'=').decode()}"
    response = http.get(url, headers=bearer(token))
    assert response.status_code == 401, response.text

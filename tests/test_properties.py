"""Property-based tests (hypothesis, derandomized) of the request and feedback paths over HTTP.

Properties: no input gets a 5xx; every refusal is the JSON error shape with a 4xx docs/api.md lists;
feedback that is accepted is stored once (a repeat stores nothing), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.storage import database_for
from tests.support.builders import SERVICE_IDS, empty_prefetch, request
from tests.support.databases import postgres_url

SELECT = SERVICE_IDS["order-select"]
VIEW = SERVICE_IDS["patient-view"]
BOUNDED = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# any code point JSON can carry, with the troublesome ones (NUL, non-Latin-1, astral) drawn often
text = st.sampled_from(["", "\u0000", "a\u0000b", "caf\u00e9", "\u20ac", "\U0001f600", "Patient/p1"]) | st.text(
    st.characters(codec="utf-8"), max_size=40
)
scalars = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False, allow_infinity=False) | text
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4), max_leaves=12
)


def _assert_answer(response, allowed) -> dict:
    assert response.status_code in allowed, (response.status_code, response.text[:400])
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    if response.status_code >= 400:
        assert set(body) >= {"error", "message", "requestId", "outcome"}
        assert body["outcome"]["resourceType"] == "OperationOutcome"
    return body


# -- the request path -----------------------------------------------------------------------

PATHS = [
    ("context", "userId"),
    ("context", "patientId"),
    ("context", "encounterId"),
    ("context", "selections"),
    ("context", "selections", 0),
    ("context", "draftOrders"),
    ("context", "draftOrders", "entry"),
    ("context", "draftOrders", "entry", 0, "resource"),
    ("context", "draftOrders", "entry", 0, "resource", "code"),
    ("prefetch",),
    ("prefetch", "patient"),
    ("prefetch", "conditions"),
    ("hook",),
    ("hookInstance",),
    ("fhirServer",),
    ("fhirAuthorization",),
    ("extension",),
    ("context",),
]


def _put(body: dict, path: tuple, value) -> None:
    target = body
    for key in path[:-1]:
        if isinstance(target, dict):
            target = target.setdefault(key, {})
        elif isinstance(target, list) and isinstance(key, int) and key < len(target):
            target = target[key]
        else:
            return
    if isinstance(target, dict):
        target[path[-1]] = value
    elif isinstance(target, list) and isinstance(path[-1], int) and path[-1] < len(target):
        target[path[-1]] = value


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """One live app for every example (module scope: hypothesis reruns the test body, not fixtures)."""
    from cds_service import create_app
    from cds_service.config import Settings
    from tests.support.servers import LiveServer

    tmp = tmp_path_factory.mktemp("props")
    app = create_app(
        Settings.from_env(
            {
                "CDS_AUTH_MODE": "off",
                "CDS_DATABASE_URL": f"sqlite:///{tmp}/props.sqlite3",
                "CDS_FHIR_TIMEOUT_S": "0.3",
                "CDS_FHIR_DEADLINE_S": "0.5",
                "CDS_VALIDATE_RESPONSES": "true",
            }
        )
    )
    with LiveServer(app) as server:
        yield server.url


@pytest.mark.parametrize("hook", ["order-select", "order-sign", "patient-view"])
@settings(BOUNDED, max_examples=100)
@given(edits=st.lists(st.tuples(st.sampled_from(PATHS), json_values), min_size=1, max_size=3))
def test_any_member_replaced_by_any_json_gets_200_or_a_listed_4xx(service, http, hook, edits):
    body = request(hook, prefetch=empty_prefetch())
    for path, value in edits:
        _put(body, path, copy.deepcopy(value))
    response = http.post(
        f"{service}/cds-services/{SERVICE_IDS[hook]}",
        data=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )
    answer = _assert_answer(response, {200, 400, 412})
    if response.status_code == 200:
        assert isinstance(answer["cards"], list)


@BOUNDED
@given(server=st.one_of(text, st.from_regex(r"\Ahttps?://[^\s]{0,30}\Z")), token=text)
def test_any_fhir_server_and_token_get_200_or_a_listed_4xx(service, http, server, token):
    body = request("patient-view", fhirServer=server, fhirAuthorization={"access_token": token, "token_type": "Bearer"})
    response = http.post(
        f"{service}/cds-services/{VIEW}", data=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    _assert_answer(response, {200, 400, 412})


@BOUNDED
@given(raw=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_bytes_get_a_json_4xx(service, http, raw):
    response = http.post(f"{service}/cds-services/{SELECT}", data=raw, headers={"Content-Type": "application/json"})
    _assert_answer(response, {400})


# -- the feedback path ----------------------------------------------------------------------

timestamps = st.datetimes(timezones=st.timezones()).map(lambda t: t.isoformat(timespec="seconds")) | st.from_regex(
    r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})\Z"
)
reasons = st.fixed_dictionaries({"code": text, "system": text}, optional={"display": text})
items = st.fixed_dictionaries(
    {"card": text, "outcome": st.sampled_from(["overridden", "accepted", "other"]), "outcomeTimestamp": timestamps},
    optional={
        "acceptedSuggestions": st.lists(st.fixed_dictionaries({"id": text}), min_size=1, max_size=3),
        "overrideReason": st.fixed_dictionaries({}, optional={"reason": reasons, "userComment": text}),
        "extension": json_values,
    },
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def feedback_service(request, tmp_path_factory):
    """(URL, Database) of one live app per database for every example."""
    from contextlib import ExitStack

    from cds_service import create_app
    from cds_service.config import Settings
    from tests.support.servers import LiveServer

    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('fb')}/fb.sqlite3"
        else:
            url = stack.enter_context(postgres_url())
        app = create_app(Settings.from_env({"CDS_AUTH_MODE": "off", "CDS_DATABASE_URL": url}))
        server = stack.enter_context(LiveServer(app))
        db = database_for(url)
        stack.callback(db.close)
        yield server.url, db


@pytest.mark.parametrize("shape", ["items", "any json"])
@settings(BOUNDED, max_examples=120)
@given(data=st.data())
def test_feedback_is_stored_once_or_refused_with_400(feedback_service, http, shape, data):
    batch = data.draw(st.lists(items if shape == "items" else json_values, min_size=1, max_size=3))
    base, db = feedback_service
    url = f"{base}/cds-services/{SELECT}/feedback"
    payload = json.dumps({"feedback": batch})
    before = db.query("SELECT COUNT(*) FROM cds_feedback")[0][0]
    answer = _assert_answer(http.post(url, data=payload, headers={"Content-Type": "application/json"}), {200, 400})
    after = db.query("SELECT COUNT(*) FROM cds_feedback")[0][0]
    if "received" not in answer:
        assert after == before  # all or nothing
        return
    assert answer["received"] == len(batch) and after - before == answer["stored"]
    again = _assert_answer(http.post(url, data=payload, headers={"Content-Type": "application/json"}), {200})
    assert again == {"received": len(batch), "stored": 0}

"""Feedback endpoint (Appendix A A-F1..A-F3): validated, idempotent, all-or-nothing."""

import json

import pytest

from cds_service.storage import database_for
from tests.support.builders import SERVICE_IDS
from tests.support.ledger import issue_card

SELECT = SERVICE_IDS["order-select"]
CARD = "4e0a3a1e-3283-4575-ab82-028d55fe2719"


def accepted(card=CARD, suggestion="e56e1945-20b3-4393-8503-a1a20fd73152", at="2026-11-20T10:05:31Z"):
    return {"card": card, "outcome": "accepted", "acceptedSuggestions": [{"id": suggestion}], "outcomeTimestamp": at}


def overridden(card=CARD, code="patient-declined", display=None, comment=None, at="2026-11-20T10:06:00.52Z"):
    reason = {"reason": {"code": code, "system": "http://cds.example.org/fhir/CodeSystem/flank-mass-override-reason"}}
    if display:
        reason["reason"]["display"] = display
    if comment:
        reason["userComment"] = comment
    return {"card": card, "outcome": "overridden", "overrideReason": reason, "outcomeTimestamp": at}


@pytest.fixture
def service(live, tmp_path):
    db_url = f"sqlite:///{tmp_path}/feedback.sqlite3"
    url = live({"CDS_DATABASE_URL": db_url})
    db = database_for(db_url)
    issue_card(db, SELECT, CARD, ["e56e1945-20b3-4393-8503-a1a20fd73152"])  # feedback is about an issued card
    return url, db


def _count(db):
    return db.query("SELECT COUNT(*) FROM cds_feedback")[0][0]


def _post(http, url, body, service_id=SELECT):
    return http.post(
        f"{url}/cds-services/{service_id}/feedback", data=json.dumps(body), headers={"Content-Type": "application/json"}
    )


def test_accepted_and_overridden_items_are_stored(service, http):
    url, db = service
    response = _post(http, url, {"feedback": [accepted(), overridden(display="Patient declined", comment="x")]})
    assert response.status_code == 200 and response.json() == {"received": 2, "stored": 2}
    rows = db.query(
        "SELECT outcome, override_code, override_display, has_comment, accepted_suggestions"
        " FROM cds_feedback ORDER BY outcome"
    )
    assert rows == [
        ("accepted", None, None, 0, '["e56e1945-20b3-4393-8503-a1a20fd73152"]'),
        ("overridden", "patient-declined", "Patient declined", 1, None),
    ]


def test_duplicates_are_idempotent(service, http):
    url, db = service
    body = {"feedback": [overridden()]}
    assert _post(http, url, body).json()["stored"] == 1
    assert _post(http, url, body).json() == {"received": 1, "stored": 0}
    assert _post(http, url, {"feedback": [overridden(), overridden()]}).status_code == 200
    assert _count(db) == 1


def test_sandbox_style_items_are_accepted(service, http):
    url, db = service
    plain = {"card": CARD, "outcome": "overridden", "outcomeTimestamp": "2026-11-20T10:06:00Z"}
    no_display = overridden(code="other")
    assert _post(http, url, {"feedback": [plain, no_display]}).status_code == 200
    assert _count(db) == 2


@pytest.mark.parametrize(
    "bad",
    [
        {"card": CARD, "outcome": "dismissed", "outcomeTimestamp": "2026-11-20T10:06:00Z"},
        {"card": CARD, "outcome": "accepted", "outcomeTimestamp": "2026-11-20T10:06:00Z"},
        {"card": CARD, "outcome": "overridden", "overrideReason": {}, "outcomeTimestamp": "2026-11-20T10:06:00Z"},
        {
            "card": CARD,
            "outcome": "overridden",
            "overrideReason": {"reason": {"code": "x"}},
            "outcomeTimestamp": "2026-11-20T10:06:00Z",
        },
        {"outcome": "overridden", "outcomeTimestamp": "2026-11-20T10:06:00Z"},
        {"card": CARD, "outcome": "overridden"},
        {"card": CARD, "outcome": "overridden", "outcomeTimestamp": "yesterday"},
        {"card": CARD, "outcome": "overridden", "outcomeTimestamp": "2026-13-45T10:06:00Z"},
    ],
)
def test_an_invalid_item_stores_nothing_of_the_request(service, http, bad):
    url, db = service
    response = _post(http, url, {"feedback": [accepted(), bad]})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad_request"
    assert _count(db) == 0


@pytest.mark.parametrize("body", [{}, {"feedback": []}, {"feedback": {}}, [], "x"])
def test_malformed_feedback_bodies_are_400(service, http, body):
    url, db = service
    assert _post(http, url, body).status_code == 400


def test_feedback_for_unknown_service_is_404(service, http):
    url, _ = service
    assert _post(http, url, {"feedback": [accepted()]}, service_id="nope").status_code == 404


def test_free_text_comment_is_never_stored(service, http):
    url, db = service
    _post(http, url, {"feedback": [overridden(comment="Mrs Example refused, see note")]})
    dump = json.dumps(db.query("SELECT * FROM cds_feedback"))
    assert "Mrs Example" not in dump

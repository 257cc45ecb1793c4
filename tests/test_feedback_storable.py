"""Issue 11 item 9: feedback that PostgreSQL text cannot hold (U+0000) is a 400 on both databases,
never a 503 "retry" that can never succeed; what is stored round-trips exactly."""

from __future__ import annotations

import copy
import json

import pytest

from cds_service.storage import database_for
from tests.support.builders import SERVICE_IDS
from tests.support.databases import postgres_url
from tests.support.ledger import issue_card

SELECT = SERVICE_IDS["order-select"]
SYSTEM = "http://cds.example.org/fhir/CodeSystem/flank-mass-override-reason"
ITEMS = [
    {
        "card": "card-1",
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": "s-1"}],
        "outcomeTimestamp": "2026-11-20T10:05:31Z",
    },
    {
        "card": "card-2",
        "outcome": "overridden",
        "outcomeTimestamp": "2026-11-20T10:06:00Z",
        "overrideReason": {"reason": {"code": "ct-done-elsewhere", "system": SYSTEM, "display": "CT done elsewhere"}},
    },
]
STORED = [  # (item index, path to a stored string)
    (0, ("card",)),
    (0, ("acceptedSuggestions", 0, "id")),
    (1, ("overrideReason", "reason", "code")),
    (1, ("overrideReason", "reason", "system")),
    (1, ("overrideReason", "reason", "display")),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def service(request, live, tmp_path):
    """(base URL, Database) of a live app on the real SQLite or the real PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/feedback.sqlite3"
        yield live({"CDS_DATABASE_URL": url}), _issued(database_for(url))
        return
    with postgres_url() as url:
        db = database_for(url)
        yield live({"CDS_DATABASE_URL": url}), _issued(db)
        db.close()


def _issued(db):
    """The cards ITEMS name, as issued to the (local) caller: feedback is believed only about those."""
    issue_card(db, SELECT, "card-1", ["s-1"])
    issue_card(db, SELECT, "card-2")
    return db


def _post(http, base, items):
    return http.post(
        f"{base}/cds-services/{SELECT}/feedback",
        data=json.dumps({"feedback": items}),
        headers={"Content-Type": "application/json"},
    )


def _set(item, path, value):
    target = item
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


@pytest.mark.parametrize("index, path", STORED, ids=[".".join(map(str, p)) for _, p in STORED])
@pytest.mark.parametrize("where", ["alone", "inside"])
def test_a_nul_in_any_stored_string_is_400_and_nothing_is_stored(service, http, index, path, where):
    base, db = service
    items = copy.deepcopy(ITEMS)
    _set(items[index], path, "\u0000" if where == "alone" else "ct\u0000done")
    response = _post(http, base, items)
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith("feedback." + str(index) + ".")
    assert db.query("SELECT COUNT(*) FROM cds_feedback")[0][0] == 0
    assert _post(http, base, ITEMS).json() == {"received": 2, "stored": 2}  # the store still works


def test_unusual_but_storable_text_round_trips(service, http):
    base, db = service
    items = copy.deepcopy(ITEMS)
    items[1]["overrideReason"]["reason"]["display"] = "CT fait ailleurs \u2014 \U0001f600 \u0001 \u00ff"
    items[1]["overrideReason"]["userComment"] = "free text is not stored, so even \u0000 is harmless"
    assert _post(http, base, items).json() == {"received": 2, "stored": 2}
    rows = db.query("SELECT override_display, has_comment FROM cds_feedback WHERE card_uuid = ?", ("card-2",))
    assert rows == [("CT fait ailleurs \u2014 \U0001f600 \u0001 \u00ff", 1)]

"""Issue 21 points 1-4: each client's answers stay its own. Four clients with their own keys in two
tenants call one service (auth required, real PostgreSQL): an override silences only its own
client's alerts, feedback is believed only from the client the card was issued to, only with a
reason the card offered, and only about cards that were issued; refused items are named and never
stored."""

from __future__ import annotations

import pytest

from tests.support.clients import auth_env, four_clients
from tests.support.databases import postgres_url
from tests.support.safety import SELECT, positive

HOOK = f"/cds-services/{SELECT}"
FEEDBACK = HOOK + "/feedback"


@pytest.fixture
def stack(live, tmp_path):
    clients = four_clients()
    with postgres_url() as url:
        base = live(auth_env(tmp_path, clients, url))
        yield base, clients, url


def _card(client, base, claims=None) -> dict:
    response = client.post(base, HOOK, positive(), claims)
    assert response.status_code == 200, response.text
    [card] = response.json()["cards"]
    return card


def _override(card: dict, reason: dict | None = None) -> dict:
    offered = card["overrideReasons"][0]
    reason = reason or {"system": offered["system"], "code": offered["code"]}
    return {
        "card": card["uuid"],
        "outcome": "overridden",
        "overrideReason": {"reason": reason},
        "outcomeTimestamp": "2026-11-20T10:06:00Z",
    }


def _stored(url) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SELECT COUNT(*) FROM cds_feedback").fetchone()[0]


def test_an_override_silences_only_its_own_clients_alerts(stack):
    base, clients, _ = stack
    card = _card(clients["b"], base)
    answer = clients["b"].post(base, FEEDBACK, {"feedback": [_override(card)]})
    assert answer.status_code == 200 and answer.json() == {"received": 1, "stored": 1}, answer.text
    assert clients["b"].post(base, HOOK, positive()).json()["cards"] == [], "b answered it: quiet for b"
    # the same patient id at another tenant's EHR, and at another client of b's... and a's tenant
    for name in ("a", "c", "d"):
        assert len(clients[name].post(base, HOOK, positive()).json()["cards"]) == 1, name


def test_one_issuer_serving_two_tenants_keeps_them_apart(stack):
    """d is registered without a tenant: its tokens' tenant claim tells its organisations apart."""
    base, clients, _ = stack
    d = clients["d"]
    card = _card(d, base, {"tenant": "clinic-north"})
    assert d.post(base, FEEDBACK, {"feedback": [_override(card)]}, {"tenant": "clinic-north"}).json()["stored"] == 1
    assert d.post(base, HOOK, positive(), {"tenant": "clinic-north"}).json()["cards"] == []
    assert len(d.post(base, HOOK, positive(), {"tenant": "clinic-south"}).json()["cards"]) == 1
    # the other organisation cannot answer the north clinic's card either
    refused = d.post(base, FEEDBACK, {"feedback": [_override(card)]}, {"tenant": "clinic-south"}).json()
    assert refused["stored"] == 0 and refused["refused"][0]["reason"] == "unknown-card"


def test_feedback_from_another_client_is_refused_and_never_stored(stack):
    base, clients, url = stack
    card = _card(clients["b"], base)
    for name in ("a", "c"):  # another tenant, and b's... a client of the same tenant as a
        answer = clients[name].post(base, FEEDBACK, {"feedback": [_override(card)]})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "received": 1,
            "stored": 0,
            "refused": [
                {
                    "item": 0,
                    "card": card["uuid"],
                    "reason": "unknown-card",
                    "message": "no card with this uuid was issued by this service to this client",
                }
            ],
        }
    assert _stored(url) == 0
    assert len(clients["b"].post(base, HOOK, positive()).json()["cards"]) == 1, "nothing was suppressed for b"


def test_an_override_reason_the_card_never_offered_is_refused(stack):
    base, clients, url = stack
    a = clients["a"]
    card = _card(a, base)
    offered = card["overrideReasons"][0]
    invented = [
        {"system": offered["system"], "code": "made-up"},
        {"system": "http://example.org/other", "code": offered["code"]},
    ]
    answer = a.post(base, FEEDBACK, {"feedback": [_override(card, reason) for reason in invented]}).json()
    assert answer["stored"] == 0 and [r["reason"] for r in answer["refused"]] == ["reason-not-offered"] * 2
    accepted_other = {
        "card": card["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": "not-on-the-card"}],
        "outcomeTimestamp": "2026-11-20T10:06:00Z",
    }
    assert a.post(base, FEEDBACK, {"feedback": [accepted_other]}).json()["refused"][0]["reason"] == (
        "suggestion-not-offered"
    )
    assert _stored(url) == 0
    assert len(a.post(base, HOOK, positive()).json()["cards"]) == 1, "an invented reason suppresses nothing"
    # a free-text comment is always allowed, beside or instead of an offered reason
    comment = {
        "card": card["uuid"],
        "outcome": "overridden",
        "overrideReason": {"userComment": "seen by MDT"},
        "outcomeTimestamp": "2026-11-20T10:07:00Z",
    }
    assert a.post(base, FEEDBACK, {"feedback": [comment]}).json() == {"received": 1, "stored": 1}


def test_feedback_for_cards_never_issued_is_refused_item_by_item(stack):
    base, clients, url = stack
    a = clients["a"]
    card = _card(a, base)
    good = {
        "card": card["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
        "outcomeTimestamp": "2026-11-20T10:06:00Z",
    }
    invented = [{**good, "card": f"00000000-0000-4000-8000-{i:012d}"} for i in range(99)]
    answer = a.post(base, FEEDBACK, {"feedback": [*invented[:50], good, *invented[50:]]}).json()
    assert answer["received"] == 100 and answer["stored"] == 1
    assert [r["item"] for r in answer["refused"]] == [*range(50), *range(51, 100)]
    assert {r["reason"] for r in answer["refused"]} == {"unknown-card"}
    assert _stored(url) == 1

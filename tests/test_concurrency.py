"""Nothing is lost under concurrency: many parallel clients, two gunicorn workers, every item counted back."""

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from cds_service.storage import database_for
from tests.support.builders import SERVICE_IDS
from tests.support.databases import postgres_url
from tests.support.gunicorn import served
from tests.support.ledger import issue_card

CLIENTS, POSTS_PER_CLIENT, ITEMS_PER_POST = 16, 10, 3


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/concurrent.sqlite3"
    else:
        with postgres_url() as url:
            yield url


def _item(card: str) -> dict:
    return {
        "card": card,
        "outcome": "overridden",
        "outcomeTimestamp": "2026-11-20T10:00:00Z",
        "overrideReason": {
            "reason": {
                "system": "http://cds.example.org/fhir/CodeSystem/flank-mass-override-reason",
                "code": "ct-done-elsewhere",
            }
        },
    }


def test_parallel_feedback_across_two_workers_is_all_stored(database_url, tmp_path):
    env = {"CDS_AUTH_MODE": "off", "CDS_DATABASE_URL": database_url}
    sent: list[str] = []
    planned = [[str(uuid.uuid4()) for _ in range(ITEMS_PER_POST)] for _ in range(CLIENTS * POSTS_PER_CLIENT)]
    db = database_for(database_url)
    for card in (c for post in planned for c in post):  # feedback is believed only about issued cards
        issue_card(db, SERVICE_IDS["order-sign"], card)
    with served(env, tmp_path) as (url, _log):
        endpoint = f"{url}/cds-services/{SERVICE_IDS['order-sign']}/feedback"

        def client(index):
            statuses = []
            with requests.Session() as session:
                for n in range(POSTS_PER_CLIENT):
                    cards = planned[index * POSTS_PER_CLIENT + n]
                    sent.extend(cards)
                    body = {"feedback": [_item(c) for c in cards] + [_item(cards[0])]}  # plus one duplicate
                    response = session.post(
                        endpoint, data=json.dumps(body), headers={"Content-Type": "application/json"}, timeout=30
                    )
                    statuses.append(response.status_code)
            return statuses

        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = [s for batch in pool.map(client, range(CLIENTS)) for s in batch]
    assert statuses == [200] * (CLIENTS * POSTS_PER_CLIENT)
    stored = {row[0] for row in db.query("SELECT card_uuid FROM cds_feedback")}
    assert len(sent) == CLIENTS * POSTS_PER_CLIENT * ITEMS_PER_POST
    assert stored == set(sent)
    db.close()


def test_parallel_invocations_record_every_issued_card(database_url, tmp_path):
    from pathlib import Path

    case = Path(__file__).resolve().parent.parent / "fixtures" / "cases" / "adult-order-sign-mri-and-biopsy.json"
    body = case.read_bytes()
    env = {"CDS_AUTH_MODE": "off", "CDS_DATABASE_URL": database_url}
    issued: list[str] = []
    with served(env, tmp_path) as (url, _log):
        endpoint = f"{url}/cds-services/{SERVICE_IDS['order-sign']}"

        def client(_):
            with requests.Session() as session:
                for _ in range(POSTS_PER_CLIENT):
                    answer = session.post(endpoint, data=body, headers={"Content-Type": "application/json"}, timeout=30)
                    assert answer.status_code == 200
                    issued.extend(card["uuid"] for card in answer.json()["cards"])

        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(client, range(CLIENTS)))
    # the server has stopped: every write that was going to happen has happened
    db = database_for(database_url)
    stored = {row[0] for row in db.query("SELECT uuid FROM cds_card")}
    assert len(issued) == CLIENTS * POSTS_PER_CLIENT * 2
    assert stored == set(issued)
    assert db.query("SELECT COUNT(*) FROM cds_rating")[0][0] == CLIENTS * POSTS_PER_CLIENT * 2
    db.close()

"""`cds-service try`: the first hour's loop in one command, against a running service.

It sends one CDS Hooks request file (a sample chart by default) to the service for its hook,
answers the first card as a clinician would (accepts its suggestion, or overrides it with its first
reason), and prints the committee report, so nobody copies uuids by hand. The report is read from
CDS_DATABASE_URL, which is the server's own database when both run from the same folder with the
same settings; the server records cards in the background, so `try` waits (bounded) for its card.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

from .config import REPO_ROOT

SAMPLE = REPO_ROOT / "fixtures" / "cases" / "adult-left-coded-conclusion-mri.json"
DEFAULT_URL = "http://127.0.0.1:8080"
TIMEOUT_S = 10


class TryError(Exception):
    """Why the loop could not be completed; printed as one line (exit 1)."""


def add_parser(sub, func) -> None:
    trial = sub.add_parser(
        "try",
        help="call a running service with a sample chart, answer its card, show the report",
        description="Call a running service (make serve) with one request file, post feedback for the first "
        "card, then print the committee report.",
    )
    trial.add_argument("--url", default=DEFAULT_URL, help="the running service's base URL (default: %(default)s)")
    trial.add_argument(
        "--request",
        metavar="FILE",
        default=str(SAMPLE),
        help="a CDS Hooks request JSON file (default: fixtures/cases/adult-left-coded-conclusion-mri.json of this "
        "checkout, MRI ordered for a calcified flank mass)",
    )
    trial.add_argument(
        "--outcome",
        choices=("accepted", "overridden"),
        default="accepted",
        help="accept the card's suggestion, or override it with its first reason (default: %(default)s)",
    )
    trial.add_argument(
        "--wait",
        type=float,
        default=5.0,
        metavar="S",
        help="wait up to S seconds for the card in the database (default: %(default)s)",
    )
    trial.set_defaults(func=func)


def _post(url: str, body):
    import requests  # here, not at import: `serve` shares this module's importer and patches sockets first

    try:
        return requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=TIMEOUT_S)
    except requests.RequestException as exc:
        raise TryError(f"no answer from {url} ({type(exc).__name__}); is the service running (make serve)?") from None


def _service_for(base: str, hook) -> str:
    import requests

    try:
        answer = requests.get(f"{base}/cds-services", timeout=TIMEOUT_S)
    except requests.RequestException as exc:
        raise TryError(f"no answer from {base} ({type(exc).__name__}); is the service running (make serve)?") from None
    if answer.status_code == 401:
        raise TryError(
            f"{base} requires client JWTs (CDS_AUTH_MODE=required); `try` calls a service without them, "
            "as `make serve` runs it"
        )
    ids = [s["id"] for s in answer.json().get("services", ()) if s.get("hook") == hook]
    if not ids:
        raise TryError(f"{base} has no service for the hook {hook!r}")
    return ids[0]


def _feedback_item(card: dict, outcome: str) -> dict:
    item: dict = {
        "card": card["uuid"],
        "outcome": outcome,
        "outcomeTimestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if outcome == "accepted":
        item["acceptedSuggestions"] = [{"id": card["suggestions"][0]["uuid"]}]
    else:
        reason = card["overrideReasons"][0]
        item["overrideReason"] = {"reason": {k: reason[k] for k in ("system", "code", "display")}}
    return item


def _wait_for(database, card_uuid: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        if database.query("SELECT COUNT(*) FROM cds_card WHERE uuid = ?", (card_uuid,))[0][0]:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def run(args, open_database) -> int:
    from .audit import report, report_render

    base = args.url.rstrip("/")
    try:
        raw = Path(args.request).read_bytes()
        hook = orjson.loads(raw).get("hook")
    except (OSError, orjson.JSONDecodeError, AttributeError) as exc:
        print(f"cds-service try: cannot read a CDS Hooks request from {args.request}: {exc}", file=sys.stderr)
        return 2
    try:
        service = _service_for(base, hook)
        answer = _post(f"{base}/cds-services/{service}", raw)
        if answer.status_code != 200:
            raise TryError(f"{service} answered {answer.status_code}: {answer.text[:300]}")
        cards = answer.json()["cards"]
        print(f"{args.request} -> {service}: {len(cards)} card(s)")
        for card in cards:
            print(f"  [{card['indicator']}] {card['summary']}")
            for suggestion in card.get("suggestions", ()):
                print(f"      suggestion: {suggestion['label']}")
        if not cards:
            print("no card, so no feedback to give")
            return 0
        outcome = args.outcome if cards[0].get("suggestions") else "overridden"
        item = _feedback_item(cards[0], outcome)
        stored = _post(f"{base}/cds-services/{service}/feedback", orjson.dumps({"feedback": [item]}))
        if stored.status_code != 200:
            raise TryError(f"feedback answered {stored.status_code}: {stored.text[:300]}")
        print(f"feedback ({outcome}) -> {stored.text.strip()}")
    except TryError as exc:
        print(f"cds-service try: {exc}", file=sys.stderr)
        return 1
    settings, database = open_database()
    if not _wait_for(database, cards[0]["uuid"], args.wait):
        print(
            f"cds-service try: the card is not in {settings.database_url} after {args.wait:g} s; "
            "run `try` with the server's CDS_DATABASE_URL, from the folder it runs in",
            file=sys.stderr,
        )
        return 1
    print()
    sys.stdout.write(report_render.text(report.report_for(database, 1, settings.hooks_dir)))
    return 0

"""The real CDS Hooks Sandbox build, in headless Chromium, against the service with client
authentication required and the Sandbox's published key pinned: discovery, the patient-view card,
the MRI warning with its badge, the swap accepted on a draft without and with a reason, the CT's
badge, an override with a reason, and a negative patient left alone.

Skips (saying why) when ../shared/sandbox, Chromium or playwright is missing; CI has all three.
CDS_SANDBOX_SCREENSHOTS=DIR keeps screenshots of each step there.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from tests.support.sandbox import BUILD, CorsFhir, StaticSite, chromium, trusted_clients, why_not_runnable

ROOT = Path(__file__).resolve().parent.parent
DEMO = [e["resource"] for e in json.loads((ROOT / "fixtures" / "demo" / "patients.bundle.json").read_text())["entry"]]
SWAP = "Change this order to CT abdomen without then with IV contrast"
CT_BOTH = "Computed tomography, abdomen; without contrast material, followed by contrast material(s)"
WAIT_MS = 20_000

pytestmark = pytest.mark.skipif(why_not_runnable() is not None, reason=str(why_not_runnable()))


@pytest.fixture
def sandbox(live, tmp_path):
    """(page opener, service database path, FHIR server, the page's errors, the service's answers)."""
    from playwright.sync_api import sync_playwright

    with CorsFhir(DEMO) as fhir, StaticSite(BUILD) as site, sync_playwright() as driver:
        env = {
            "CDS_AUTH_MODE": "required",
            "CDS_TRUSTED_CLIENTS": str(trusted_clients(tmp_path, fhir.url)),
            "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/sandbox.sqlite3",
        }
        service = live(env)
        browser = driver.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        errors: list[str] = []
        answers: list[tuple[str, int]] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("response", lambda r: answers.append((r.url, r.status)) if r.url.startswith(service) else None)

        def open_patient(patient_id: str) -> None:
            page.goto(
                f"{site.base}/?serviceDiscoveryURL={service}/cds-services&fhirServiceUrl={fhir.url}&patientId={patient_id}"
            )

        try:
            yield page, open_patient, tmp_path / "sandbox.sqlite3", errors, answers
        finally:
            browser.close()


def _shot(page, name: str) -> None:
    keep = os.environ.get("CDS_SANDBOX_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(keep) / f"{name}.png"), full_page=True)


def _choose(page, placeholder: str, query: str) -> None:
    """Type into one of the PAMA screen's search boxes and take the first match."""
    page.get_by_text(placeholder, exact=True).click()
    page.keyboard.type(query)
    page.locator('[id*="-option-"]').first.wait_for(timeout=WAIT_MS)
    page.keyboard.press("Enter")


def _current(page, words: str) -> None:
    """Wait until the order on the PAMA screen lists this study or reason."""
    page.locator("li", has_text=words).first.wait_for(timeout=WAIT_MS)


def _badge(page, rating: str) -> None:
    page.get_by_text(f"PAMA Rating: {rating}").wait_for(timeout=WAIT_MS)


def _feedback(database: Path) -> list[tuple]:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT outcome, override_code FROM cds_feedback ORDER BY outcome_at").fetchall()


def test_the_sandbox_steps_in_headless_chromium(sandbox):
    page, open_patient, database, errors, answers = sandbox
    open_patient("demo-adult")
    card = page.get_by_role("paragraph").filter(has_text="next test is CT abdomen without then with contrast")
    card.wait_for(timeout=WAIT_MS)  # discovery and the patient-view call, signed and accepted
    assert page.get_by_role("button", name="Order CT abdomen").count() == 0  # nothing the Sandbox would drop
    _shot(page, "1-patient-view")

    page.get_by_role("button", name="PAMA Imaging").click()
    _choose(page, "Search orders", "74181")  # MRI abdomen, no reason given
    page.get_by_role("button", name=SWAP).wait_for(timeout=WAIT_MS)
    _badge(page, "not-appropriate")
    _shot(page, "2-mri-warning")
    page.get_by_role("button", name=SWAP).click()
    _current(page, CT_BOTH)  # the draft is now the CT
    _badge(page, "appropriate")
    page.get_by_role("button", name=SWAP).wait_for(state="detached", timeout=WAIT_MS)
    _shot(page, "3-swapped-without-reason")

    page.get_by_title("Remove").first.click()
    _choose(page, "Search reasons", "renal mass")
    _choose(page, "Search orders", "74183")  # MRI without then with contrast, with a reason
    page.get_by_role("button", name=SWAP).click()
    _current(page, CT_BOTH)
    _current(page, "Renal mass")
    _badge(page, "appropriate")

    page.get_by_title("Remove").first.click()
    _choose(page, "Search orders", "74160")  # CT with contrast only: the card to override
    page.get_by_role("button", name="select dismiss reason").click()
    page.get_by_role("menuitem").filter(has_text="radiologist").first.click()
    page.get_by_role("button", name="select dismiss reason").wait_for(state="detached", timeout=WAIT_MS)

    open_patient("demo-negative")
    page.get_by_text("No recommendations to display").wait_for(timeout=WAIT_MS)
    page.get_by_role("button", name="PAMA Imaging").click()
    _choose(page, "Search orders", "74181")
    _badge(page, "no-guidelines-apply")
    assert page.get_by_role("button", name=SWAP).count() == 0
    _shot(page, "4-negative")

    assert errors == []  # the old swap threw a TypeError here
    assert answers and all(status in (200, 204) for _, status in answers), answers
    outcomes = _feedback(database)
    assert [o for o, _ in outcomes].count("accepted") == 2 and ("overridden", "protocol-by-radiologist") in outcomes

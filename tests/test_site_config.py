"""The site file (CDS_SITE_CONFIG) end to end over HTTP: every switch, the per-call options
advertised in discovery and set by a request, and start-up errors that name file and key."""

from __future__ import annotations

import json

import pytest

from cds_service.content import ContentError
from cds_service.site.options import CONFIG_EXTENSION, OPTIONS_EXTENSION
from tests.support.safety import SELECT, SIGN, SIGN_CASE, days_ago, lab, positive, searchset


@pytest.fixture
def site_file(tmp_path):
    path = tmp_path / "site.json"

    def write(doc) -> dict:
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
        return {"CDS_SITE_CONFIG": str(path)}

    return write


def _post(http, url, body, service=SELECT):
    return http.post(f"{url}/cds-services/{service}", json=body)


@pytest.mark.parametrize(
    "doc,where",
    [
        ({"cardKinds": {"mri-befor-ct": {"show": False}}}, "cardKinds/mri-befor-ct: unknown card kind"),
        ({"cardKinds": {"mri-before-ct": {"indicator": "urgent"}}}, "cardKinds/mri-before-ct/indicator"),
        ({"services": {"no-such-service": {"mode": "shadow"}}}, "services/no-such-service: unknown service id"),
        ({"services": {SELECT: {"mode": "dark"}}}, f"services/{SELECT}/mode"),
        ({"maxCardsPerResponse": 0}, "maxCardsPerResponse"),
        ({"contrast": {"egfrBelow": -1}}, "contrast/egfrBelow"),
        (
            {"orderCodes": {"mri": [{"system": "http://www.ama-assn.org/go/cpt", "code": "74170"}]}},
            "orderCodes/mri/0: code 74170 already belongs to class ct-without-then-with",
        ),
        (
            {"orderCodes": {"pet": [{"system": "http://x.example/o", "code": "P1"}]}},
            "orderCodes/pet: unknown order class",
        ),
        ({"suppression": {"enabled": True}}, "suppression/enabled: needs CDS_SUPPRESSION_SECRET"),
        ({"perCallOptions": ["colour"]}, "perCallOptions/0"),
        ({"surprise": 1}, "(root): Additional properties"),
        ("{not json", "(root): not valid JSON"),
    ],
)
def test_bad_site_file_stops_start_up_naming_file_and_key(make_app, site_file, doc, where):
    env = site_file(doc)
    with pytest.raises(ContentError) as caught:
        make_app(env)
    assert str(caught.value).startswith(env["CDS_SITE_CONFIG"] + ": ")
    assert where in str(caught.value)


def test_missing_site_file_stops_start_up(make_app, tmp_path):
    with pytest.raises(ContentError, match="cannot read the site file"):
        make_app({"CDS_SITE_CONFIG": str(tmp_path / "absent.json")})


def test_short_suppression_secret_is_refused(make_app):
    from cds_service.config import ConfigError

    with pytest.raises(ConfigError, match="CDS_SUPPRESSION_SECRET must be at least 32"):
        make_app({"CDS_SUPPRESSION_SECRET": "short"})


def test_card_kind_switched_off_still_rates_the_order(live, http, site_file):
    url = live(site_file({"cardKinds": {"mri-before-ct": {"show": False}}}))
    body = _post(http, url, positive()).json()
    assert body["cards"] == []
    assert body["systemActions"][0]["resource"]["id"] == "sr-mri"


def test_indicator_raised_and_lowered(live, http, site_file):
    url = live(
        site_file(
            {"cardKinds": {"mri-before-ct": {"indicator": "critical"}, "biopsy-before-imaging": {"indicator": "info"}}}
        )
    )
    assert _post(http, url, positive()).json()["cards"][0]["indicator"] == "critical"
    cards = _post(http, url, positive(SIGN_CASE), SIGN).json()["cards"]
    assert sorted(c["indicator"] for c in cards) == ["critical", "info"]


def test_cards_capped_per_response_most_urgent_first(live, http, site_file):
    url = live(site_file({"maxCardsPerResponse": 1}))
    cards = _post(http, url, positive(SIGN_CASE), SIGN).json()["cards"]
    assert [c["indicator"] for c in cards] == ["critical"]


def test_pediatric_age_cut_off(live, http, site_file):
    body = positive()
    body["prefetch"]["patient"]["birthDate"] = days_ago(365.25 * 17 + 30)[:10]  # 17 years old
    default = _post(http, live(), body).json()["cards"][0]
    assert "child (under 18)" in default["detail"]
    adult_at_16 = _post(http, live(site_file({"pediatricAgeBelow": 16})), body).json()["cards"][0]
    assert "child" not in adult_at_16["detail"].split("\n\n")[0] and "This adult" in adult_at_16["detail"]


def test_contrast_threshold_from_the_site(live, http, site_file):
    body = positive(renalLabs=searchset(lab("e", "98979-8", 40, "mL/min/{1.73_m2}", days_ago(20))))
    assert "Contrast safety" not in _post(http, live(), body).json()["cards"][0]["detail"]
    url = live(site_file({"contrast": {"egfrBelow": 45, "labWindowDays": 30}}))
    assert "below 45" in _post(http, url, body).json()["cards"][0]["detail"]
    stale = positive(renalLabs=searchset(lab("e", "98979-8", 40, "mL/min/{1.73_m2}", days_ago(40))))
    assert "Contrast safety" not in _post(http, url, stale).json()["cards"][0]["detail"]


def test_local_orderable_code_joins_an_order_class(live, http, site_file):
    body = positive()
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    draft["code"] = {"coding": [{"system": "http://hospital.example.org/orderables", "code": "MR-ABD-77"}]}
    assert _post(http, live(), body).json()["cards"] == []
    local = {"orderCodes": {"mri": [{"system": "http://hospital.example.org/orderables", "code": "MR-ABD-77"}]}}
    cards = _post(http, live(site_file(local)), body).json()["cards"]
    assert [c["summary"][:40] for c in cards] == ["Calcified left flank mass on ultrasound:"]


def test_discovery_advertises_the_options_the_site_allows(live, http, site_file):
    entries = http.get(f"{live()}/cds-services").json()["services"]
    options = entries[0]["extension"][OPTIONS_EXTENSION]
    # suppress-repeats would do nothing while suppression is off: not offered
    assert {o["code"] for o in options} == {"max-cards", "info-cards"}
    assert all({"code", "type", "name", "description", "default"} <= set(o) for o in options)
    body = positive()
    body["extension"] = {CONFIG_EXTENSION: {"suppress-repeats": False}}
    refused = _post(http, live(), body)
    assert refused.status_code == 400 and "suppress-repeats" in refused.json()["message"]
    suppressing = live({**site_file({"suppression": {"enabled": True}}), "CDS_SUPPRESSION_SECRET": "s" * 32})
    options = http.get(f"{suppressing}/cds-services").json()["services"][0]["extension"][OPTIONS_EXTENSION]
    assert {o["code"] for o in options} == {"max-cards", "info-cards", "suppress-repeats"}
    url = live(site_file({"perCallOptions": ["max-cards"], "maxCardsPerResponse": 3}))
    only = http.get(f"{url}/cds-services").json()["services"][0]["extension"][OPTIONS_EXTENSION]
    assert only == [
        {
            "code": "max-cards",
            "type": "integer",
            "name": "Maximum cards",
            "default": 3,
            "description": only[0]["description"],
        }
    ]


def test_per_call_options_within_what_the_site_allows(live, http, site_file):
    url = live(site_file({"perCallOptions": ["max-cards"], "maxCardsPerResponse": 3}))
    body = positive(SIGN_CASE)
    body["extension"] = {CONFIG_EXTENSION: {"max-cards": 1}}
    assert len(_post(http, url, body, SIGN).json()["cards"]) == 1
    for config, named in (
        ({"info-cards": False}, "info-cards"),
        ({"colour": "red"}, "colour"),
        ({"max-cards": "two"}, "max-cards"),
        ({"max-cards": 4}, "max-cards"),
    ):
        body["extension"] = {CONFIG_EXTENSION: config}
        response = _post(http, url, body, SIGN)
        assert response.status_code == 400, config
        assert f"extension.{CONFIG_EXTENSION}.{named}" in response.json()["message"]


def test_info_cards_off_per_call(live, http):
    body = positive("adult-ct-with-contrast-only.json")
    url = live()
    assert [c["indicator"] for c in _post(http, url, body).json()["cards"]] == ["info"]
    body["extension"] = {CONFIG_EXTENSION: {"info-cards": False}}
    response = _post(http, url, body).json()
    assert response["cards"] == [] and response["systemActions"]


def test_a_site_file_allowing_an_option_that_does_nothing_is_refused(make_app, site_file):
    with pytest.raises(ContentError, match="perCallOptions: suppress-repeats does nothing unless suppression"):
        make_app(site_file({"perCallOptions": ["suppress-repeats"]}))


def test_serve_refuses_a_bad_site_file_before_forking(site_file):
    from tests.support.cli import run_cli

    env = {**site_file({"cardKinds": {"nope": {"show": False}}}), "CDS_AUTH_MODE": "off"}
    result = run_cli("serve", "--port", "1", env=env)
    assert result.returncode == 2
    assert f"{env['CDS_SITE_CONFIG']}: cardKinds/nope: unknown card kind" in result.stderr


def test_the_documented_example_site_file_is_valid(make_app, site_file):
    from cds_service.config import REPO_ROOT

    doc = (REPO_ROOT / "docs" / "configuration.md").read_text()
    section = doc.split("## Site configuration and shadow mode", 1)[1]
    example = json.loads(section.split("```json", 1)[1].split("```", 1)[0])
    app = make_app({**site_file(example), "CDS_SUPPRESSION_SECRET": "x" * 32})
    site = app.extensions["cds"].site.current()
    assert site.mode(SELECT) == "shadow" and site.max_cards == 2 and site.suppression_enabled

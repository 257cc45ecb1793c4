"""Accepting the CT swap leaves a rated CT order (issue 10 item 2), applied the way EHRs apply it.

An EHR applies `systemActions` when the answer arrives (the draft gets its rating) and a
suggestion's actions when the clinician accepts it (the whole draft is replaced). The suggested
CT must therefore carry its own rating, or the order ends unrated; and the CDS Hooks Sandbox
reads the first `.../Extension/pama-rating` extension of the suggested resource when it applies
a suggestion (it fails when there is none).
"""

from __future__ import annotations

import copy

from tests.test_ratings import GUIDANCE, SANDBOX, _case

CT_CPT = ("http://www.ama-assn.org/go/cpt", "74170")


def _key(resource: dict) -> str:
    return f"{resource['resourceType']}/{resource['id']}"


def _apply(orders: dict, actions: list) -> None:
    """What an EHR does with CDS Hooks actions on its draft orders."""
    for action in actions:
        if action["type"] in ("update", "create"):
            orders[_key(action["resource"])] = copy.deepcopy(action["resource"])
        elif action["type"] == "delete":
            orders.pop(action["resourceId"], None)


def _rating(resource: dict, url: str) -> str:
    """The Sandbox's way: the first extension with that url, its first coding's code."""
    first = next(e for e in resource.get("extension", ()) if e["url"] == url)
    return first["valueCodeableConcept"]["coding"][0]["code"]


def _codes(resource: dict) -> set:
    return {(c.get("system"), c.get("code")) for c in resource["code"]["coding"]}


def test_system_actions_then_the_accepted_swap_leave_the_ct_with_its_own_rating(live, http):
    service, body = _case("adult-left-coded-conclusion-mri")
    url = f"{live()}/cds-services/{service}"
    orders = {_key(e["resource"]): e["resource"] for e in body["context"]["draftOrders"]["entry"]}
    answer = http.post(url, json=body).json()

    _apply(orders, answer["systemActions"])  # when the response arrives
    _apply(orders, answer["extension"]["systemActions"])  # the Sandbox's legacy copy, same moment
    assert _rating(orders["ServiceRequest/sr-mri"], SANDBOX) == "not-appropriate"
    [card] = answer["cards"]
    [suggestion] = card["suggestions"]
    _apply(orders, suggestion["actions"])  # when the clinician accepts

    final = orders["ServiceRequest/sr-mri"]
    assert CT_CPT in _codes(final)
    assert _rating(final, SANDBOX) == "appropriate"
    assert _rating(final, GUIDANCE) == "appropriate"
    urls = [e["url"] for e in final["extension"]]
    assert len(urls) == len(set(urls)), "one rating per profile, none of the MRI's left behind"
    # nothing else in the response that a clinician could still apply touches that order
    others = [a for c in answer["cards"] for s in c.get("suggestions", ()) if s is not suggestion for a in s["actions"]]
    assert not [
        a
        for a in others
        if a.get("resourceId") == "ServiceRequest/sr-mri"
        or _key(a.get("resource") or {"resourceType": "", "id": ""}) == "ServiceRequest/sr-mri"
    ]


def test_the_sandbox_can_apply_the_suggestion_even_when_the_draft_came_back_rated(live, http):
    """The Sandbox re-sends the draft with our earlier (MRI) rating on it; the suggested CT must
    still start with its own rating, not inherit the MRI's."""
    service, body = _case("adult-left-coded-conclusion-mri")
    url = f"{live()}/cds-services/{service}"
    first = http.post(url, json=body).json()
    body["context"]["draftOrders"]["entry"][0]["resource"] = first["extension"]["systemActions"][0]["resource"]
    second = http.post(url, json=body).json()
    suggested = second["cards"][0]["suggestions"][0]["actions"][0]["resource"]
    assert _rating(suggested, SANDBOX) == "appropriate"
    consult = [e for e in suggested["extension"] if e["url"].endswith("pama-rating-consult-id")]
    assert len(consult) == 2 and consult[0]["valueUri"] == consult[1]["valueUri"]


def test_a_suggested_new_ct_order_is_rated_too(live, http):
    service, body = _case("adult-order-sign-mri-and-biopsy")
    answer = http.post(f"{live()}/cds-services/{service}", json=body).json()
    suggested = [
        a["resource"]
        for card in answer["cards"]
        for s in card.get("suggestions", ())
        for a in s["actions"]
        if a["type"] in ("create", "update")
    ]
    assert suggested
    for resource in suggested:
        assert CT_CPT in _codes(resource)
        assert _rating(resource, SANDBOX) == "appropriate" and _rating(resource, GUIDANCE) == "appropriate"

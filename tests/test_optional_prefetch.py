"""Contract #1 (optional prefetch keys), the minimal form the contrast-safety work builds on:
a missing optional key that cannot be fetched degrades the answer instead of giving 412."""
from __future__ import annotations

import json
import shutil

import pytest

from tests.support.cases import case_request

SELECT = "flank-mass-imaging-order-select"


def test_missing_optional_key_without_fhir_server_is_named_on_the_card(live, http):
    body = case_request("adult-left-coded-conclusion-mri.json")
    del body["prefetch"]["allergies"]
    response = http.post(f"{live()}/cds-services/{SELECT}", json=body)
    assert response.status_code == 200
    card = response.json()["cards"][0]
    assert "Could not be checked:** recorded allergies" in card["detail"]


def test_missing_essential_key_still_412(live, http):
    body = case_request("adult-left-coded-conclusion-mri.json")
    del body["prefetch"]["conditions"]
    response = http.post(f"{live()}/cds-services/{SELECT}", json=body)
    assert response.status_code == 412
    assert "conditions" in response.json()["message"] or "conditions" in json.dumps(response.json())


def test_optional_key_not_in_prefetch_stops_start_up(make_app, tmp_path):
    from cds_service.config import REPO_ROOT
    from cds_service.content import ContentError

    hooks = tmp_path / "hooks"
    shutil.copytree(REPO_ROOT / "hooks", hooks)
    path = hooks / "services" / "order-select.json"
    doc = json.loads(path.read_text())
    doc["optionalPrefetch"] = ["noSuchKey"]
    path.write_text(json.dumps(doc))
    with pytest.raises(ContentError, match="order-select.json: optionalPrefetch"):
        make_app({"CDS_HOOKS_DIR": str(hooks)})

"""Appendix A discovery items (A-D1..A-D4), against the app on a real loopback server."""

import json
import re
import shutil

from cds_service.fhir.templates import check_template

TOKEN_RE = re.compile(r"\{\{([^}]*)\}\}")


def _assert_no_empty(value, path="$"):
    assert value not in (None, "", [], {}), f"empty value at {path}"
    if isinstance(value, dict):
        for key, item in value.items():
            _assert_no_empty(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _assert_no_empty(item, f"{path}[{i}]")


def test_discovery_lists_three_services(live, http):
    response = http.get(f"{live()}/cds-services")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    services = response.json()["services"]
    assert sorted(s["hook"] for s in services) == ["order-select", "order-sign", "patient-view"]
    assert len({s["id"] for s in services}) == 3
    for service in services:
        for field in ("hook", "id", "title", "description"):
            assert isinstance(service[field], str) and service[field]
        _assert_no_empty(service)


def test_prefetch_templates_use_only_2_0_tokens_and_cover_the_patient_data(live, http):
    services = http.get(f"{live()}/cds-services").json()["services"]
    for service in services:
        prefetch = service["prefetch"]
        for template in prefetch.values():
            check_template(template, service["hook"])
            assert set(TOKEN_RE.findall(template)) <= {"context.patientId"}
        resource_types = {t.split("?")[0].split("/")[0] for t in prefetch.values()}
        assert {
            "Patient",
            "Condition",
            "ImagingStudy",
            "DiagnosticReport",
            "Observation",
            "ServiceRequest",
        } <= resource_types
        assert "status=active" in prefetch["serviceRequests"]
        assert "category=imaging" in prefetch["imagingObservations"]


def test_discovery_with_no_services_is_an_empty_list(live, http, tmp_path):
    from cds_service.config import REPO_ROOT

    hooks = tmp_path / "hooks"
    shutil.copytree(REPO_ROOT / "hooks", hooks)
    for path in (hooks / "services").glob("*.json"):
        path.unlink()
    response = http.get(f"{live({'CDS_HOOKS_DIR': str(hooks)})}/cds-services")
    assert response.status_code == 200
    assert response.json() == {"services": []}


def test_bad_service_file_stops_start_up(make_app, tmp_path):
    import pytest

    from cds_service.config import REPO_ROOT
    from cds_service.content import ContentError

    hooks = tmp_path / "hooks"
    shutil.copytree(REPO_ROOT / "hooks", hooks)
    path = hooks / "services" / "order-select.json"
    doc = json.loads(path.read_text())
    doc["discovery"]["prefetch"]["bad"] = "Medication/{{context.draftOrders}}"
    path.write_text(json.dumps(doc))
    with pytest.raises(ContentError, match="order-select.json"):
        make_app({"CDS_HOOKS_DIR": str(hooks)})

"""Operations: health, the per-request log line, response hygiene, container files."""

from pathlib import Path

import yaml

from cds_service.pipeline.respond import prune
from tests.support.builders import SERVICE_IDS, mri_draft, request

ROOT = Path(__file__).resolve().parent.parent


def test_healthz(live, http):
    response = http.get(f"{live()}/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_one_json_log_line_per_request_with_stage_timings_and_no_secrets(live, http, fhir, log_lines):
    url = live()
    body = request(
        "order-select",
        pid="patient-secret-id-42",
        drafts=[mri_draft(pid="patient-secret-id-42")],  # a draft the chart matters for: every key is fetched
        fhirServer=fhir.url,
        fhirAuthorization={"access_token": "access-token-xyz", "token_type": "Bearer"},
    )
    fhir.token = "access-token-xyz"
    http.post(
        f"{url}/cds-services/{SERVICE_IDS['order-select']}",
        json=body,
        headers={"Authorization": "Bearer eyJhbGciOiJFUzM4NCJ9.e30.c2lnbmF0dXJl"},
    )
    http.post(f"{url}/cds-services/{SERVICE_IDS['order-select']}", json={"hook": 5})
    lines = log_lines.requests()
    assert len(lines) == 2
    first = lines[0]
    assert first["service"] == SERVICE_IDS["order-select"] and first["status"] == 200
    assert set(first["stagesMs"]) == {
        "validate",
        "configure",
        "scope",
        "prefetch",
        "parse",
        "evidence",
        "safety",
        "decide",
        "adjust",
        "render",
        "suppress",
        "rate",
        "shadow",
        "respond",
    }
    assert first["requestId"] and first["ms"] >= 0 and len(first["fetched"]) == 11
    assert lines[1]["status"] == 400 and "error" in lines[1]
    for secret in ("patient-secret-id-42", "access-token-xyz", "eyJhbGciOiJFUzM4NCJ9"):
        assert secret not in log_lines.text


def test_prune_removes_every_empty_value():
    dirty = {
        "cards": [
            {
                "summary": "s",
                "detail": "",
                "links": [],
                "source": {"label": "x", "topic": {}},
                "suggestions": [
                    {
                        "label": "l",
                        "actions": [
                            {
                                "type": "update",
                                "description": "d",
                                "resource": {
                                    "resourceType": "ServiceRequest",
                                    "code": {"coding": [{}]},
                                    "note": [None, {"text": "keep"}],
                                },
                            }
                        ],
                    }
                ],
            }
        ],
        "systemActions": [],
    }
    assert prune(dirty) == {
        "cards": [
            {
                "summary": "s",
                "source": {"label": "x"},
                "suggestions": [
                    {
                        "label": "l",
                        "actions": [
                            {
                                "type": "update",
                                "description": "d",
                                "resource": {"resourceType": "ServiceRequest", "note": [{"text": "keep"}]},
                            }
                        ],
                    }
                ],
            }
        ]
    }
    assert prune({"cards": [], "flag": False, "n": 0}) == {"flag": False, "n": 0}


def test_compose_runs_the_service_next_to_hapi_fhir():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    cds, fhir = compose["services"]["cds"], compose["services"]["fhir"]
    assert cds["build"] == "." and "8080:8080" in compose["services"]["balancer"]["ports"]  # replicas behind it
    assert cds["environment"]["CDS_AUTH_MODE"] == "required"
    assert {"CDS_PUBLIC_BASE_URL", "CDS_TRUSTED_CLIENTS", "CDS_DATABASE_URL"} <= set(cds["environment"])
    assert fhir["image"].startswith("hapiproject/hapi:") and fhir["environment"]["hapi.fhir.fhir_version"] == "R4"
    mounted = [v.split(":")[0] for v in cds["volumes"] if v.startswith("./")]
    for path in mounted:
        assert (ROOT / path).exists(), f"compose mounts a file that is not in the repo: {path}"


def test_dockerfile_serves_with_gunicorn_as_non_root():
    text = (ROOT / "Dockerfile").read_text()
    assert '"cds-service", "serve"' in text and "USER cds" in text and "CDS_AUTH_MODE=required" in text
    assert "COPY hooks" in text and "CDS_HOOKS_DIR=/app/hooks" in text


def test_an_unexpected_fault_is_a_500_json_error_with_cors_and_a_logged_trace(make_app, http, log_lines):
    from tests.support.servers import LiveServer

    app = make_app()

    def broken():
        raise RuntimeError("secret internal detail")

    app.add_url_rule("/cds-services/broken-service", "broken", broken, methods=["POST"])
    with LiveServer(app) as server:
        response = http.post(
            f"{server.url}/cds-services/broken-service", json={}, headers={"Origin": "https://sandbox.cds-hooks.org"}
        )
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "internal_error" and body["requestId"] == response.headers["X-Request-ID"]
    assert "secret internal detail" not in response.text and "Traceback" not in response.text
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "RuntimeError: secret internal detail" in log_lines.text  # the operator sees the trace
    assert log_lines.requests()[-1]["status"] == 500

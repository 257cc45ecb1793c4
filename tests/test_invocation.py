"""Invocation status codes (Appendix A A-S1, A-S8..A-S12) end to end over loopback HTTP."""

import json
import socket

import pytest

from tests.support.builders import SERVICE_IDS, draft_service_request, empty_prefetch, request

SELECT = SERVICE_IDS["order-select"]


def _post(http, url, body, headers=None):
    return http.post(url, data=json.dumps(body), headers={"Content-Type": "application/json", **(headers or {})})


def _assert_error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] and body["message"] and body["requestId"] == response.headers["X-Request-ID"]
    assert body["outcome"]["resourceType"] == "OperationOutcome"
    assert "Traceback" not in response.text
    return body


@pytest.mark.parametrize("hook", ["order-select", "order-sign", "patient-view"])
def test_valid_request_with_full_prefetch_is_200_without_fhir_calls(live, http, fhir, hook):
    body = request(hook, prefetch=empty_prefetch(), fhirServer=fhir.url)
    response = _post(http, f"{live()}/cds-services/{SERVICE_IDS[hook]}", body)
    assert response.status_code == 200, response.text
    assert response.json() == {"cards": []}
    assert fhir.calls == []


def test_half_filled_draft_and_unknown_members_are_fine(live, http):
    body = request(prefetch=empty_prefetch(), extension={"com.example.x": {"a": 1}}, vendorField=True)
    body["context"]["extension"] = {"com.example.y": "z"}
    body["context"]["draftOrders"]["entry"][0]["resource"]["code"] = {"coding": [{}]}
    response = _post(http, f"{live()}/cds-services/{SELECT}", body)
    assert response.status_code == 200 and response.json() == {"cards": []}


def test_dstu2_medication_order_draft_is_not_an_error(live, http):
    draft = {
        "resourceType": "MedicationOrder",
        "id": "order-123",
        "status": "draft",
        "patient": {"reference": "Patient/p1"},
        "dateWritten": "2026-01-01",
    }
    response = _post(http, f"{live()}/cds-services/{SELECT}", request(prefetch=empty_prefetch(), drafts=[draft]))
    assert response.status_code == 200 and response.json() == {"cards": []}


def _mutations():
    def drop(*path):
        def apply(body):
            target = body
            for key in path[:-1]:
                target = target[key]
            del target[path[-1]]

        return apply

    def set_(value, *path):
        def apply(body):
            target = body
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value

        return apply

    return {
        "no hook": drop("hook"),
        "no hookInstance": drop("hookInstance"),
        "no context": drop("context"),
        "no userId": drop("context", "userId"),
        "no patientId": drop("context", "patientId"),
        "no selections": drop("context", "selections"),
        "empty selections": set_([], "context", "selections"),
        "no draftOrders": drop("context", "draftOrders"),
        "draftOrders not a Bundle": set_({"resourceType": "List"}, "context", "draftOrders"),
        "patientId not a string": set_(5, "context", "patientId"),
        "prefetch value a string": set_("x", "prefetch", "patient"),
        "prefetch value an array": set_([{"resourceType": "Patient"}], "prefetch", "patient"),
        "prefetch object without resourceType": set_({"id": "p1"}, "prefetch", "patient"),
        "prefetch resourceType not a string": set_({"resourceType": 7}, "prefetch", "patient"),
        "fhirAuthorization without fhirServer": set_(
            {"access_token": "t", "token_type": "Bearer"}, "fhirAuthorization"
        ),
        "hook does not match service": set_("order-sign", "hook"),
        "context not an object": set_([], "context"),
    }


@pytest.mark.parametrize("name", sorted(_mutations()))
def test_schema_violations_are_400(live, http, name):
    body = request(prefetch=empty_prefetch())
    _mutations()[name](body)
    error = _assert_error(_post(http, f"{live()}/cds-services/{SELECT}", body), 400)
    assert error["error"] == "bad_request"


@pytest.mark.parametrize("raw", [b"{", b"[1,2]", b'"text"', b"", b"\xff\xfe"])
def test_malformed_json_or_non_object_is_400(live, http, raw):
    response = http.post(f"{live()}/cds-services/{SELECT}", data=raw, headers={"Content-Type": "application/json"})
    _assert_error(response, 400)


def test_unknown_service_is_404(live, http):
    _assert_error(_post(http, f"{live()}/cds-services/no-such-service", request(prefetch=empty_prefetch())), 404)


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", f"/cds-services/{SELECT}"),
        ("PUT", f"/cds-services/{SELECT}"),
        ("DELETE", "/cds-services"),
        ("POST", "/cds-services"),
    ],
)
def test_wrong_method_is_405(live, http, method, path):
    response = http.request(method, f"{live()}{path}", data=b"{}", headers={"Content-Type": "application/json"})
    _assert_error(response, 405)
    assert "Allow" in response.headers


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_non_json_content_type_is_415(live, http, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    data = json.dumps(request(prefetch=empty_prefetch()))
    response = http.post(f"{live()}/cds-services/{SELECT}", data=data.encode(), headers=headers)
    _assert_error(response, 415)


def test_fhir_json_media_type_is_accepted(live, http):
    response = http.post(
        f"{live()}/cds-services/{SELECT}",
        data=json.dumps(request(prefetch=empty_prefetch())),
        headers={"Content-Type": "application/fhir+json; charset=utf-8"},
    )
    assert response.status_code == 200


def test_oversized_body_is_413_without_reading_it(live):
    url = live({"CDS_MAX_BODY_BYTES": "1000"})
    host, port = url.removeprefix("http://").split(":")
    # Announce 50 MB and send only the headers: the service must answer without waiting for the body.
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            (
                f"POST /cds-services/{SELECT} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                "Content-Length: 50000000\r\n\r\n"
            ).encode()
        )
        reply = b""
        while chunk := sock.recv(65536):  # the service closes the connection after refusing
            reply += chunk
        reply = reply.decode()
    assert reply.startswith("HTTP/1.1 413")
    assert '"payload_too_large"' in reply


def test_chunked_oversized_body_is_413(live, http):
    url = live({"CDS_MAX_BODY_BYTES": "1000"})

    def chunks():
        for _ in range(20):
            yield b" " * 100

    response = http.post(f"{url}/cds-services/{SELECT}", data=chunks(), headers={"Content-Type": "application/json"})
    _assert_error(response, 413)


def test_request_id_is_echoed_when_sane(live, http):
    body = request(prefetch=empty_prefetch())
    response = _post(http, f"{live()}/cds-services/{SELECT}", body, headers={"X-Request-ID": "trace-12345678"})
    assert response.headers["X-Request-ID"] == "trace-12345678"
    bad = http.post(
        f"{live()}/cds-services/{SELECT}",
        data=b"{",
        headers={"Content-Type": "application/json", "X-Request-ID": "bad id with spaces"},
    )
    assert bad.headers["X-Request-ID"] != "bad id with spaces" and len(bad.headers["X-Request-ID"]) == 32


def test_selection_of_a_draft_that_is_not_in_draft_orders_gives_no_cards(live, http):
    body = request(prefetch=empty_prefetch(), drafts=[draft_service_request("a")])
    body["context"]["selections"] = ["ServiceRequest/zzz"]
    response = _post(http, f"{live()}/cds-services/{SELECT}", body)
    assert response.status_code == 200 and response.json() == {"cards": []}

"""Requests a client can send that used to end in a 500 or an endless 503, over HTTP against the app: each now gets a
clear 4xx OperationOutcome, a skipped resource with a note, or its answer.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm

from fhir_mappings.code_systems import CPT
from plugin.sandbox.resources import hook_request, order_sign, procedure, service_request
from plugin.serving.app import create_app
from plugin.serving.settings import Settings, TrustedClientSettings
from tests.conftest import TODAY

ISSUER = "https://ehr.example.org"
BASE = "http://testserver"
SIGN = "/cds-services/epidural-order-sign"
FEEDBACK = "/cds-services/epidural-order-sign/feedback"
BEYOND_64_BITS = 123456789012345678901234567890


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


def authenticated_app(key: ec.EllipticCurvePrivateKey, feedback_db: str, **settings: Any) -> TestClient:
    jwk = {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1", "use": "sig"}
    configured = Settings(
        feedback_db=feedback_db,
        trusted_clients=[TrustedClientSettings(issuer=ISSUER, jwks={"keys": [jwk]}, fhir_servers=[ISSUER])],
        **settings,
    )
    return TestClient(create_app(configured, today=lambda: TODAY), raise_server_exceptions=False)


@pytest.fixture
def secured(key: ec.EllipticCurvePrivateKey, store_url: str) -> Iterator[TestClient]:
    """The app with JWT checks on, over SQLite and over PostgreSQL."""
    with authenticated_app(key, store_url) as client:
        yield client


def bearer(key: ec.EllipticCurvePrivateKey, path: str = SIGN, **claims: Any) -> dict[str, str]:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": BASE + path, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4()), **claims}
    token = jwt.encode(payload, key, algorithm="ES384", headers={"kid": "k1", "typ": "JWT"})
    return {"Authorization": f"Bearer {token}"}


def outcome(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    diagnostics: str = body["issue"][0]["diagnostics"]
    return diagnostics


def feedback_item(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "card": str(uuid.uuid4()),
        "outcome": "overridden",
        "outcomeTimestamp": "2026-11-27T10:00:00Z",
        "overrideReason": {"reason": {"code": "patient-declined"}, "userComment": "seen before"},
    }
    item.update(changes)
    return item


# --- item 5: 500s a client could cause -------------------------------------------------------------------------------


def test_a_draft_order_with_an_integer_beyond_64_bits_is_suggested_back_unchanged_but_for_the_fix(
    service: TestClient,
) -> None:
    order = service_request("o1", "64483", "Caudal epidural steroid injection under fluoroscopy")
    order["extension"] = [{"url": "https://ehr.example.org/fhir/order-sequence", "valueDecimal": 1}]
    body = json.dumps(order_sign(order)).replace('"valueDecimal": 1', f'"valueDecimal": {BEYOND_64_BITS}')

    response = service.post(SIGN, content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 200, response.text
    [card] = [card for card in response.json()["cards"] if card["source"]["topic"]["code"] == "code-approach-mismatch"]
    suggested = card["suggestions"][0]["actions"][0]["resource"]
    assert suggested["extension"][0]["valueDecimal"] == BEYOND_64_BITS  # json.loads keeps every digit
    assert [c["code"] for c in suggested["code"]["coding"] if c["system"] == CPT] == ["62323"]
    assert {k: v for k, v in suggested.items() if k not in ("code", "extension")} == {
        k: v for k, v in order.items() if k not in ("code", "extension")
    }


def test_invalid_utf8_inside_a_prefetched_resource_is_a_400(service: TestClient) -> None:
    request = hook_request("patient-view", procedures=[procedure("pr-1", "62323", "2026-01-05", text="ESI")])
    body = json.dumps(request).encode().replace(b'"text": "ESI"', b'"text": "\xc9SI"')

    diagnostics = outcome(service.post("/cds-services/epidural-patient-view", content=body), 400)

    assert "not valid UTF-8" in diagnostics


@pytest.mark.parametrize("fhir_server", ["http://[::1/fhir", "http://ehr.example.org:99999/fhir", "ftp://ehr/fhir"])
def test_a_fhir_server_that_is_not_a_url_is_a_400_with_auth_off(service: TestClient, fhir_server: str) -> None:
    request = hook_request("patient-view")
    del request["prefetch"]["procedures"]
    request["fhirServer"] = fhir_server

    assert "fhirServer" in outcome(service.post("/cds-services/epidural-patient-view", json=request), 400)


def test_a_fhir_server_that_is_not_a_url_is_a_400_with_auth_on(key: ec.EllipticCurvePrivateKey, tmp_path: Path) -> None:
    request = order_sign()
    del request["prefetch"]["procedures"]
    request["fhirServer"] = "http://[::1/fhir"
    with authenticated_app(key, f"sqlite:///{tmp_path / 'f.db'}") as client:
        response = client.post(SIGN, json=request, headers=bearer(key))

    assert "fhirServer" in outcome(response, 400)


def test_a_procedure_whose_resource_type_nests_a_thousand_deep_is_skipped_with_a_note(service: TestClient) -> None:
    nested = '{"a": ' * 1000 + '"Procedure"' + "}" * 1000
    request = hook_request("patient-view", procedures=[procedure("deep", "62323", "2026-01-05")])
    body = json.dumps(request).replace('"resourceType": "Procedure"', f'"resourceType": {nested}')

    response = service.post("/cds-services/epidural-patient-view", content=body)

    assert response.status_code == 200, response.text
    [card] = [card for card in response.json()["cards"] if card["source"]["topic"]["code"] == "data-incomplete"]
    assert "Procedure/deep" in card["detail"]


# --- item 6: values the database refuses are a 400 (401 for a token), never a 503 ------------------------------------


@pytest.mark.parametrize(
    "item",
    [
        feedback_item(overrideReason={"reason": {"code": "x"}, "userComment": "before\u0000after"}),
        feedback_item(card="c" * 8000),
        feedback_item(card="card\u0000id"),
        feedback_item(acceptedSuggestions=[{"id": "s" * 8000}]),
        feedback_item(overrideReason={"reason": {"code": "x", "display": "d" * 5000}}),
    ],
    ids=["nul-in-comment", "8000-character-card-id", "nul-in-card-id", "long-suggestion-id", "long-display"],
)
def test_feedback_values_no_database_can_store_are_a_400_on_every_backend(
    secured: TestClient, key: ec.EllipticCurvePrivateKey, item: dict[str, Any]
) -> None:
    response = secured.post(FEEDBACK, json={"feedback": [item]}, headers=bearer(key, FEEDBACK))

    outcome(response, 400)


@pytest.mark.parametrize("jti", ["jti\u0000with-nul", "j" * 8000])
def test_a_token_id_no_database_can_store_is_a_401_on_every_backend(
    secured: TestClient, key: ec.EllipticCurvePrivateKey, jti: str
) -> None:
    response = secured.post(SIGN, json=order_sign(), headers=bearer(key, jti=jti))

    assert response.status_code == 401
    assert response.content == b""


# --- item 7: one feedback post cannot hold the database, and token checks never wait for one --------------------------


def test_a_feedback_post_over_the_item_limit_is_a_413(service: TestClient) -> None:
    response = service.post(FEEDBACK, json={"feedback": [feedback_item() for _ in range(101)]})

    assert "at most 100 items" in outcome(response, 413)


def test_a_feedback_post_over_the_byte_limit_is_a_413(service: TestClient) -> None:
    comment = "x" * 9_000
    items = [feedback_item(overrideReason={"reason": {"code": "x"}, "userComment": comment}) for _ in range(30)]

    outcome(service.post(FEEDBACK, json={"feedback": items}), 413)


def test_a_feedback_post_at_the_limits_is_stored(service: TestClient) -> None:
    response = service.post(FEEDBACK, json={"feedback": [feedback_item() for _ in range(100)]})

    assert response.status_code == 200


def test_a_hook_call_is_answered_while_a_feedback_write_holds_the_feedback_database(
    key: ec.EllipticCurvePrivateKey, tmp_path: Path
) -> None:
    feedback_db = tmp_path / "feedback.db"
    with authenticated_app(key, f"sqlite:///{feedback_db}") as client:
        writer = sqlite3.connect(feedback_db, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # what a long feedback post holds while it writes
        try:
            response = client.post(SIGN, json=order_sign(), headers=bearer(key))
        finally:
            writer.execute("ROLLBACK")
            writer.close()

    assert response.status_code == 200


def test_a_report_or_observation_whose_status_or_code_is_a_list_is_read_past(service: TestClient) -> None:
    request = order_sign(service_request("o1", "62323", "Lumbar interlaminar ESI L4-L5 under fluoroscopy"))
    odd = {"status": ["final"], "code": {"coding": [{"system": "http://loinc.org", "code": ["72514-3"]}]}}
    request["prefetch"]["diagnosticReports"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": {"resourceType": "DiagnosticReport", "id": "r1", **odd}}],
    }
    request["prefetch"]["observations"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": {"resourceType": "Observation", "id": "ob1", **odd}}],
    }
    request["prefetch"]["imagingStudies"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": {"resourceType": "ImagingStudy", "id": "i1", "status": {"x": 1}, "modality": [{}]}}],
    }

    response = service.post(SIGN, json=request)

    assert response.status_code == 200, response.text

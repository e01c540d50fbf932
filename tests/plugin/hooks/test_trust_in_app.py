"""Trust through the whole app: who may call, which FHIR servers they may send us to, and what never reaches a log."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import respx
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm

from plugin.sandbox.resources import hook_request, procedure, searchset
from plugin.serving.app import create_app
from plugin.serving.log_format import JsonFormatter
from plugin.serving.settings import Settings, StartupRefused, TrustedClientSettings
from tests.conftest import TODAY

ISSUER = "https://ehr.example.org"
PUBLIC_BASE = "https://cds.example.org"
ALLOWED_FHIR = "https://ehr.example.org/fhir"
ACCESS_TOKEN = "fhir-access-token-5f2b8c"
PATIENT_NAME = "Zebediah Quarrington"
SERVICE_URL = f"{PUBLIC_BASE}/cds-services/epidural-patient-view"


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture
def app_client(key: ec.EllipticCurvePrivateKey, tmp_path: Path) -> Iterator[TestClient]:
    jwk = {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1", "use": "sig"}
    settings = Settings(
        public_base_url=PUBLIC_BASE,
        feedback_db=f"sqlite:///{tmp_path / 'feedback.db'}",
        trusted_clients=[TrustedClientSettings(issuer=ISSUER, jwks={"keys": [jwk]}, fhir_servers=[ALLOWED_FHIR])],
    )
    with TestClient(create_app(settings, today=lambda: TODAY), base_url=PUBLIC_BASE) as client:
        yield client


def token(key: ec.EllipticCurvePrivateKey, audience: str = SERVICE_URL, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": audience, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4()), **claims}
    return jwt.encode(payload, key, algorithm="ES384", headers={"kid": "k1", "typ": "JWT"})


def fetching_request(fhir_server: str) -> dict[str, Any]:
    request = hook_request("patient-view")
    del request["prefetch"]["procedures"]
    request["prefetch"]["patient"] = {"resourceType": "Patient", "id": "p1", "name": [{"text": PATIENT_NAME}]}
    request["fhirServer"] = fhir_server
    request["fhirAuthorization"] = {
        "access_token": ACCESS_TOKEN,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "cds-service",
    }
    return request


def test_service_refuses_to_start_with_auth_and_no_trusted_clients(tmp_path: Path) -> None:
    with pytest.raises(StartupRefused, match="trusted_clients"):
        create_app(Settings(feedback_db=f"sqlite:///{tmp_path / 'f.db'}"))


def test_a_valid_token_is_accepted(app_client: TestClient, key: ec.EllipticCurvePrivateKey) -> None:
    response = app_client.post(
        SERVICE_URL, json=hook_request("patient-view"), headers={"Authorization": f"Bearer {token(key)}"}
    )
    assert response.status_code == 200


def test_discovery_and_feedback_need_a_token_too(app_client: TestClient, key: ec.EllipticCurvePrivateKey) -> None:
    assert app_client.get("/cds-services").status_code == 401
    discovery = token(key, audience=f"{PUBLIC_BASE}/cds-services")
    assert app_client.get("/cds-services", headers={"Authorization": f"Bearer {discovery}"}).status_code == 200
    assert app_client.post("/cds-services/epidural-patient-view/feedback", json={"feedback": []}).status_code == 401


def test_missing_token_is_a_bare_401(app_client: TestClient) -> None:
    response = app_client.post(SERVICE_URL, json=hook_request("patient-view"))
    assert response.status_code == 401
    assert response.content == b""


def test_token_for_another_service_is_refused(app_client: TestClient, key: ec.EllipticCurvePrivateKey) -> None:
    other = token(key, audience=f"{PUBLIC_BASE}/cds-services/epidural-order-sign")
    response = app_client.post(
        SERVICE_URL, json=hook_request("patient-view"), headers={"Authorization": f"Bearer {other}"}
    )
    assert response.status_code == 401


def test_fhir_server_off_the_allow_list_is_refused_and_never_contacted(
    app_client: TestClient, key: ec.EllipticCurvePrivateKey
) -> None:
    with respx.mock(assert_all_called=False) as mock:
        evil = mock.route(host="attacker.example.net")
        response = app_client.post(
            SERVICE_URL,
            json=fetching_request("https://attacker.example.net/fhir"),
            headers={"Authorization": f"Bearer {token(key)}"},
        )
        assert response.status_code == 403
        assert response.json()["resourceType"] == "OperationOutcome"
        assert not evil.called


def test_allowed_fhir_server_is_used_with_the_access_token(
    app_client: TestClient, key: ec.EllipticCurvePrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="testserver").pass_through()
        procedures = mock.get(f"{ALLOWED_FHIR}/Procedure").respond(
            json=searchset([procedure("a", "62323", "2026-10-01")])
        )
        mock.get(url__startswith=ALLOWED_FHIR).respond(json=searchset([]))
        response = app_client.post(
            SERVICE_URL, json=fetching_request(ALLOWED_FHIR), headers={"Authorization": f"Bearer {token(key)}"}
        )
        assert response.status_code == 200, response.text
        assert procedures.calls.last.request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert [card["source"]["topic"]["code"] for card in response.json()["cards"]] == ["frequency-budget"]
    # The access line says what was fetched, so an integrator sees the prefetch the EHR did not send.
    [line] = [vars(record) for record in caplog.records if record.name == "cds_hooks.access_log"]
    assert "procedures" in line["fetched"]
    assert line["unavailable"] == []
    assert line["fetch_ms"] >= 0


def test_logs_never_carry_tokens_or_patient_data(
    app_client: TestClient, key: ec.EllipticCurvePrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    bearer = token(key)
    caplog.set_level(logging.DEBUG)
    with respx.mock(assert_all_called=False) as mock:
        mock.get(url__startswith=ALLOWED_FHIR).respond(json=searchset([procedure("a", "62323", "2026-10-01")]))
        app_client.post(SERVICE_URL, json=fetching_request(ALLOWED_FHIR), headers={"Authorization": f"Bearer {bearer}"})
        app_client.post(SERVICE_URL, json=fetching_request(ALLOWED_FHIR), headers={"Authorization": "Bearer not.a.jwt"})
    formatter = JsonFormatter()
    written = "\n".join(formatter.format(record) for record in caplog.records)
    assert '"message":"request"' in written
    assert '"reason":"unauthorized:malformed"' in written
    for secret in (bearer, bearer.split(".")[1], ACCESS_TOKEN, PATIENT_NAME, "not.a.jwt"):
        assert secret not in written


def test_cors_origins_can_be_restricted(tmp_path: Path) -> None:
    settings = Settings(feedback_db=f"sqlite:///{tmp_path / 'f.db'}", cors_allow_origins=["https://ehr.example.org"])
    with TestClient(create_app(settings, auth=False)) as client:
        preflight = {"Access-Control-Request-Method": "POST"}
        allowed = client.options("/cds-services", headers={"Origin": "https://ehr.example.org", **preflight})
        denied = client.options("/cds-services", headers={"Origin": "https://evil.example.com", **preflight})
    assert allowed.headers.get("access-control-allow-origin") == "https://ehr.example.org"
    assert "access-control-allow-origin" not in denied.headers
    # Refused like every other error: an OperationOutcome, as JSON.
    assert denied.status_code == 400
    assert denied.headers["content-type"] == "application/json"
    assert denied.json()["resourceType"] == "OperationOutcome"
    assert denied.json()["issue"][0]["diagnostics"] == "Disallowed CORS origin"


def test_without_a_public_base_url_the_audience_is_the_listening_address_never_the_host_header(
    key: ec.EllipticCurvePrivateKey, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    jwk = {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1", "use": "sig"}
    settings = Settings(
        feedback_db=f"sqlite:///{tmp_path / 'feedback.db'}",
        trusted_clients=[TrustedClientSettings(issuer=ISSUER, jwks={"keys": [jwk]}, fhir_servers=[ALLOWED_FHIR])],
    )
    path = "/cds-services/epidural-patient-view"
    other_service = f"http://cds.other-vendor.example{path}"  # what Host once made the audience
    caplog.set_level(logging.INFO)
    # The test client's socket is "testserver" on port 80.
    with TestClient(create_app(settings, today=lambda: TODAY), base_url="http://testserver") as client:
        forged = client.post(
            path,
            json=hook_request("patient-view"),
            headers={"Authorization": f"Bearer {token(key, other_service)}", "Host": "cds.other-vendor.example"},
        )
        genuine = client.post(
            path,
            json=hook_request("patient-view"),
            headers={"Authorization": f"Bearer {token(key, f'http://testserver{path}')}", "Host": "elsewhere.example"},
        )

    assert forged.status_code == 401
    assert genuine.status_code == 200
    assert "public_base_url is not set" in caplog.text
    [refused] = [vars(r) for r in caplog.records if getattr(r, "reason", None) == "unauthorized:audience"]
    assert (refused["expected_aud"], refused["received_aud"]) == (f"http://testserver{path}", other_service)

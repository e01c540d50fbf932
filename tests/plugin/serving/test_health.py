"""`/healthz` (liveness) and `/readyz` (readiness) as an orchestrator's probes see them."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm

from plugin.policies.catalog import load_catalog
from plugin.serving.app import create_app
from plugin.serving.settings import Settings, TrustedClientSettings

SHIPPED_POLICIES = sorted(load_catalog().policies)


@pytest.fixture
def not_started(tmp_path: Path) -> Iterator[TestClient]:
    """The app before its start-up has run (no `with` around the client, so no lifespan)."""
    app = create_app(Settings(feedback_db=f"sqlite:///{tmp_path / 'feedback.db'}"), auth=False)
    client = TestClient(app, raise_server_exceptions=False)
    yield client
    with client:  # runs start-up and shut-down afterwards, so the app's feedback store is closed
        pass


def test_healthz_says_ok(service: TestClient) -> None:
    response = service.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_after_start_up_lists_the_loaded_policies(service: TestClient) -> None:
    response = service.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "policies": SHIPPED_POLICIES}
    assert {"medicare-esi-lcd", "molina-mcp-032", "evicore-cmm-200"} <= set(SHIPPED_POLICIES)


def test_readyz_before_start_up_is_a_503_operation_outcome(not_started: TestClient) -> None:
    response = not_started.get("/readyz")

    assert response.status_code == 503
    assert response.json()["resourceType"] == "OperationOutcome"
    assert response.json()["issue"][0]["code"] == "transient"


def test_healthz_answers_before_start_up_has_finished(not_started: TestClient) -> None:
    assert not_started.get("/healthz").status_code == 200


def test_probes_need_no_jwt_when_auth_is_on(tmp_path: Path) -> None:
    public_key = ec.generate_private_key(ec.SECP384R1()).public_key()
    jwk = json.loads(ECAlgorithm.to_jwk(public_key))
    settings = Settings(
        feedback_db=f"sqlite:///{tmp_path / 'feedback.db'}",
        trusted_clients=[TrustedClientSettings(issuer="https://ehr.example.org", jwks={"keys": [jwk]})],
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/cds-services").status_code == 401
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200


def test_an_icd10cm_table_past_its_release_period_is_logged_at_start_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(feedback_db=f"sqlite:///{tmp_path / 'feedback.db'}")
    with caplog.at_level(logging.WARNING), TestClient(create_app(settings, auth=False, today=lambda: date(2030, 1, 1))):
        pass
    assert "ICD-10-CM table is past its release period" in caplog.text

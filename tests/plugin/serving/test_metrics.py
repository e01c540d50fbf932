"""`GET /metrics` as Prometheus scrapes it: the counters an operator alerts on move with what clients do."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm
from prometheus_client.parser import text_string_to_metric_families

from plugin.serving.app import create_app
from plugin.serving.settings import Settings, TrustedClientSettings
from tests.conftest import TODAY

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
ISSUER = "https://ehr.example.org"
PUBLIC_BASE = "https://cds.example.org"
ORDER_SIGN = "/cds-services/epidural-order-sign"


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def with_auth(key: ec.EllipticCurvePrivateKey, tmp_path: Path) -> Iterator[TestClient]:
    jwk = {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1", "use": "sig"}
    settings = Settings(
        public_base_url=PUBLIC_BASE,
        feedback_db=f"sqlite:///{tmp_path / 'feedback.db'}",
        trusted_clients=[TrustedClientSettings(issuer=ISSUER, jwks={"keys": [jwk]})],
    )
    with TestClient(create_app(settings, today=lambda: TODAY), base_url=PUBLIC_BASE) as client:
        yield client


def test_cards_are_counted_per_rule_and_indicator(service: TestClient) -> None:
    before = scrape(service)
    response = service.post(ORDER_SIGN, content=(EXAMPLES / "order-sign-limit-exceeded.json").read_bytes())
    after = scrape(service)

    assert response.status_code == 200
    labels = {"rule": "frequency-limit-exceeded", "indicator": "critical"}
    assert value(after, "epidural_cds_cards_total", **labels) == value(before, "epidural_cds_cards_total", **labels) + 1
    latency = {"endpoint": "hook", "service": "epidural-order-sign", "status": "200"}
    name = "epidural_cds_request_duration_seconds_count"
    assert value(after, name, **latency) == value(before, name, **latency) + 1


def test_a_service_id_a_client_made_up_never_becomes_a_label(service: TestClient) -> None:
    service.post("/cds-services/patient-Zebediah-Quarrington", content=b"{}")
    samples = scrape(service)

    assert not any("Zebediah" in str(labels) for _, labels in samples)
    assert value(
        samples, "epidural_cds_request_duration_seconds_count", endpoint="hook", service="unknown", status="404"
    )


def test_refused_tokens_are_counted_by_reason_and_metrics_need_no_token(
    with_auth: TestClient, key: ec.EllipticCurvePrivateKey
) -> None:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": PUBLIC_BASE + ORDER_SIGN, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
    replayed = jwt.encode(claims, key, algorithm="ES256", headers={"kid": "k1"})
    expired = jwt.encode({**claims, "jti": "other", "exp": now - 3600}, key, algorithm="ES256", headers={"kid": "k1"})
    body = (EXAMPLES / "order-sign.json").read_bytes()
    before = scrape(with_auth)

    statuses = [
        with_auth.post(ORDER_SIGN, content=body).status_code,
        with_auth.post(ORDER_SIGN, content=body, headers={"Authorization": f"Bearer {replayed}"}).status_code,
        with_auth.post(ORDER_SIGN, content=body, headers={"Authorization": f"Bearer {replayed}"}).status_code,
        with_auth.post(ORDER_SIGN, content=body, headers={"Authorization": f"Bearer {expired}"}).status_code,
    ]
    after = scrape(with_auth)

    assert statuses == [401, 200, 401, 401]
    for reason in ("missing", "replayed", "expired"):
        name = "epidural_cds_jwt_rejections_total"
        assert value(after, name, reason=reason) == value(before, name, reason=reason) + 1, reason


def test_feedback_writes_are_counted(service: TestClient) -> None:
    before = scrape(service)
    feedback = {
        "feedback": [{"card": str(uuid.uuid4()), "outcome": "accepted", "outcomeTimestamp": "2026-11-27T10:00:00Z"}]
    }
    response = service.post(ORDER_SIGN + "/feedback", content=json.dumps(feedback))
    after = scrape(service)

    assert response.status_code == 200
    stored = ("epidural_cds_feedback_writes_total", {"outcome": "stored"})
    assert value(after, stored[0], **stored[1]) == value(before, stored[0], **stored[1]) + 1
    assert value(after, "epidural_cds_feedback_items_stored_total") == (
        value(before, "epidural_cds_feedback_items_stored_total") + 1
    )

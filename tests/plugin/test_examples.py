"""The bundled example requests give the cards the README promises, through the HTTP service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.cards import rule_ids

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SERVICE_FOR_HOOK = {
    "order-select": "epidural-order-select",
    "order-sign": "epidural-order-sign",
    "appointment-book": "epidural-appointment-book",
    "encounter-start": "epidural-encounter-start",
    "encounter-discharge": "epidural-encounter-discharge",
    "patient-view": "epidural-patient-view",
}
EXPECTED = {
    "order-select.json": ["frequency-limit-reached"],
    "order-sign.json": [],
    "order-sign-limit-exceeded.json": ["frequency-limit-exceeded"],
    "order-sign-free-text.json": ["frequency-limit-exceeded"],
    "order-sign-coding-errors.json": [
        "code-approach-mismatch",
        "diagnosis-nonspecific",
        "imaging-guidance-bundled",
    ],
    "appointment-book.json": ["frequency-limit-exceeded"],
    "appointment-book-local-visit-types.json": ["frequency-limit-exceeded"],
    "encounter-start.json": ["frequency-budget"],
    "encounter-discharge.json": ["diagnosis-missing", "documentation-incomplete", "imaging-evidence-missing"],
    "patient-view.json": ["frequency-budget"],
    # One per payer policy: each shows the policy's own criteria.
    "order-sign-medicare-advantage.json": ["prior-auth-required"],
    "order-sign-evicore.json": ["interval-too-short", "prior-auth-required", "repeat-criteria-unmet"],
    "order-sign-carelon.json": ["diagnostic-imaging-missing", "prior-auth-required"],
    "order-sign-blue-template.json": ["interval-too-short"],
    "order-sign-bcbs-tennessee.json": ["frequency-limit-exceeded"],
    "order-sign-molina-repeat.json": [],
}


def test_every_example_has_an_expectation() -> None:
    assert sorted(path.name for path in EXAMPLES.glob("*.json")) == sorted(EXPECTED)


def test_there_is_an_example_for_every_hook() -> None:
    hooks = {json.loads(path.read_text())["hook"] for path in EXAMPLES.glob("*.json")}
    assert hooks == set(SERVICE_FOR_HOOK)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_gives_its_expected_cards(service: TestClient, name: str) -> None:
    request = json.loads((EXAMPLES / name).read_text())
    response = service.post(f"/cds-services/{SERVICE_FOR_HOOK[request['hook']]}", json=request)
    assert response.status_code == 200
    assert rule_ids(response.json()) == EXPECTED[name]

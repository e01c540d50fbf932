"""The bundled example requests give the cards the README promises, through the HTTP service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.cards import rule_ids

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
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
    # Traditional Medicare where the data names the place: WISeR in Texas (Novitas), a MAC's LCD by state.
    "order-sign-medicare-wiser-texas.json": ["prior-auth-required"],
    "encounter-start-medicare-first-coast.json": ["frequency-budget"],
    "appointment-book-medicare-cgs.json": ["frequency-limit-exceeded"],
}
# The policy each example is judged by, and where its state came from, as the cards' applied-policy line says it.
APPLIED_BY_STATE = {
    "order-sign-medicare-wiser-texas.json": (
        "Novitas LCD L36920",
        "service furnished in Texas (from the order's location)",
    ),
    "encounter-start-medicare-first-coast.json": (
        "First Coast LCD L33906",
        "service furnished in Florida (from the encounter's location)",
    ),
    "appointment-book-medicare-cgs.json": (
        "CGS LCD L39015",
        "service furnished in Kentucky (from the appointment's location)",
    ),
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


@pytest.mark.parametrize("name", sorted(APPLIED_BY_STATE))
def test_a_medicare_example_names_the_macs_lcd_and_where_its_state_came_from(service: TestClient, name: str) -> None:
    request = json.loads((EXAMPLES / name).read_text())
    cards = service.post(f"/cds-services/{SERVICE_FOR_HOOK[request['hook']]}", json=request).json()["cards"]
    title, state = APPLIED_BY_STATE[name]
    assert cards
    for card in cards:
        assert f"**{title}" in card["detail"]
        assert f"applies by state: {state}." in card["detail"]

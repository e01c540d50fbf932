"""Frequency cards through the whole service: one hook request in, cards out, for every hook that counts sessions."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from fastapi.testclient import TestClient

from plugin.hooks.cards import RULE_SYSTEM, rule_of_card
from plugin.sandbox.resources import (
    appointment,
    collection,
    coverage,
    hook_request,
    order_sign,
    procedure,
    service_request,
)
from tests.cards import rule_ids

HISTORY = [
    procedure("esi-1", "62323", "2026-01-12T09:30:00-05:00"),
    procedure("esi-2", "62323", "2026-04-13T10:00:00-04:00"),
    procedure("esi-3", "64483", "2026-07-14T08:15:00-04:00"),
]
FOURTH = procedure("esi-4", "62323", "2026-10-15T09:00:00-04:00")
MEDICARE = [coverage("cov-1", sopt="1", payor="Medicare Part B")]
ORDER = service_request("order-1", "62323", "Lumbar interlaminar ESI L4-L5 under fluoroscopy", occurrence="2026-12-03")


def post(service: TestClient, service_id: str, request: dict[str, Any]) -> dict[str, Any]:
    response = service.post(f"/cds-services/{service_id}", json=request)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def frequency_cards(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [card for card in body["cards"] if card["source"]["topic"]["code"].startswith("frequency-")]


def test_order_sign_over_the_medicare_cap_gets_a_critical_card_with_the_earliest_date(service: TestClient) -> None:
    body = post(service, "epidural-order-sign", order_sign(ORDER, procedures=[*HISTORY, FOURTH], coverages=MEDICARE))
    [card] = frequency_cards(body)
    assert card["indicator"] == "critical"
    assert card["source"]["topic"] == {
        "system": RULE_SYSTEM,
        "code": "frequency-limit-exceeded",
        "display": "Frequency limit exceeded",
    }
    assert "2027-01-12" in card["detail"]
    assert "Medicare Epidural Steroid Injections for Pain Management LCDs" in card["detail"]
    assert "medicare-esi-lcd" not in card["detail"]
    assert card["links"][0]["type"] == "absolute"
    assert card["links"][0]["url"].startswith("https://www.cms.gov/")


def test_cards_are_cds_hooks_conformant(service: TestClient) -> None:
    body = post(service, "epidural-order-sign", order_sign(ORDER, procedures=[*HISTORY, FOURTH], coverages=MEDICARE))
    for card in body["cards"]:
        assert len(card["summary"]) < 140
        assert card["indicator"] in {"info", "warning", "critical"}
        assert card["source"]["label"]
        uuid.UUID(card["uuid"])
        for reason in card.get("overrideReasons", []):
            assert reason["display"]
        if card.get("suggestions"):
            assert card["selectionBehavior"] in {"at-most-one", "any"}
            for suggestion in card["suggestions"]:
                uuid.UUID(suggestion["uuid"])
        assert _no_null_or_empty(card)


def _no_null_or_empty(value: Any) -> bool:
    if isinstance(value, dict):
        return all(item not in (None, "", [], {}) and _no_null_or_empty(item) for item in value.values())
    if isinstance(value, list):
        return all(_no_null_or_empty(item) for item in value)
    return True


def test_card_uuid_tells_which_rule_issued_it(service: TestClient) -> None:
    body = post(service, "epidural-order-sign", order_sign(ORDER, procedures=[*HISTORY, FOURTH], coverages=MEDICARE))
    [card] = frequency_cards(body)
    rule = rule_of_card(card["uuid"])
    assert rule is not None
    assert rule.value == "frequency-limit-exceeded"


def test_order_select_judges_only_the_selected_orders(service: TestClient) -> None:
    other = service_request(
        "order-2", "62321", "Cervical interlaminar ESI C6-C7 under fluoroscopy", occurrence="2026-12-03"
    )
    context = {"draftOrders": collection([ORDER, other]), "selections": ["ServiceRequest/order-2"]}
    request = hook_request("order-select", context, procedures=[*HISTORY, FOURTH], coverages=MEDICARE)
    assert frequency_cards(post(service, "epidural-order-select", request)) == []


def test_appointment_book_warns_before_booking_too_soon(service: TestClient) -> None:
    proposed = appointment("appt-new", "64483", "2026-12-10T09:00:00-05:00", status="proposed")
    booked = appointment("appt-1", "62323", "2026-12-01T09:00:00-05:00")
    request = hook_request(
        "appointment-book",
        {"appointments": collection([proposed])},
        procedures=HISTORY,
        coverages=MEDICARE,
        appointments=[booked],
    )
    [card] = frequency_cards(post(service, "epidural-appointment-book", request))
    assert card["indicator"] == "critical"
    assert "2027-01-12" in card["summary"]


def test_patient_view_shows_the_budget_only_for_patients_with_injections(service: TestClient) -> None:
    with_history = post(
        service, "epidural-patient-view", hook_request("patient-view", procedures=HISTORY, coverages=MEDICARE)
    )
    assert rule_ids(with_history) == ["frequency-budget"]
    assert "3/4 used" in with_history["cards"][0]["summary"]
    assert post(service, "epidural-patient-view", hook_request("patient-view", coverages=MEDICARE)) == {"cards": []}


def test_encounter_start_lists_booked_injections(service: TestClient) -> None:
    booked = appointment("appt-1", "62323", "2026-12-01T09:00:00-05:00")
    request = hook_request(
        "encounter-start", {"encounterId": "e1"}, procedures=HISTORY, coverages=MEDICARE, appointments=[booked]
    )
    [card] = post(service, "epidural-encounter-start", request)["cards"]
    assert card["source"]["topic"]["code"] == "frequency-budget"
    assert "2026-12-01" in card["detail"]
    assert card["indicator"] == "warning"


def test_no_coverage_uses_the_typical_commercial_rule_and_says_how_to_map_the_plan(service: TestClient) -> None:
    [card] = post(service, "epidural-patient-view", hook_request("patient-view", procedures=HISTORY))["cards"]
    assert "eviCore CMM-200" in card["detail"]
    assert "No active coverage is on record: this card applies the typical commercial rule" in card["detail"]
    assert "coverage mapping" in card["detail"]


def test_unreadable_history_is_reported_not_fatal(service: TestClient) -> None:
    request = hook_request("patient-view", procedures=HISTORY, coverages=MEDICARE)
    request["prefetch"]["procedures"]["entry"].append(
        {"resource": {"resourceType": "Procedure", "id": "bad", "code": 7}}
    )
    body = post(service, "epidural-patient-view", request)
    assert rule_ids(body) == ["data-incomplete", "frequency-budget"]
    incomplete = next(card for card in body["cards"] if card["source"]["topic"]["code"] == "data-incomplete")
    assert "Procedure/bad" in incomplete["detail"]


def test_a_number_beyond_a_double_in_the_history_costs_that_resource_only(service: TestClient) -> None:
    # 1e999 is JSON, but no double holds it: read where it is not needed, skipped with a note where it is.
    request = hook_request("patient-view", procedures=HISTORY, coverages=MEDICARE)
    request["prefetch"]["procedures"]["entry"][0]["resource"]["vendorScore"] = 424242
    request["prefetch"]["procedures"]["entry"].append(
        {"resource": {"resourceType": "Procedure", "id": "huge", "status": 424242}}
    )
    body = orjson.dumps(request).replace(b"424242", b"1e999")

    response = service.post("/cds-services/epidural-patient-view", content=body)

    assert response.status_code == 200
    assert rule_ids(response.json()) == ["data-incomplete", "frequency-budget"]
    incomplete = next(card for card in response.json()["cards"] if card["source"]["topic"]["code"] == "data-incomplete")
    assert "Procedure/huge" in incomplete["detail"]


def test_payer_named_only_by_an_included_organization_chooses_its_policy(service: TestClient) -> None:
    insurance = coverage("cov-1", payor="ignored")
    insurance["payor"] = [{"reference": "Organization/molina"}]
    request = hook_request("patient-view", procedures=HISTORY, coverages=[insurance])
    request["prefetch"]["coverage"]["entry"].append(
        {
            "resource": {"resourceType": "Organization", "id": "molina", "name": "Molina Healthcare"},
            "search": {"mode": "include"},
        }
    )
    [card] = post(service, "epidural-patient-view", request)["cards"]
    assert "Molina Clinical Policy MCP-032" in card["detail"]

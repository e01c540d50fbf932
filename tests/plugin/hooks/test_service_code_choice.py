"""Code choice, session limits and modifiers over HTTP: whole hook requests in, cards and suggestions out."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from fhir_mappings.code_systems import CPT
from plugin.sandbox.resources import collection, coverage, hook_request, order_sign, procedure, service_request, valid

MEDICARE = [coverage("cov-1", sopt="1", payor="Medicare Part B")]
COMMERCIAL = [coverage("cov-1", payor="Acme Health")]
SNOMED = "http://snomed.info/sct"
FAMILY = {
    "code-approach-mismatch",
    "code-region-mismatch",
    "code-catheter-mismatch",
    "code-neurolytic",
    "levels-exceeded",
    "modifier-invalid",
}


def post(service: TestClient, service_id: str, request: dict[str, Any]) -> dict[str, Any]:
    response = service.post(f"/cds-services/{service_id}", json=request)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def sign(service: TestClient, *orders: dict[str, Any], coverages: list[dict[str, Any]] = MEDICARE) -> list[Any]:
    return family(post(service, "epidural-order-sign", order_sign(*orders, coverages=coverages)))


def family(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [card for card in body["cards"] if card["source"]["topic"]["code"] in FAMILY]


def rule(card: dict[str, Any]) -> str:
    code: str = card["source"]["topic"]["code"]
    return code


def suggested_code(card: dict[str, Any]) -> str:
    """The CPT code of the one update the card suggests, after checking the suggested resource is valid R4B."""
    [suggestion] = card["suggestions"]
    [action] = suggestion["actions"]
    assert action["type"] == "update"
    resource = valid(action["resource"])
    [cpt] = [coding for coding in resource["code"]["coding"] if coding["system"] == CPT]
    code: str = cpt["code"]
    return code


@pytest.mark.parametrize(
    "orders",
    [
        [service_request("il", "62323", "Lumbar interlaminar ESI L4-L5 under fluoroscopy")],
        [
            service_request("tf", "64483", "Transforaminal ESI L4-L5 and L5-S1 under fluoroscopy"),
            service_request("tf-add-on", "64484", "Transforaminal ESI L4-L5 and L5-S1 under fluoroscopy"),
        ],
        [service_request("t12", "64479", "Transforaminal ESI T12-L1 under fluoroscopy")],
    ],
    ids=["interlaminar-62323", "transforaminal-64483-64484", "transforaminal-t12-l1-64479"],
)
def test_correct_complete_orders_get_no_card_from_these_rules(service: TestClient, orders: list[Any]) -> None:
    assert sign(service, *orders) == []


def test_order_select_judges_only_the_selected_order(service: TestClient) -> None:
    selected = service_request("sel", "62323", "Transforaminal ESI L5-S1 under fluoroscopy")
    other = service_request("other", "62321", "Transforaminal ESI L4-L5 under fluoroscopy")
    context = {"draftOrders": collection([selected, other]), "selections": ["ServiceRequest/sel"]}
    body = post(service, "epidural-order-select", hook_request("order-select", context, coverages=MEDICARE))
    [card] = family(body)
    assert rule(card) == "code-approach-mismatch"
    assert card["indicator"] == "warning"
    assert suggested_code(card) == "64483"
    assert card["suggestions"][0]["actions"][0]["resource"]["id"] == "sel"


def test_order_select_leaves_session_limits_to_signing(service: TestClient) -> None:
    add_on = service_request("add-on", "64484", "Transforaminal ESI L5-S1 under fluoroscopy")
    context = {"draftOrders": collection([add_on]), "selections": ["ServiceRequest/add-on"]}
    body = post(service, "epidural-order-select", hook_request("order-select", context, coverages=MEDICARE))
    assert family(body) == []


def test_approach_and_region_of_one_order_are_one_card_with_one_code(service: TestClient) -> None:
    [card] = sign(service, service_request("o1", "62321", "Selective nerve root block L5-S1 under fluoroscopy"))
    assert rule(card) == "code-approach-mismatch"
    assert "lumbar/sacral" in card["detail"]
    assert [suggestion["label"] for suggestion in card["suggestions"]] == ["Change the order to 64483"]


def test_caudal_order_coded_transforaminal_is_recoded_to_62323(service: TestClient) -> None:
    [card] = sign(service, service_request("o1", "64483", "Caudal epidural steroid injection under fluoroscopy"))
    assert rule(card) == "code-approach-mismatch"
    assert suggested_code(card) == "62323"


def test_coded_body_site_decides_the_region(service: TestClient) -> None:
    site = {"coding": [{"system": SNOMED, "code": "122494005", "display": "Cervical spine"}]}
    order = service_request("o1", "62323", "Interlaminar ESI under fluoroscopy", bodySite=[site])
    [card] = sign(service, order)
    assert rule(card) == "code-region-mismatch"
    assert suggested_code(card) == "62321"


def test_continuous_infusion_gets_the_catheter_code(service: TestClient) -> None:
    order = service_request("o1", "62323", "Lumbar epidural catheter, continuous infusion, fluoroscopy")
    [card] = sign(service, order)
    assert rule(card) == "code-catheter-mismatch"
    assert suggested_code(card) == "62327"


def test_catheter_for_a_single_bolus_keeps_the_single_shot_code(service: TestClient) -> None:
    order = service_request("o1", "62323", "Lumbar epidural via catheter, single bolus only, L4-L5, fluoroscopy")
    assert sign(service, order) == []


def test_phenol_gets_the_neurolytic_code(service: TestClient) -> None:
    [card] = sign(service, service_request("o1", "62323", "Lumbar epidural phenol neurolysis L4-L5, fluoroscopy"))
    assert rule(card) == "code-neurolytic"
    assert suggested_code(card) == "62282"


@pytest.mark.parametrize(
    "modifier",
    [
        {"code": {"coding": [{"system": CPT, "code": "62323"}, {"system": CPT, "code": "50"}], "text": "ESI L4-L5"}},
        {"code": {"coding": [{"system": CPT, "code": "62323-RT"}], "text": "Lumbar ESI L4-L5"}},
        {"code": {"text": "62323-50 lumbar interlaminar ESI L4-L5"}},
        {
            "extension": [
                {
                    "url": "http://example.org/fhir/StructureDefinition/procedure-modifier",
                    "valueCoding": {"system": CPT, "code": "LT"},
                }
            ]
        },
    ],
    ids=["modifier-coding", "joined-coding", "code-text", "extension"],
)
def test_forbidden_modifier_on_an_interlaminar_code_is_flagged(service: TestClient, modifier: dict[str, Any]) -> None:
    order = service_request("o1", "62323", "Lumbar interlaminar ESI L4-L5 under fluoroscopy", **modifier)
    [card] = sign(service, order)
    assert rule(card) == "modifier-invalid"
    assert card["indicator"] == "warning"
    assert "62323" in card["summary"]


def test_bilateral_interlaminar_order_breaks_medicare(service: TestClient) -> None:
    [card] = sign(service, service_request("o1", "62323", "Bilateral lumbar interlaminar ESI L4-L5, fluoroscopy"))
    assert rule(card) == "modifier-invalid"
    assert "Medicare Epidural Steroid Injections for Pain Management LCDs" in card["detail"]


def test_three_transforaminal_levels_exceed_medicare_but_not_a_policy_without_level_limits(service: TestClient) -> None:
    orders = (
        service_request("o1", "64483", "Transforaminal ESI L3-L4 under fluoroscopy"),
        service_request("o2", "64484", "Transforaminal ESI L4-L5, L5-S1", quantityQuantity={"value": 2}),
    )
    [card] = sign(service, *orders)
    assert rule(card) == "levels-exceeded"
    assert card["indicator"] == "warning"
    assert card["links"][0]["url"].startswith("https://www.cms.gov/")
    assert sign(service, *orders, coverages=[coverage("cov-m", payor="Molina Healthcare")]) == []


def test_two_regions_with_modifier_59_are_still_two_regions(service: TestClient) -> None:
    lumbar = service_request("o1", "64483", "Transforaminal ESI L5-S1 under fluoroscopy")
    cervical = service_request("o2", "64479", "64479-59 transforaminal ESI C6-C7 under fluoroscopy")
    [card] = sign(service, lumbar, cervical)
    assert rule(card) == "levels-exceeded"
    assert "Modifier 59" in card["detail"]


def test_add_on_without_its_primary_is_recoded_for_every_payer(service: TestClient) -> None:
    [card] = sign(service, service_request("o1", "64484", "Transforaminal ESI L5-S1"), coverages=COMMERCIAL)
    assert rule(card) == "levels-exceeded"
    assert suggested_code(card) == "64483"


def test_discharge_names_the_right_code_for_the_claim_without_a_suggestion(service: TestClient) -> None:
    injection = procedure(
        "p1",
        "62323",
        "2026-11-27T09:30:00-05:00",
        encounter="Encounter/e1",
        text="Selective nerve root block right L5-S1 under fluoroscopy",
    )
    request = hook_request("encounter-discharge", {"encounterId": "e1"}, procedures=[injection], coverages=MEDICARE)
    [card] = family(post(service, "epidural-encounter-discharge", request))
    assert rule(card) == "code-approach-mismatch"
    assert "bill 64483" in card["summary"]
    assert "suggestions" not in card


def test_discharge_flags_a_forbidden_modifier(service: TestClient) -> None:
    injection = procedure(
        "p1",
        "62323",
        "2026-11-27T09:30:00-05:00",
        encounter="Encounter/e1",
        text="62323-50 lumbar interlaminar ESI L4-L5 under fluoroscopy",
    )
    request = hook_request("encounter-discharge", {"encounterId": "e1"}, procedures=[injection], coverages=MEDICARE)
    [card] = family(post(service, "epidural-encounter-discharge", request))
    assert rule(card) == "modifier-invalid"


def test_discharge_of_a_correct_injection_gets_no_card_from_these_rules(service: TestClient) -> None:
    injection = procedure(
        "p1",
        "62323",
        "2026-11-27T09:30:00-05:00",
        encounter="Encounter/e1",
        text="Lumbar interlaminar ESI L4-L5 under fluoroscopy",
    )
    request = hook_request("encounter-discharge", {"encounterId": "e1"}, procedures=[injection], coverages=MEDICARE)
    assert family(post(service, "epidural-encounter-discharge", request)) == []


def test_transforaminal_words_beside_the_62323_descriptor_still_flag_the_approach(service: TestClient) -> None:
    order = service_request("o1", "62323", "Transforaminal ESI left L4-L5 under fluoroscopy", occurrence="2026-12-03")
    order["code"]["coding"][0]["display"] = "Injection, interlaminar or caudal epidural, lumbar or sacral; with imaging"
    cards = post(service, "epidural-order-sign", order_sign(order, coverages=MEDICARE))["cards"]
    approach = [card for card in cards if card["source"]["topic"]["code"] == "code-approach-mismatch"]
    assert len(approach) == 1
    assert suggested_code(approach[0]) == "64483"


def test_imaging_and_approach_of_one_order_are_one_card_with_one_code(service: TestClient) -> None:
    order = service_request("o1", "62322", "Transforaminal ESI left L4-L5 under fluoroscopy", occurrence="2026-12-03")
    cards = post(service, "epidural-order-sign", order_sign(order, coverages=MEDICARE))["cards"]
    coding = [card for card in cards if card["source"]["topic"]["code"].startswith(("code-", "imaging-"))]
    [card] = coding
    assert rule(card) == "code-approach-mismatch"
    assert "the order says fluoroscopy guidance" in card["detail"]
    assert suggested_code(card) == "64483"
    assert len(card["suggestions"]) == 1

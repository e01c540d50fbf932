"""The diagnosis rules over HTTP: whole hook requests in, diagnosis cards and their suggested order updates out."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from fhir_mappings.code_systems import ICD_10_CM
from plugin.policies.catalog import load_catalog
from plugin.sandbox.resources import (
    collection,
    condition,
    coverage,
    hook_request,
    order_sign,
    procedure,
    service_request,
    valid,
)
from tests.cards import rule_ids

LUMBAR_ESI = "Lumbar interlaminar epidural steroid injection L4-L5 under fluoroscopy"
MEDICARE = [coverage("cov1", sopt="1", payor="Medicare Part B")]


def lumbar_order(*reasons: tuple[str, str], **extra: Any) -> dict[str, Any]:
    return service_request("o1", "62323", LUMBAR_ESI, occurrence="2026-12-03", reasons=reasons, **extra)


def post(service: TestClient, service_id: str, request: dict[str, Any]) -> dict[str, Any]:
    response = service.post(f"/cds-services/{service_id}", json=request)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def diagnosis_rules(body: dict[str, Any]) -> list[str]:
    return [rule for rule in rule_ids(body) if rule.startswith("diagnosis-")]


def card(body: dict[str, Any], rule: str) -> dict[str, Any]:
    [found] = [c for c in body["cards"] if c["source"]["topic"]["code"] == rule]
    return found


def suggested_order(found: dict[str, Any], position: int = 0) -> dict[str, Any]:
    [action] = found["suggestions"][position]["actions"]
    assert action["type"] == "update"
    resource: dict[str, Any] = action["resource"]
    return valid(resource)


def reason_codes(resource: dict[str, Any]) -> list[str]:
    return [
        coding["code"]
        for concept in resource.get("reasonCode", [])
        for coding in concept["coding"]
        if coding["system"] == ICD_10_CM
    ]


def test_correct_order_gets_no_diagnosis_card(service: TestClient) -> None:
    request = order_sign(
        lumbar_order(("M51.16", "Intervertebral disc disorders with radiculopathy, lumbar region")),
        conditions=[condition("c1", "M51.16", "Intervertebral disc disorders with radiculopathy, lumbar region")],
        coverages=MEDICARE,
    )
    assert diagnosis_rules(post(service, "epidural-order-sign", request)) == []


def test_order_without_diagnosis_is_offered_the_condition_on_record(service: TestClient) -> None:
    request = order_sign(
        lumbar_order(),
        conditions=[condition("c1", "M51.16", "Lumbar disc herniation with radiculopathy")],
        coverages=MEDICARE,
    )
    body = post(service, "epidural-order-sign", request)
    assert diagnosis_rules(body) == ["diagnosis-missing"]
    resource = suggested_order(card(body, "diagnosis-missing"))
    assert reason_codes(resource) == ["M51.16"]
    assert resource["reasonReference"] == [{"reference": "Condition/c1"}]


def test_category_code_is_replaced_by_the_billable_child_on_record(service: TestClient) -> None:
    request = order_sign(
        lumbar_order(("M54.4", "Lumbago with sciatica")),
        conditions=[condition("c1", "M54.41", "Lumbago with sciatica, right side")],
    )
    body = post(service, "epidural-order-sign", request)
    assert diagnosis_rules(body) == ["diagnosis-invalid"]
    found = card(body, "diagnosis-invalid")
    assert [suggestion["label"].split()[1] for suggestion in found["suggestions"]] == ["M54.41", "M54.40", "M54.42"]
    assert reason_codes(suggested_order(found)) == ["M54.41"]


def test_low_back_pain_on_order_select_is_replaced_by_the_radiculopathy_on_record(service: TestClient) -> None:
    request = hook_request(
        "order-select",
        {
            "draftOrders": collection([lumbar_order(("M54.50", "Low back pain, unspecified"))]),
            "selections": ["ServiceRequest/o1"],
        },
        conditions=[condition("c1", "M51.17", "Intervertebral disc disorders with radiculopathy, lumbosacral region")],
    )
    body = post(service, "epidural-order-select", request)
    assert diagnosis_rules(body) == ["diagnosis-nonspecific"]
    resource = suggested_order(card(body, "diagnosis-nonspecific"))
    assert reason_codes(resource) == ["M51.17"]


def test_thoracic_root_disorder_on_a_lumbar_injection_conflicts(service: TestClient) -> None:
    request = order_sign(
        lumbar_order(("G54.3", "Thoracic root disorders, not elsewhere classified")),
        conditions=[condition("c1", "M51.16", "Intervertebral disc disorders with radiculopathy, lumbar region")],
    )
    body = post(service, "epidural-order-sign", request)
    assert diagnosis_rules(body) == ["diagnosis-conflict"]
    assert reason_codes(suggested_order(card(body, "diagnosis-conflict"))) == ["M51.16"]


def test_medicare_does_not_cover_spondylosis_without_radiculopathy(service: TestClient) -> None:
    request = order_sign(
        lumbar_order(("M47.816", "Spondylosis without myelopathy or radiculopathy, lumbar region")),
        conditions=[condition("c2", "M48.062", "Spinal stenosis, lumbar region with neurogenic claudication")],
        coverages=MEDICARE,
    )
    body = post(service, "epidural-order-sign", request)
    assert diagnosis_rules(body) == ["diagnosis-not-covered"]
    found = card(body, "diagnosis-not-covered")
    assert found["links"][0]["label"] == load_catalog().policies["medicare-esi-lcd"].title
    assert "verified" in found["detail"]
    assert reason_codes(suggested_order(found)) == ["M47.816", "M48.062"]


def test_discharge_flags_a_performed_injection_coded_with_a_category(service: TestClient) -> None:
    performed = procedure(
        "p1",
        "62323",
        "2026-11-27",
        encounter="Encounter/e1",
        reasonCode=[{"coding": [{"system": ICD_10_CM, "code": "M54.4", "display": "Lumbago with sciatica"}]}],
    )
    request = hook_request("encounter-discharge", {"encounterId": "e1"}, procedures=[performed])
    body = post(service, "epidural-encounter-discharge", request)
    assert "diagnosis-invalid" in diagnosis_rules(body)
    found = card(body, "diagnosis-invalid")
    assert "M54.41" in found["detail"]
    assert "suggestions" not in found  # a performed Procedure is not a draft order


def test_order_is_still_checked_when_conditions_cannot_be_read(service: TestClient) -> None:
    request = order_sign(lumbar_order(), coverages=MEDICARE)
    request["prefetch"]["conditions"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    body = post(service, "epidural-order-sign", request)
    assert diagnosis_rules(body) == ["diagnosis-missing"]
    assert "data-incomplete" in rule_ids(body)
    assert "suggestions" not in card(body, "diagnosis-missing")

"""The imaging rules over HTTP: bundled guidance orders at signing, archived images at discharge."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from plugin.sandbox.resources import coverage, hook_request, imaging_study, order_sign, procedure, service_request
from tests.cards import rule_ids

LUMBAR_ESI = "Lumbar interlaminar epidural steroid injection L4-L5"
MEDICARE = [coverage("cov1", sopt="1", payor="Medicare Part B")]
ENCOUNTER = "Encounter/e1"


def post(service: TestClient, service_id: str, request: dict[str, Any]) -> dict[str, Any]:
    response = service.post(f"/cds-services/{service_id}", json=request)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def card(body: dict[str, Any], rule: str) -> dict[str, Any]:
    [found] = [c for c in body["cards"] if c["source"]["topic"]["code"] == rule]
    return found


def discharge(**prefetch: Any) -> dict[str, Any]:
    performed = procedure("esi-1", "62323", "2026-11-20T09:30:00-05:00", encounter=ENCOUNTER, text=LUMBAR_ESI)
    return hook_request("encounter-discharge", {"encounterId": "e1"}, procedures=[performed], **prefetch)


def test_order_sign_suggests_deleting_a_fluoroscopy_order_beside_62323(service: TestClient) -> None:
    injection = service_request("esi-1", "62323", LUMBAR_ESI, occurrence="2026-12-03")
    fluoroscopy = service_request("fluoro-1", "77003", "Fluoroscopic guidance for spinal injection")
    body = post(service, "epidural-order-sign", order_sign(injection, fluoroscopy, coverages=MEDICARE))
    bundled = card(body, "imaging-guidance-bundled")
    assert bundled["indicator"] == "warning"
    [suggestion] = bundled["suggestions"]
    [action] = suggestion["actions"]
    assert action["type"] == "delete"
    assert action["resourceId"] == "ServiceRequest/fluoro-1"
    assert "code-imaging-mismatch" not in rule_ids(body)


def test_discharge_of_62323_without_images_is_critical_for_medicare(service: TestClient) -> None:
    body = post(service, "epidural-encounter-discharge", discharge(coverages=MEDICARE))
    missing = card(body, "imaging-evidence-missing")
    assert missing["indicator"] == "critical"
    assert "no imaging study on record is linked" in missing["detail"]


def test_discharge_of_62323_with_archived_fluoroscopy_has_no_evidence_card(service: TestClient) -> None:
    images = [imaging_study("rf-1", "RF", "2026-11-20T09:35:00-05:00", encounter=ENCOUNTER)]
    body = post(service, "epidural-encounter-discharge", discharge(coverages=MEDICARE, imaging=images))
    assert "imaging-evidence-missing" not in rule_ids(body)


def test_discharge_names_an_ultrasound_study_that_is_not_evidence(service: TestClient) -> None:
    images = [imaging_study("us-1", "US", "2026-11-20T09:35:00-05:00", encounter=ENCOUNTER)]
    body = post(service, "epidural-encounter-discharge", discharge(coverages=MEDICARE, imaging=images))
    detail = card(body, "imaging-evidence-missing")["detail"]
    assert "an ultrasound study (modality US)" in detail
    assert detail.endswith("Record: Procedure/esi-1, ImagingStudy/us-1")

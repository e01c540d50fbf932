"""Prior authorization through the HTTP service: who may ask for it (only a policy chosen for the patient's payer),
as the coverage review's records 12 (TRICARE) and 13 (self-pay) send it."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from plugin.sandbox.resources import coverage, order_sign, service_request
from tests.cards import rule_ids

RADICULOPATHY = [("M54.16", "Radiculopathy, lumbar region")]
DISC = [("M51.16", "Intervertebral disc disorders with radiculopathy, lumbar region")]
TFESI = "Right L4-L5 transforaminal epidural steroid injection under fluoroscopy"
OFFICE = {
    "resourceType": "Location",
    "id": "clinic",
    "status": "active",
    "name": "Spine and Pain Center",
    "type": [
        {
            "coding": [
                {
                    "system": "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set",
                    "code": "11",
                }
            ]
        }
    ],
    "address": {"city": "Fayetteville", "state": "NC", "country": "US"},
}
TRICARE = coverage(
    "cov-1",
    payor="TRICARE East (Humana Military)",
    order=1,
    **{"class": [{"type": {"coding": [{"code": "plan"}]}, "value": "TRICARE Prime", "name": "TRICARE Prime"}]},
)


def sign(service: TestClient, request: dict[str, Any]) -> dict[str, Any]:
    response = service.post("/cds-services/epidural-order-sign", json=request)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def tricare_office_tfesi(code: str = "64483", text: str = TFESI) -> dict[str, Any]:
    order = service_request(
        "order-1",
        code,
        text,
        occurrence="2026-12-03",
        reasons=RADICULOPATHY,
        note=[{"text": "PCM referral on file. Failed 8 weeks of physical therapy and naproxen."}],
        contained=[OFFICE],
        locationReference=[{"reference": "#clinic"}],
    )
    return order_sign(order, coverages=[TRICARE])


def test_tricare_gets_no_prior_authorization_card_from_the_default_policy(service: TestClient) -> None:
    assert "prior-auth-required" not in rule_ids(sign(service, tricare_office_tfesi()))


def test_a_self_pay_patient_gets_no_prior_authorization_card(service: TestClient) -> None:
    order = service_request(
        "order-1",
        "62323",
        "Lumbar interlaminar epidural steroid injection L4-L5 under fluoroscopy",
        occurrence="2026-12-03",
        reasons=DISC,
        note=[{"text": "Self-pay, cash price quoted and accepted. Failed 8 weeks of physical therapy and ibuprofen."}],
    )
    assert "prior-auth-required" not in rule_ids(sign(service, order_sign(order, coverages=[])))


def test_a_cigna_member_still_gets_evicores_prior_authorization_card(service: TestClient) -> None:
    order = service_request("order-1", "64483", TFESI, occurrence="2026-12-03", reasons=RADICULOPATHY)
    body = sign(service, order_sign(order, coverages=[coverage("cov-1", payor="Cigna Healthcare")]))
    [card] = [card for card in body["cards"] if card["source"]["topic"]["code"] == "prior-auth-required"]
    assert card["summary"] == "Prior authorization from eviCore for this ESI"


def test_the_default_policys_imaging_card_does_not_name_the_plan_as_the_rule_setter(service: TestClient) -> None:
    body = sign(service, tricare_office_tfesi("62322", "Lumbar interlaminar epidural steroid injection L4-L5"))
    [card] = [card for card in body["cards"] if card["source"]["topic"]["code"] == "imaging-required"]
    assert card["summary"].startswith("The typical commercial rule covers 62322 only with fluoroscopy or CT guidance")
    assert "in place of the plan's own policy" in card["detail"]


def test_with_no_coverage_the_caveat_asks_to_record_it_rather_than_map_a_plan(service: TestClient) -> None:
    order = service_request("order-1", "62322", "Lumbar interlaminar ESI L4-L5", occurrence="2026-12-03", reasons=DISC)
    body = sign(service, order_sign(order, coverages=[]))
    [card] = [card for card in body["cards"] if card["source"]["topic"]["code"] == "imaging-required"]
    assert card["summary"].startswith("The typical commercial rule covers 62322")
    assert "No active coverage is on record: this card applies the typical commercial rule" in card["detail"]
    assert "since no plan's own policy is known" in card["detail"]
    assert "If the patient has coverage, record it" in card["detail"]
    assert "in place of the plan's own policy" not in card["detail"]

"""Prior authorization through the HTTP service: who may ask for it (only a policy chosen for the patient's payer,
review records 12 and 13) and when an authorization already on file answers it (records 01 and 20)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from plugin.sandbox.resources import appointment, collection, coverage, hook_request, order_sign, service_request
from tests.cards import rule_ids
from tests.fhir_mappings.test_authorizations import claim_response

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


# An authorization already on file (review defect 8), as records 01 (Anthem/Carelon) and 20 (Humana Medicare
# Advantage) send it: a contained PAS-style ClaimResponse the order's supportingInfo names, and the number in its note.
ANTHEM = [coverage("cov-1", payor="Anthem Blue Cross Blue Shield", order=1)]
HUMANA_MA = [coverage("cov-1", payor="Humana Medicare Advantage PPO", sopt="111", order=1)]
LEFT_TFESI = "Left L5-S1 transforaminal epidural steroid injection under fluoroscopy"
SACRAL_DISC = [("M51.17", "Intervertebral disc disorders with radiculopathy, lumbosacral region")]


def carelon_order(*notes: str, response: dict[str, Any] | None = None, on: str = "2026-12-03") -> dict[str, Any]:
    elements: dict[str, Any] = {"note": [{"text": note} for note in notes]}
    if response is not None:
        elements |= {"supportingInfo": [{"reference": "#pa-1"}], "contained": [response]}
    return service_request("order-1", "64483", LEFT_TFESI, occurrence=on, reasons=SACRAL_DISC, **elements)


def prior_auth_cards(service: TestClient, request: dict[str, Any], hook: str = "epidural-order-sign") -> list[Any]:
    response = service.post(f"/cds-services/{hook}", json=request)
    assert response.status_code == 200
    return [card for card in response.json()["cards"] if card["source"]["topic"]["code"] == "prior-auth-required"]


RECORD_01_NOTE = (
    "Carelon prior authorization approved 11/24/2026, auth # CA-2026-558812, 64483 x1, valid through 02/21/2027."
)


def test_an_order_carrying_an_approved_claim_response_gets_no_prior_authorization_card(service: TestClient) -> None:
    order = carelon_order(RECORD_01_NOTE, response=claim_response())
    assert prior_auth_cards(service, order_sign(order, coverages=ANTHEM)) == []


def test_the_claim_response_alone_is_enough(service: TestClient) -> None:
    order = carelon_order(response=claim_response())
    assert prior_auth_cards(service, order_sign(order, coverages=ANTHEM)) == []


def test_the_number_in_the_note_alone_is_enough(service: TestClient) -> None:
    order = carelon_order("Carelon prior auth approved, auth # CA-2026-558812")
    assert prior_auth_cards(service, order_sign(order, coverages=ANTHEM)) == []


def test_a_medicare_advantage_order_with_its_authorization_gets_no_card(service: TestClient) -> None:
    order = service_request(
        "order-1",
        "64483",
        "Right L4-L5 transforaminal epidural steroid injection under fluoroscopy",
        occurrence="2026-12-03",
        reasons=RADICULOPATHY,
        note=[{"text": "Humana authorization approved 11/30/2026, reference 228819341, 64483 x1."}],
        supportingInfo=[{"reference": "#pa-1"}],
        contained=[claim_response(preAuthRef="228819341", insurer={"display": "Humana"})],
    )
    assert prior_auth_cards(service, order_sign(order, coverages=HUMANA_MA)) == []


def test_a_claim_response_in_the_draft_bundle_is_found_by_its_full_url(service: TestClient) -> None:
    order = carelon_order()
    order["supportingInfo"] = [{"reference": "urn:uuid:5f0c2d3e-8d7b-4a8e-b1a5-3d2f1e0c9b8a"}]
    request = order_sign(order, coverages=ANTHEM)
    request["context"]["draftOrders"]["entry"] = [
        {"fullUrl": "urn:uuid:order-1", "resource": order},
        {"fullUrl": "urn:uuid:5f0c2d3e-8d7b-4a8e-b1a5-3d2f1e0c9b8a", "resource": claim_response()},
    ]
    assert prior_auth_cards(service, request) == []


def test_a_pending_authorization_still_gets_the_card(service: TestClient) -> None:
    order = carelon_order("Carelon auth pending, ref # CA-2026-558812", response=claim_response(outcome="queued"))
    [card] = prior_auth_cards(service, order_sign(order, coverages=ANTHEM))
    assert (card["indicator"], card["summary"]) == ("info", "Prior authorization from Carelon for this ESI")


def test_an_authorization_that_ends_before_the_session_gets_a_warning_naming_it(service: TestClient) -> None:
    order = carelon_order(RECORD_01_NOTE, response=claim_response(), on="2027-03-05")
    [card] = prior_auth_cards(service, order_sign(order, coverages=ANTHEM))
    assert card["indicator"] == "warning"
    assert card["summary"] == "Prior authorization CA-2026-558812 ended 2027-02-21, before this ESI on 2027-03-05"
    assert card["detail"].endswith("Record: ServiceRequest/order-1, ServiceRequest/order-1#pa-1")
    assert [reason["display"] for reason in card["overrideReasons"]] == ["Authorization is on file"]


def test_a_booking_based_on_an_authorized_order_gets_no_card(service: TestClient) -> None:
    order = carelon_order(response=claim_response())
    order["status"] = "active"
    proposed = appointment(
        "appt-new", "64483", "2026-12-03T09:00:00-05:00", status="proposed", based_on="ServiceRequest/order-1"
    )
    request = hook_request(
        "appointment-book", {"appointments": collection([proposed])}, coverages=ANTHEM, appointments=[order]
    )
    assert prior_auth_cards(service, request, "epidural-appointment-book") == []
    unauthorized = hook_request(
        "appointment-book",
        {"appointments": collection([proposed])},
        coverages=ANTHEM,
        appointments=[carelon_order() | {"status": "active"}],
    )
    assert len(prior_auth_cards(service, unauthorized, "epidural-appointment-book")) == 1

"""Prior authorizations an order carries, as EHRs send them: a ClaimResponse it refers to (contained, or beside it in
the request), and an authorization number its notes affirm (review defect 8)."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from fhir_mappings.authorizations import read_authorizations, stated_authorizations
from fhir_mappings.bundles import by_full_url, index_by_reference, resources_in
from fhir_mappings.facts import Authorization, Evidence
from fhir_mappings.readers import read_appointments, read_draft_orders
from plugin.sandbox.resources import appointment, collection, service_request

CPT = "http://www.ama-assn.org/go/cpt"
X12_306 = "https://codesystem.x12.org/005010/306"
PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
TFESI = "Left L5-S1 transforaminal epidural steroid injection under fluoroscopy"


def claim_response(id: str = "pa-1", **changes: Any) -> dict[str, Any]:
    """A PAS-style answer to a prior authorization request, approved, as review record 01 carries it."""
    resource: dict[str, Any] = {
        "resourceType": "ClaimResponse",
        "id": id,
        "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "use": "preauthorization",
        "patient": {"reference": "Patient/p1"},
        "created": "2026-11-24",
        "insurer": {"display": "Carelon Medical Benefits Management"},
        "outcome": "complete",
        "disposition": "Approved: 64483 x1, left L5-S1, valid 2026-11-24 through 2027-02-21",
        "preAuthRef": "CA-2026-558812",
        "preAuthPeriod": {"start": "2026-11-24", "end": "2027-02-21"},
    }
    resource.update(changes)
    return resource


def authorized_order(*notes: str, response: dict[str, Any] | None = None, **elements: Any) -> dict[str, Any]:
    contained = [response] if response is not None else []
    refers = [{"reference": "#pa-1", "display": "Carelon authorization CA-2026-558812"}] if contained else []
    written: dict[str, Any] = {
        "note": [{"text": note} for note in notes],
        "supportingInfo": refers,
        "contained": contained,
    }
    return service_request("order-1", "64483", TFESI, occurrence="2026-12-03", **(written | elements))


def read(order: dict[str, Any], beside: dict[str, dict[str, Any]] | None = None) -> tuple[Authorization, ...]:
    injections, _ = read_draft_orders([order], beside=beside)
    [fact] = injections.facts
    return fact.authorizations


def review_action(code: str, number: str | None = None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {
            "url": PAS + "extension-reviewActionCode",
            "valueCodeableConcept": {"coding": [{"system": X12_306, "code": code}]},
        }
    ]
    if number:
        parts.append({"url": "number", "valueString": number})
    return {
        "extension": [{"url": PAS + "extension-reviewAction", "extension": parts}],
        "category": {"text": "submitted"},
    }


def test_a_contained_approved_claim_response_is_an_authorization_with_its_period() -> None:
    [found] = read(authorized_order(response=claim_response()))
    assert found == Authorization(
        "ServiceRequest/order-1#pa-1", "CA-2026-558812", date(2026, 11, 24), date(2027, 2, 21), (), Evidence.STRUCTURED
    )
    assert found.covers(date(2026, 12, 3))
    assert not found.covers(date(2027, 2, 22))


def test_a_claim_response_beside_the_order_in_the_draft_bundle_is_resolved_by_id_or_full_url() -> None:
    response = claim_response()
    by_id = authorized_order(supportingInfo=[{"reference": "ClaimResponse/pa-1"}])
    [found] = read(by_id, index_by_reference([response]))
    assert found.source == "ClaimResponse/pa-1"

    drafts = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:0b6f1d7e-1c2a-4f51-9a51-5d8b1c6e2f10", "resource": response},
            {"fullUrl": "urn:uuid:order", "resource": authorized_order()},
        ],
    }
    by_uuid = authorized_order(supportingInfo=[{"reference": "urn:uuid:0b6f1d7e-1c2a-4f51-9a51-5d8b1c6e2f10"}])
    [found] = read(by_uuid, by_full_url(drafts))
    assert found.number == "CA-2026-558812"


def test_the_orders_insurance_may_name_the_claim_response_too() -> None:
    order = authorized_order(response=claim_response())
    order["insurance"], order["supportingInfo"] = order["supportingInfo"], []
    assert [found.number for found in read(order)] == ["CA-2026-558812"]


@pytest.mark.parametrize(
    "changes",
    [
        {"outcome": "queued"},
        {"outcome": "error"},
        {"use": "claim"},
        {"status": "cancelled"},
        {"preAuthRef": None},
    ],
    ids=["queued", "error", "a claim, not a preauthorization", "cancelled", "no reference"],
)
def test_a_claim_response_that_is_no_approval_is_no_authorization(changes: dict[str, Any]) -> None:
    assert read(authorized_order(response=claim_response(**changes))) == ()


def test_a_pas_response_decides_per_line_by_its_review_action() -> None:
    claim = {
        "resourceType": "Claim",
        "id": "req-1",
        "item": [
            {"sequence": 1, "productOrService": {"coding": [{"system": CPT, "code": "64483"}]}},
            {"sequence": 2, "productOrService": {"coding": [{"system": CPT, "code": "64484"}]}},
        ],
    }
    response = claim_response(
        request={"reference": "#req-1"},
        contained=[claim],
        item=[
            {
                "itemSequence": 1,
                "adjudication": [review_action("A1", number="CA-LINE-1")],
                "extension": [
                    {
                        "url": PAS + "extension-itemPreAuthPeriod",
                        "valuePeriod": {"start": "2026-12-01", "end": "2026-12-31"},
                    }
                ],
            },
            {"itemSequence": 2, "adjudication": [review_action("A3")]},
        ],
    )
    [found] = read(authorized_order(response=response))
    assert (found.number, found.codes, found.start, found.end) == (
        "CA-LINE-1",
        ("64483",),
        date(2026, 12, 1),
        date(2026, 12, 31),
    )


@pytest.mark.parametrize("action", ["A3", "A4", "C", "CT"])
def test_a_response_whose_every_line_is_not_certified_pended_or_cancelled_authorizes_nothing(action: str) -> None:
    response = claim_response(item=[{"itemSequence": 1, "adjudication": [review_action(action)]}])
    assert read(authorized_order(response=response)) == ()


def test_an_added_line_names_its_own_code() -> None:
    response = claim_response(addItem=[{"productOrService": {"coding": [{"system": CPT, "code": "62323"}]}}])
    [found] = read(authorized_order(response=response))
    assert found.codes == ("62323",)


def test_an_authorization_number_in_the_note_is_a_stated_authorization() -> None:
    [found] = read(authorized_order("Carelon prior auth approved, auth # CA-2026-558812."))
    assert (found.source, found.number, found.evidence) == ("ServiceRequest/order-1", "CA-2026-558812", Evidence.STATED)


def test_a_note_repeating_the_claim_responses_number_is_that_authorization_read_from_the_payers_record() -> None:
    note = "Carelon prior auth approved, auth # CA-2026-558812."
    [found] = read(authorized_order(note, response=claim_response(preAuthPeriod={"end": "2026-11-30"})))
    assert (found.evidence, found.end) == (Evidence.STRUCTURED, date(2026, 11, 30))


def test_review_record_01s_note_gives_the_number_its_code_and_its_end() -> None:
    note = "Carelon prior authorization approved 11/24/2026, auth # CA-2026-558812, 64483 x1, valid through 02/21/2027."
    [found] = stated_authorizations(note, "ServiceRequest/order-1")
    assert (found.number, found.codes, found.start, found.end) == (
        "CA-2026-558812",
        ("64483",),
        None,
        date(2027, 2, 21),
    )


@pytest.mark.parametrize(
    ("note", "number", "start", "end"),
    [
        ("Humana authorization approved 11/30/2026, reference 228819341, 64483 x1.", "228819341", None, None),
        ("Prior authorization approved by eviCore, ref 228819341", "228819341", None, None),
        ("PA# A77120 valid 12/01/2026 - 02/28/2027", "A77120", date(2026, 12, 1), date(2027, 2, 28)),
        ("Auth no. 55667 approved, valid Dec 1, 2026 to Mar 1, 2027.", "55667", date(2026, 12, 1), date(2027, 3, 1)),
        ("Prior auth obtained: # 887766, exp 1/15/27", "887766", None, date(2027, 1, 15)),
    ],
)
def test_authorization_numbers_as_notes_write_them(
    note: str, number: str, start: date | None, end: date | None
) -> None:
    [found] = stated_authorizations(note, "ServiceRequest/o1")
    assert (found.number, found.start, found.end) == (number, start, end)


@pytest.mark.parametrize(
    "note",
    [
        "Auth pending, ref 12345",
        "Carelon auth # CA-2026-558812 pending",
        "Prior auth not yet obtained, ref # 5567",
        "PA denied, ref # 99887",
        "PA # 99887 denied, peer to peer scheduled",
        "Will request prior auth, ref # 4455",
        "Auth request # 778899 submitted 11/20",
        "No prior auth on file. MRN: 00123456",
        "Prior auth required. MRN: 00123456",
        "Previous ESI auth # 445566 (June)",
        "Pittsburgh, PA 15213",
        "Prior authorization for 64483",
    ],
)
def test_words_that_state_no_approved_authorization_count_for_none(note: str) -> None:
    assert stated_authorizations(note, "ServiceRequest/o1") == []


def test_a_booking_based_on_an_authorized_order_carries_its_authorization() -> None:
    order = authorized_order(response=claim_response())
    booking = appointment(
        "appt-1", "64483", "2026-12-03T09:00:00-05:00", status="proposed", based_on="ServiceRequest/order-1"
    )
    [fact] = read_appointments([booking], index_by_reference([order])).facts
    assert [found.number for found in fact.authorizations] == ["CA-2026-558812"]


def test_a_booking_comment_may_state_the_authorization() -> None:
    booking = appointment("appt-1", "64483", "2026-12-03T09:00:00-05:00", comment="Auth # 228819341 on file")
    [fact] = read_appointments([booking], {}).facts
    assert [found.number for found in fact.authorizations] == ["228819341"]


@pytest.mark.parametrize(
    "broken",
    [
        {"supportingInfo": "#pa-1"},
        {"supportingInfo": [{"reference": 7}]},
        {"supportingInfo": [{"reference": "#pa-1"}], "contained": {"id": "pa-1"}},
        {"supportingInfo": [{"reference": "#pa-1"}], "contained": [claim_response(item="x", addItem=[3])]},
        {
            "supportingInfo": [{"reference": "#pa-1"}],
            "contained": [claim_response(preAuthPeriod="soon", item=[{"itemSequence": [1], "adjudication": {}}])],
        },
        {"insurance": [{"reference": "ClaimResponse/missing"}]},
    ],
)
def test_a_malformed_authorization_costs_neither_the_order_nor_a_reading(broken: dict[str, Any]) -> None:
    order = copy.deepcopy(authorized_order())
    order.update(broken)
    injections, _ = read_draft_orders(list(resources_in(collection([order]))))
    [fact] = injections.facts
    assert fact.code == "64483"
    assert all(found.evidence is Evidence.STRUCTURED for found in fact.authorizations)


def test_read_authorizations_resolves_nothing_it_cannot_see() -> None:
    assert (
        read_authorizations({"supportingInfo": [{"reference": "ClaimResponse/elsewhere"}]}, "ServiceRequest/o", {})
        == ()
    )

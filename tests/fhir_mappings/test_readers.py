from datetime import date
from typing import Any

import pytest

from fhir_mappings.facts import Modality
from fhir_mappings.readers import (
    read_appointments,
    read_conditions,
    read_coverages,
    read_draft_orders,
    read_imaging_studies,
    read_procedures,
)
from plugin.sandbox.resources import appointment, condition, coverage, imaging_study, procedure, service_request


def test_injection_procedure_becomes_a_performed_injection_on_its_own_calendar_day() -> None:
    reading = read_procedures([procedure("p1", "62323", "2026-03-10T23:30:00-05:00")])
    [injection] = reading.performed.facts
    assert injection.code == "62323"
    assert injection.performed_on == date(2026, 3, 10)
    assert injection.source == "Procedure/p1"


def test_an_injection_keeps_the_time_it_began_where_the_record_gives_one() -> None:
    timed = procedure("p1", "64483", "2026-08-10T09:00:00-05:00")
    in_a_period = procedure("p2", "64483", None, performedPeriod={"start": "2026-08-11T13:15:00-05:00"})
    dated = procedure("p3", "64483", "2026-08-12")
    injections = read_procedures([timed, in_a_period, dated]).performed.facts
    assert [i.performed_at.isoformat() if i.performed_at else None for i in injections] == [
        "2026-08-10T09:00:00-05:00",
        "2026-08-11T13:15:00-05:00",
        None,
    ]


def test_other_procedures_are_kept_apart_from_injections() -> None:
    reading = read_procedures([procedure("pt", "97110", "2026-01-10")])
    assert reading.performed.facts == []
    assert [other.codes for other in reading.other] == [("97110",)]


def test_unreadable_resources_are_skipped_with_a_reason_never_raised() -> None:
    garbage: list[Any] = [
        "not an object",
        {
            "resourceType": "Procedure",
            "id": "no-date",
            "status": "completed",
            "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "62323"}]},
        },
        {
            "resourceType": "Procedure",
            "id": "bad-date",
            "status": "completed",
            "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "62323"}]},
            "performedDateTime": "2026-13-45",
        },
        {"resourceType": "Procedure", "id": "wrong-type", "code": "62323"},
        {"resourceType": "Procedure", "id": "no-code", "status": "completed"},
        {"resourceType": "Condition", "id": "misplaced"},
        procedure("good", "62323", "2026-03-10"),
    ]
    reading = read_procedures(garbage)
    assert [fact.source for fact in reading.performed.facts] == ["Procedure/good"]
    assert {skip.source for skip in reading.performed.skipped} == {
        "Procedure #1",
        "Procedure/no-date",
        "Procedure/bad-date",
        "Procedure/wrong-type",
        "Procedure/no-code",
        "Condition/misplaced",
    }


def test_operation_outcome_entries_are_not_counted_as_unreadable() -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "warning", "code": "informational"}]}
    assert read_procedures([outcome]).performed.skipped == []


def test_unknown_elements_are_ignored() -> None:
    resource = procedure("p1", "62323", "2026-03-10")
    resource["_performedDateTime"] = {"extension": []}
    resource["someVendorField"] = {"x": 1}
    assert len(read_procedures([resource]).performed.facts) == 1


def test_code_text_with_modifier_is_read_when_no_coding_is_present() -> None:
    order = service_request("o1", None, "62323-50 lumbar interlaminar ESI")
    injections, _ = read_draft_orders([order])
    [fact] = injections.facts
    assert fact.code == "62323"
    assert fact.modifiers == ("50",)


def test_guidance_order_beside_an_injection_is_a_companion() -> None:
    injections, companions = read_draft_orders(
        [service_request("o1", "62323", "Lumbar ESI L4-L5"), service_request("o2", "77003", "Fluoroscopic guidance")]
    )
    assert [fact.source for fact in injections.facts] == ["ServiceRequest/o1"]
    assert [(fact.source, fact.codes) for fact in companions.facts] == [("ServiceRequest/o2", ("77003",))]


def test_order_reasons_are_normalised_icd10_codes() -> None:
    order = service_request("o1", "62323", "ESI", reasons=[("m5116", "disc disorder")])
    injections, _ = read_draft_orders([order])
    assert injections.facts[0].reason_codes == ("M51.16",)


def test_entered_in_error_conditions_are_dropped_and_resolved_ones_inactive() -> None:
    resolved = condition("c2", "M54.16", "Radiculopathy, lumbar region", clinical_status="resolved")
    erroneous = condition("c3", "M51.17", "Disc disorder")
    erroneous["verificationStatus"] = {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "entered-in-error"}]
    }
    reading = read_conditions([condition("c1", "M51.16", "Disc disorder"), resolved, erroneous])
    assert [(fact.code, fact.active) for fact in reading.facts] == [("M51.16", True), ("M54.16", False)]


@pytest.mark.parametrize(
    ("status", "confirmed", "refuted"),
    [
        (None, True, False),
        ("confirmed", True, False),
        # Uncertain diagnoses are not coded on an outpatient claim (ICD-10-CM Official Guidelines IV.H).
        ("provisional", False, False),
        ("differential", False, False),
        ("unconfirmed", False, False),
        ("refuted", False, True),
    ],
)
def test_only_confirmed_or_unqualified_diagnoses_are_confirmed(
    status: str | None, confirmed: bool, refuted: bool
) -> None:
    resource = condition("c1", "M51.16", "Disc disorder")
    if status is not None:
        resource["verificationStatus"] = {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": status}]
        }
    [fact] = read_conditions([resource]).facts
    assert (fact.confirmed, fact.refuted) == (confirmed, refuted)


def test_imaging_modality_is_read_from_series_and_instances_counted() -> None:
    [study] = read_imaging_studies([imaging_study("i1", "RF", "2026-03-10T10:00:00-05:00", instances=3)]).facts
    assert study.modalities == frozenset({Modality.FLUOROSCOPY})
    assert study.instance_count == 3
    assert study.started_on == date(2026, 3, 10)


def test_coverage_type_and_payor_names_are_read() -> None:
    [fact] = read_coverages([coverage("c1", sopt="121", payor="Medicare Part B")]).facts
    assert fact.type_codes == (("urn:oid:2.16.840.1.113883.3.221.5", "121"),)
    assert fact.payor_names == ("Medicare Part B",)


def test_appointment_code_comes_from_the_order_it_is_based_on() -> None:
    order = service_request("sr1", "64483", "Transforaminal ESI L5-S1", status="active")
    visit = appointment("a1", None, "2026-12-01T09:00:00-05:00", based_on="ServiceRequest/sr1")
    [booked] = read_appointments([visit], {"ServiceRequest/sr1": order}).facts
    assert booked.codes == ("64483",)
    assert booked.on == date(2026, 12, 1)


def test_coded_guidance_order_mentioning_the_epidural_is_still_a_companion() -> None:
    injections, companions = read_draft_orders(
        [service_request("o2", "77003", "Fluoroscopic guidance for epidural injection")]
    )
    assert injections.facts == []
    assert [fact.codes for fact in companions.facts] == [("77003",)]


def test_uncoded_order_whose_words_say_epidural_is_an_injection() -> None:
    injections, _ = read_draft_orders([service_request("o1", None, "Lumbar epidural steroid injection L4-L5")])
    [fact] = injections.facts
    assert fact.code is None
    assert fact.source == "ServiceRequest/o1"


def test_absolute_and_versioned_references_are_read_as_type_and_id() -> None:
    resource = procedure(
        "p1",
        "62323",
        "2026-03-10",
        encounter="https://ehr.example.org/fhir/Encounter/e7",
        reasonReference=[{"reference": "Condition/c1/_history/3"}],
    )
    [injection] = read_procedures([resource]).performed.facts
    assert injection.encounter == "Encounter/e7"
    assert injection.reason_references == ("Condition/c1",)


def test_payer_name_comes_from_the_organization_the_coverage_references() -> None:
    insurance = coverage("c1", payor="ignored")
    insurance["payor"] = [{"reference": "Organization/org-1"}]
    organization = {"resourceType": "Organization", "id": "org-1", "name": "Molina Healthcare of Ohio"}
    [fact] = read_coverages([insurance], {"Organization/org-1": organization}).facts
    assert fact.payor_names == ("Molina Healthcare of Ohio",)


def test_payer_identifiers_and_address_states_come_from_the_organization() -> None:
    insurance = coverage("c1", payor="ignored")
    insurance["payor"] = [{"reference": "Organization/org-1"}]
    organization = {
        "resourceType": "Organization",
        "id": "org-1",
        "name": "Molina Healthcare of Ohio",
        "identifier": [{"system": "urn:payer-id", "value": " MOLINA-OH "}, {"system": "urn:naic"}],
        "address": [{"state": "oh"}, {"city": "Columbus"}],
    }
    [fact] = read_coverages([insurance], {"Organization/org-1": organization}).facts
    assert fact.payer_identifiers == ("MOLINA-OH",)
    assert fact.payer_states == ("OH",)


def test_an_appointments_local_visit_types_are_kept_for_the_site_map() -> None:
    visit = appointment("a1", None, "2026-12-01T09:00:00-05:00")
    visit["appointmentType"] = {
        "coding": [{"system": "urn:clinic:visit-types", "code": "PAIN-17"}],
        "text": "ESI LUMBAR",
    }
    visit["specialty"] = [{"coding": [{"system": "urn:clinic:specialty", "code": "PM", "display": "Pain medicine"}]}]
    [booked] = read_appointments([visit], {}).facts
    assert booked.codes == ()
    assert booked.type_codes == (("urn:clinic:visit-types", "PAIN-17"), ("urn:clinic:specialty", "PM"))
    assert booked.type_texts == ("ESI LUMBAR", "Pain medicine")

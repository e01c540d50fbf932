"""Facts stated where the record holds them reach the cards: procedure notes, drugs given, encounter diagnoses and
order reasons, each over HTTP as an EHR sends them."""

from __future__ import annotations

import base64
from typing import Any

from fastapi.testclient import TestClient

from fhir_mappings.code_systems import ICD_10_CM
from plugin.sandbox.resources import (
    EXAMPLE_PATIENT,
    condition,
    coverage,
    hook_request,
    order_sign,
    procedure,
    service_request,
    valid,
)
from tests.cards import rule_ids

DISCHARGE = "epidural-encounter-discharge"
NOTE = (
    "L4-L5 interlaminar ESI under fluoroscopy. 80 mg triamcinolone in 4 mL injected. No complications. "
    "Pain 7/10 before, 2/10 after."
)


def _post(service: TestClient, service_id: str, request: dict[str, Any]) -> dict[str, Any]:
    response = service.post(f"/cds-services/{service_id}", json=request)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _checklist(body: dict[str, Any]) -> str:
    cards = body["cards"]
    return "".join(card["detail"] for card in cards if card["source"]["topic"]["code"] == "documentation-incomplete")


def _injection(**extra: Any) -> dict[str, Any]:
    return procedure("p1", "62323", "2026-11-27T10:00:00Z", encounter="Encounter/e1", **extra)


def _discharge(service: TestClient, injection: dict[str, Any], **prefetch: Any) -> dict[str, Any]:
    request = hook_request("encounter-discharge", {"encounterId": "e1"}, procedures=[injection], **prefetch)
    return _post(service, DISCHARGE, request)


def test_drug_and_response_affirmed_in_the_procedure_note_meet_the_checklist(service: TestClient) -> None:
    before = _checklist(_discharge(service, _injection()))
    after = _checklist(_discharge(service, _injection(note=[{"text": NOTE}])))

    assert "no drug recorded" in before
    assert "no outcome" in before
    assert "no drug recorded" not in after
    assert "no outcome" not in after


def test_a_negated_drug_in_the_note_does_not_meet_the_checklist(service: TestClient) -> None:
    note = [{"text": "Procedure aborted. No steroid was injected."}]

    assert "no drug recorded" in _checklist(_discharge(service, _injection(note=note)))


def test_a_drug_given_as_part_of_the_procedure_meets_the_drug_item(service: TestClient) -> None:
    given = valid(
        {
            "resourceType": "MedicationAdministration",
            "id": "ma1",
            "status": "completed",
            "medicationCodeableConcept": {"text": "Triamcinolone acetonide 40 mg/mL"},
            "subject": {"reference": f"Patient/{EXAMPLE_PATIENT}"},
            "partOf": [{"reference": "Procedure/p1"}],
            "effectiveDateTime": "2026-11-27T10:05:00Z",
            "dosage": {"dose": {"value": 80, "unit": "mg"}},
        }
    )

    body = _discharge(service, _injection(), medication_administrations=[given])

    assert "no drug recorded" not in _checklist(body)
    assert "data-incomplete" not in rule_ids(body)


def test_a_procedure_note_document_is_read_with_the_procedure(service: TestClient) -> None:
    document = valid(
        {
            "resourceType": "DocumentReference",
            "id": "d1",
            "status": "current",
            "subject": {"reference": f"Patient/{EXAMPLE_PATIENT}"},
            "type": {"coding": [{"system": "http://loinc.org", "code": "28570-0"}]},
            "content": [
                {"attachment": {"contentType": "text/plain", "data": base64.b64encode(NOTE.encode()).decode()}}
            ],
            "context": {"related": [{"reference": "Procedure/p1"}]},
        }
    )

    checklist = _checklist(_discharge(service, _injection(), procedure_notes=[document]))

    assert "no drug recorded" not in checklist
    assert "no outcome" not in checklist
    assert "no spinal level" not in checklist


def test_missing_notes_and_drugs_are_said_in_a_data_incomplete_card(service: TestClient) -> None:
    request = hook_request("encounter-discharge", {"encounterId": "e1"}, procedures=[_injection()])
    del request["prefetch"]["medicationAdministrations"], request["prefetch"]["procedureNotes"]

    [card] = [card for card in _post(service, DISCHARGE, request)["cards"] if "could not be read" in card["detail"]]

    assert "Drugs given could not be read" in card["detail"]


def _pain(id: str, at: str, value: float, encounter: str = "Encounter/e1") -> dict[str, Any]:
    return valid(
        {
            "resourceType": "Observation",
            "id": id,
            "status": "final",
            "subject": {"reference": f"Patient/{EXAMPLE_PATIENT}"},
            "encounter": {"reference": encounter},
            "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
            "effectiveDateTime": at,
            "valueQuantity": {"value": value, "unit": "{score}"},
        }
    )


def test_pain_scores_charted_before_and_after_the_injection_meet_the_checklist(service: TestClient) -> None:
    unscored = [{"text": "L4-L5 interlaminar ESI under fluoroscopy. No complications."}]
    charted = [_pain("pre", "2026-11-27T09:45:00Z", 7), _pain("post", "2026-11-27T10:25:00Z", 2)]

    without = _checklist(_discharge(service, _injection(note=unscored)))
    with_them = _discharge(service, _injection(note=unscored), observations=charted)
    one = _discharge(service, _injection(note=unscored), observations=charted[:1])

    assert "no pain or function score in the notes" in without
    assert "pain/function score" not in _checklist(with_them)
    assert "data-incomplete" not in rule_ids(with_them)
    assert "not both before and after" in _checklist(one)


def test_pain_scores_that_could_not_be_fetched_are_said_on_the_checklist_item(service: TestClient) -> None:
    failed = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}
    request = hook_request("encounter-discharge", {"encounterId": "e1"}, procedures=[_injection()])
    request["prefetch"]["observations"] = failed

    body = _post(service, DISCHARGE, request)

    assert "the recorded pain scores could not be checked" in _checklist(body)
    assert "data-incomplete" not in rule_ids(body)  # the item is still judged from the notes: nothing is skipped


def test_an_encounter_diagnosis_is_the_procedures_diagnosis(service: TestClient) -> None:
    diagnosis = condition("c1", "M51.16", "Intervertebral disc disorders with radiculopathy, lumbar region")
    diagnosis["category"] = [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                    "code": "encounter-diagnosis",
                }
            ]
        }
    ]
    diagnosis["encounter"] = {"reference": "Encounter/e1"}

    without = _discharge(service, _injection())
    with_it = _discharge(service, _injection(), conditions=[valid(diagnosis)])

    assert "diagnosis-missing" in rule_ids(without)
    assert "diagnosis-missing" not in rule_ids(with_it)


def test_a_pump_trial_stated_in_the_order_reason_text_is_exempt(service: TestClient) -> None:
    order = service_request(
        "o1",
        "62323",
        "Lumbar epidural injection L3-L4",
        reasonCode=[
            {
                "coding": [{"system": ICD_10_CM, "code": "G89.4", "display": "Chronic pain syndrome"}],
                "text": "Intrathecal pump trial",
            }
        ],
    )

    history = [procedure(f"h{month}", "62323", f"2026-{month:02d}-10") for month in (2, 5, 8, 11)]
    medicare = [coverage("cov-1", sopt="1", payor="Medicare Part B")]
    request = order_sign(order, procedures=history, coverages=medicare)

    assert "frequency-exempt" in rule_ids(_post(service, "epidural-order-sign", request))


def test_an_iv_catheter_in_the_order_note_gives_no_catheter_card(service: TestClient) -> None:
    order = service_request(
        "o1",
        "62323",
        "Lumbar interlaminar ESI L4-L5 under fluoroscopy",
        note=[{"text": "IV catheter placed in left hand for sedation. Hx of medial branch RF neurolysis L3-L5."}],
        reasonCode=[{"coding": [{"system": ICD_10_CM, "code": "M51.16"}]}],
    )

    ids = rule_ids(_post(service, "epidural-order-sign", order_sign(order)))

    assert "code-catheter-mismatch" not in ids
    assert "code-neurolytic" not in ids

"""The criteria beyond counting through the HTTP service: new prefetch keys, and what their absence says."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from plugin.sandbox.resources import coverage, order_sign, procedure, service_request
from tests.cards import rule_ids

DISC = [("M51.16", "Intervertebral disc disorders with radiculopathy, lumbar region")]
TF = "Left L5-S1 transforaminal epidural steroid injection under fluoroscopy"
FAILED_FETCH = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}


def molina_repeat(*, note: str = "", **prefetch: Any) -> dict[str, Any]:
    notes = {"note": [{"text": note}]} if note else {}
    return order_sign(
        service_request("order-1", "64483", TF, occurrence="2026-12-03", reasons=DISC, **notes),
        procedures=[
            procedure("esi-1", "64483", "2026-08-01T09:30:00-05:00", text=TF),
            procedure("esi-2", "64483", "2026-10-01T09:30:00-05:00", text=TF),
            procedure("pt-1", "97110", "2026-05-01T10:00:00-05:00", text="Physical therapy"),
        ],
        coverages=[coverage("cov-1", payor="Molina Healthcare of Ohio")],
        **prefetch,
    )


def pain(id: str, on: str, value: float) -> dict[str, object]:
    return {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
        "effectiveDateTime": on,
        "valueQuantity": {"value": value},
    }


def sign(service: TestClient, request: dict[str, Any]) -> dict[str, Any]:
    response = service.post("/cds-services/epidural-order-sign", json=request)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_a_repeat_with_sustained_relief_in_the_pain_scores_gets_no_card(service: TestClient) -> None:
    scores = [pain("p1", "2026-10-01", 8), pain("p2", "2026-11-20", 3)]
    assert rule_ids(sign(service, molina_repeat(observations=scores))) == []


def test_pain_scored_before_and_after_the_last_injection_on_its_day_is_measured_from_the_score_before(
    service: TestClient,
) -> None:
    # esi-2 began at 09:30; the clinic charted pain just before (8) and just after it (2), then 3 seven weeks later.
    scores = [
        pain("pre", "2026-10-01T09:10:00-05:00", 8),
        pain("post", "2026-10-01T10:05:00-05:00", 2),
        pain("7wk", "2026-11-19T10:00:00-05:00", 3),
    ]
    assert rule_ids(sign(service, molina_repeat(observations=scores))) == []
    worse = [*scores[:2], pain("7wk", "2026-11-19T10:00:00-05:00", 6)]
    assert rule_ids(sign(service, molina_repeat(observations=worse))) == ["repeat-criteria-unmet"]


def test_a_response_stated_in_the_order_after_a_pertinent_negative_gets_no_card(service: TestClient) -> None:
    note = (
        "Interval history: she denies new weakness or bowel/bladder symptoms and reports 70% relief lasting 8 weeks "
        "after the last injection on 10/1, with left S1 radicular pain gradually returning over the past 2 weeks."
    )
    assert rule_ids(sign(service, molina_repeat(note=note, observations=[]))) == []
    poor = "Less than 30% relief for about 1 week after the 10/1 injection. Patient requests a repeat."
    assert rule_ids(sign(service, molina_repeat(note=poor, observations=[]))) == ["repeat-criteria-unmet"]


def test_a_repeat_without_documented_relief_gets_the_card(service: TestClient) -> None:
    assert rule_ids(sign(service, molina_repeat())) == ["repeat-criteria-unmet"]


def test_unreadable_pain_scores_are_said_and_the_repeat_check_is_skipped(service: TestClient) -> None:
    request = molina_repeat()
    request["prefetch"]["observations"] = FAILED_FETCH
    body = sign(service, request)
    assert rule_ids(body) == ["data-incomplete"]
    [card] = body["cards"]
    assert "repeat injection criteria" in card["detail"]


def test_a_policy_without_repeat_criteria_does_not_mention_missing_pain_scores(service: TestClient) -> None:
    request = order_sign(
        service_request("order-1", "62323", "Lumbar interlaminar ESI L4-L5 under fluoroscopy", reasons=DISC),
        coverages=[coverage("cov-1", payor="Medicare Part B")],
    )
    request["prefetch"]["observations"] = FAILED_FETCH
    assert rule_ids(sign(service, request)) == []


# Conservative care: BCBS Tennessee asks for 4 weeks of conservative treatment (medication or physical therapy) before
# the first session; the order is for 2026-12-03, so care begun by 2026-11-05 is enough.
BCBST = [coverage("cov-1", payor="BlueCross BlueShield of Tennessee")]
FIRST = service_request(
    "order-1", "62323", "Lumbar interlaminar ESI L4-L5 under fluoroscopy", occurrence="2026-12-03", reasons=DISC
)


def pt_visit(start: str) -> dict[str, object]:
    return {
        "resourceType": "Encounter",
        "id": "pt-visit",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "type": [{"text": "Physical therapy visit"}],
        "period": {"start": start},
    }


def naproxen(authored: str) -> dict[str, object]:
    return {
        "resourceType": "MedicationRequest",
        "id": "rx-1",
        "status": "completed",
        "intent": "order",
        "medicationCodeableConcept": {"text": "Naproxen 500 MG Oral Tablet"},
        "authoredOn": authored,
    }


def care_cards(service: TestClient, **prefetch: Any) -> list[str]:
    body = sign(service, order_sign(FIRST, coverages=BCBST, **prefetch))
    return [
        card["summary"] for card in body["cards"] if card["source"]["topic"]["code"] == "conservative-care-undocumented"
    ]


def test_a_physical_therapy_visit_four_weeks_before_is_conservative_care(service: TestClient) -> None:
    assert care_cards(service, encounters=[pt_visit("2026-11-05T10:00:00-06:00")]) == []
    assert care_cards(service, encounters=[pt_visit("2026-11-06T10:00:00-06:00")]) == [
        "No 4 weeks of conservative care documented before 2026-12-03"
    ]


def test_an_nsaid_ordered_four_weeks_before_is_conservative_care(service: TestClient) -> None:
    assert care_cards(service, medication_requests=[naproxen("2026-11-05")]) == []
    assert care_cards(service, medication_requests=[naproxen("2026-11-06")]) != []


def test_unreadable_visits_skip_the_conservative_care_check_and_say_so(service: TestClient) -> None:
    request = order_sign(FIRST, coverages=BCBST)
    request["prefetch"]["encounters"] = FAILED_FETCH
    body = sign(service, request)
    assert "conservative-care-undocumented" not in rule_ids(body)
    [card] = [card for card in body["cards"] if card["source"]["topic"]["code"] == "data-incomplete"]
    assert "Visits could not be read" in card["detail"]
    assert "the conservative care check" in card["detail"]

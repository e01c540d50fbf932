"""Sessions without codes and one date everywhere, through the whole service: hook JSON in, cards out."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from plugin.sandbox.resources import (
    EXAMPLE_PATIENT,
    appointment,
    collection,
    coverage,
    hook_request,
    order_sign,
    procedure,
    service_request,
    valid,
)

MEDICARE = [coverage("cov-1", sopt="1", payor="Medicare Part B")]
FOUR_LUMBAR = [
    procedure("esi-1", "62323", "2026-01-12T09:30:00-05:00"),
    procedure("esi-2", "62323", "2026-04-13T10:00:00-04:00"),
    procedure("esi-3", "64483", "2026-07-14T08:15:00-04:00"),
    procedure("esi-4", "62323", "2026-10-15T09:00:00-04:00"),
]
# A realistic order from a pain clinic's order screen: no CPT, the procedure in the clinician's words.
FREE_TEXT_ORDER = service_request(
    "order-1",
    None,
    "Lumbar ESI, interlaminar approach at L4-L5 under fluoroscopic guidance; Depo-Medrol 80 mg",
    occurrence="2026-12-03",
    reasons=[("M51.16", "Intervertebral disc disorders with radiculopathy, lumbar region")],
)


def local_appointment(id: str, start: str, visit_type: str, *, status: str = "booked") -> dict[str, Any]:
    """An appointment as most schedulers book it: the clinic's own visit type, no procedure code."""
    return valid(
        {
            "resourceType": "Appointment",
            "id": id,
            "status": status,
            "appointmentType": {"text": visit_type},
            "start": start,
            "end": start.replace("T09:", "T10:"),
            "participant": [{"actor": {"reference": f"Patient/{EXAMPLE_PATIENT}"}, "status": "accepted"}],
        }
    )


def post(service: TestClient, service_id: str, request: dict[str, Any]) -> dict[str, Any]:
    response = service.post(f"/cds-services/{service_id}", json=request)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def cards_of(body: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [card for card in body["cards"] if card["source"]["topic"]["code"] == rule]


def test_a_free_text_order_over_the_cap_gets_a_warning_worded_as_a_check(service: TestClient) -> None:
    body = post(service, "epidural-order-sign", order_sign(FREE_TEXT_ORDER, procedures=FOUR_LUMBAR, coverages=MEDICARE))
    [card] = cards_of(body, "frequency-limit-exceeded")
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Check the session count")
    assert "Earliest compliant date: 2027-01-12" in card["detail"]
    prose = card["detail"].rsplit("\n\nRecord: ", 1)[0]  # the last line names the resources, for tracing
    assert "ServiceRequest/" not in card["summary"] + prose


def test_an_esi_lumbar_booking_counts_in_the_budget(service: TestClient) -> None:
    booked = local_appointment("appt-1", "2026-12-01T09:00:00-05:00", "ESI LUMBAR")
    request = hook_request("patient-view", procedures=FOUR_LUMBAR[:3], coverages=MEDICARE, appointments=[booked])
    [card] = cards_of(post(service, "epidural-patient-view", request), "frequency-budget")
    assert "3/4 used in 12 mo; 1 booked" in card["summary"]
    assert card["indicator"] == "warning"  # three done and one booked: none left


def test_booking_another_esi_lumbar_visit_over_the_cap_is_critical(service: TestClient) -> None:
    booked = local_appointment("appt-1", "2026-12-01T09:00:00-05:00", "ESI LUMBAR")
    proposed = local_appointment("appt-new", "2026-12-10T09:00:00-05:00", "EPIDURAL - LUMBAR", status="proposed")
    request = hook_request(
        "appointment-book",
        {"appointments": collection([proposed])},
        procedures=FOUR_LUMBAR[:3],
        coverages=MEDICARE,
        appointments=[booked],
    )
    [card] = cards_of(post(service, "epidural-appointment-book", request), "frequency-limit-exceeded")
    assert card["indicator"] == "critical"


def test_a_past_appointment_still_booked_is_not_counted_and_the_card_says_why(service: TestClient) -> None:
    stale = appointment("appt-old", "62323", "2026-11-20T09:00:00-05:00")
    request = hook_request("patient-view", procedures=FOUR_LUMBAR[:3], coverages=MEDICARE, appointments=[stale])
    [card] = cards_of(post(service, "epidural-patient-view", request), "frequency-budget")
    assert card["indicator"] == "info"
    assert "3/4 used in 12 mo" in card["summary"]
    assert "1 past appointment still marked booked (2026-11-20) was not counted" in card["detail"]


def test_a_patient_injected_today_with_sessions_left_sees_an_info_card(service: TestClient) -> None:
    today = procedure("esi-today", "62323", "2026-11-27T09:30:00-05:00")
    request = hook_request("patient-view", procedures=[FOUR_LUMBAR[2], today], coverages=MEDICARE)
    [card] = cards_of(post(service, "epidural-patient-view", request), "frequency-budget")
    assert card["indicator"] == "info"
    assert "next eligible date 2026-11-28" in card["summary"]


def test_order_and_booking_give_the_next_eligible_date_patient_view_gives(service: TestClient) -> None:
    # 2027-01-12 holds a booked session: a new, separate one first fits on 2027-04-13, whoever asks.
    booked = appointment("appt-1", "62323", "2027-01-12T09:00:00-05:00")
    record = {"procedures": FOUR_LUMBAR, "coverages": MEDICARE, "appointments": [booked]}
    order = service_request("order-1", "62323", "Lumbar interlaminar ESI L4-L5 under fluoroscopy")
    proposed = appointment("appt-new", "62323", "2026-11-27T09:00:00-05:00", status="proposed")

    [ordered] = cards_of(post(service, "epidural-order-sign", order_sign(order, **record)), "frequency-limit-exceeded")
    booking_request = hook_request("appointment-book", {"appointments": collection([proposed])}, **record)
    [booking] = cards_of(post(service, "epidural-appointment-book", booking_request), "frequency-limit-exceeded")
    [budget] = cards_of(
        post(service, "epidural-patient-view", hook_request("patient-view", **record)), "frequency-budget"
    )
    start = hook_request("encounter-start", {"encounterId": "e1"}, **record)
    [at_start] = cards_of(post(service, "epidural-encounter-start", start), "frequency-budget")

    assert "earliest 2027-04-13" in ordered["summary"]
    assert "earliest 2027-04-13" in booking["summary"]
    assert "next eligible date 2027-04-13" in budget["summary"]
    assert "next eligible date 2027-04-13" in at_start["summary"]


def uncoded_procedure(id: str, performed: str, text: str) -> dict[str, Any]:
    """An injection documented only in words: no CPT, the clinician's description in `code.text`."""
    resource = procedure(id, "62323", performed, text=text)
    del resource["code"]["coding"]
    return resource


THREE_CODED_ONE_IN_WORDS = [
    *FOUR_LUMBAR[:3],
    uncoded_procedure("esi-4", "2026-10-15T09:00:00-04:00", "Lumbar ESI L4-5 interlaminar under fluoro"),
]
CODED_ORDER = service_request(
    "order-1",
    "62323",
    "Lumbar interlaminar ESI L4-L5 under fluoroscopy",
    occurrence="2026-12-03",
    reasons=[("M51.16", "Intervertebral disc disorders with radiculopathy, lumbar region")],
)


def test_an_injection_recorded_only_in_words_counts_toward_the_cap_as_a_check(service: TestClient) -> None:
    body = post(
        service, "epidural-order-sign", order_sign(CODED_ORDER, procedures=THREE_CODED_ONE_IN_WORDS, coverages=MEDICARE)
    )
    [card] = cards_of(body, "frequency-limit-exceeded")
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Check the session count")
    assert "a procedure recorded with no code" in card["detail"]
    assert all(not card.get("suggestions") for card in body["cards"])


def test_the_budget_card_says_a_session_was_counted_from_words(service: TestClient) -> None:
    request = hook_request("patient-view", procedures=THREE_CODED_ONE_IN_WORDS, coverages=MEDICARE)
    [card] = cards_of(post(service, "epidural-patient-view", request), "frequency-budget")
    assert "4/4 used in 12 mo" in card["summary"]
    assert "1 session (2026-10-15) was counted from the words of a procedure recorded with no code" in card["detail"]


def test_words_that_only_mention_an_injection_are_not_a_session(service: TestClient) -> None:
    for words in (
        "Follow-up visit. Hx of lumbar ESI L4-5 with good relief.",
        "No epidural performed today; patient declined.",
        "Possible lumbar ESI at next visit.",
        "Epidural blood patch for post-dural puncture headache",
    ):
        record = [*FOUR_LUMBAR[:3], uncoded_procedure("visit", "2026-10-15T09:00:00-04:00", words)]
        body = post(service, "epidural-order-sign", order_sign(CODED_ORDER, procedures=record, coverages=MEDICARE))
        assert cards_of(body, "frequency-limit-exceeded") == [], words
        assert [card["summary"] for card in cards_of(body, "frequency-limit-reached")], words


def test_an_interval_resting_on_a_session_in_words_is_a_check(service: TestClient) -> None:
    """eviCore CMM-200 (the default for an unmapped plan) asks 14 days between sessions: 10 days after an injection
    recorded only in words, the card asks to check, and is never critical."""
    record = [uncoded_procedure("esi-words", "2026-11-23T09:00:00-05:00", "Right L5 TFESI under fluoroscopy")]
    body = post(service, "epidural-order-sign", order_sign(CODED_ORDER, procedures=record, coverages=[]))
    [card] = cards_of(body, "interval-too-short")
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Check the interval: only 10 days after the last")
    coded = [procedure("esi-coded", "64483", "2026-11-23T09:00:00-05:00")]
    body = post(service, "epidural-order-sign", order_sign(CODED_ORDER, procedures=coded, coverages=[]))
    [card] = cards_of(body, "interval-too-short")
    assert card["summary"].startswith("Only 10 days after the last")

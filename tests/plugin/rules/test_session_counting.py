"""What counts as a session: uncoded orders, local appointment types, visit words, past bookings, bilateral lines,
perioperative and labour epidurals, one region per date; and the one next eligible date every card gives."""

from datetime import date

from pydantic import HttpUrl

from fhir_mappings.facts import BookedSession, ClinicalRecord, InjectionOrder
from fhir_mappings.intent import read_intent
from plugin.policies.schema import AppointmentType, PriorAuthorization, Quote, SessionTypes, WindowLimit
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.findings import RuleId, Severity
from plugin.rules.frequency import booking_frequency, budget, order_frequency
from plugin.rules.hook_facts import HookFacts
from plugin.rules.prior_authorization import order_prior_authorization
from tests.plugin.rules.builders import CATALOG, applied, booking, order, performed

MEDICARE = applied("medicare-esi-lcd")
TODAY = date(2026, 11, 27)
FOUR_LUMBAR = (
    performed("62323", date(2026, 1, 12)),
    performed("62323", date(2026, 4, 13)),
    performed("64483", date(2026, 7, 14)),
    performed("62323", date(2026, 10, 15)),
)
FREE_TEXT = "Lumbar interlaminar epidural steroid injection at L4-L5 under fluoroscopy, 80 mg Depo-Medrol"


def uncoded(on: date | None, text: str = FREE_TEXT) -> InjectionOrder:
    return order(None, on, intent=read_intent(text), text=text)


def local_booking(on: date, type_text: str, *, status: str = "booked", source: str = "") -> BookedSession:
    return booking("", on, status=status, source=source or f"Appointment/local-{on}", codes=(), type_texts=(type_text,))


def with_frequency(base: AppliedPolicy, **changes: object) -> AppliedPolicy:
    payer = base.payer.model_copy(update={"frequency": base.payer.frequency.model_copy(update=changes)})
    return AppliedPolicy(payer, base.conventions, base.why, session_types=base.session_types)


# An order recognised by its words


def test_an_uncoded_injection_order_is_counted_and_gets_a_check_never_critical() -> None:
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR), orders=(uncoded(date(2026, 12, 3)),))
    [finding] = order_frequency(facts, MEDICARE, TODAY)
    assert finding.rule is RuleId.FREQUENCY_LIMIT_EXCEEDED
    assert finding.severity is Severity.WARNING
    assert finding.summary.startswith("Check the session count")
    assert "Earliest compliant date: 2027-01-12" in finding.detail
    assert "No procedure code or known visit type says what this is" in finding.detail


def test_the_default_policy_for_an_unmapped_plan_never_gives_a_critical_card() -> None:
    default = AppliedPolicy(MEDICARE.payer, MEDICARE.conventions, "no mapping", by_default=True)
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR), orders=(order("62323", date(2026, 12, 3)),))
    [finding] = order_frequency(facts, default, TODAY)
    assert finding.rule is RuleId.FREQUENCY_LIMIT_EXCEEDED
    assert finding.severity is Severity.WARNING


def test_an_uncoded_order_that_takes_the_last_session_says_so() -> None:
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR[:3]), orders=(uncoded(date(2026, 12, 3)),))
    [finding] = order_frequency(facts, MEDICARE, TODAY)
    assert finding.rule is RuleId.FREQUENCY_LIMIT_REACHED
    assert finding.summary.startswith("Check the session count: likely uses the last lumbar/sacral session")
    assert "next eligible date 2027-01-12" in finding.summary


def test_an_uncoded_order_in_the_other_region_has_its_own_count() -> None:
    order_ = uncoded(date(2026, 12, 3), "Cervical interlaminar ESI C6-C7 under fluoroscopy")
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR), orders=(order_,))
    assert order_frequency(facts, MEDICARE, TODAY) == []


def test_an_uncoded_order_naming_no_region_is_judged_where_the_count_is_tightest() -> None:
    order_ = uncoded(date(2026, 12, 3), "Epidural steroid injection, interlaminar approach, under fluoroscopy")
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR), orders=(order_,))
    [finding] = order_frequency(facts, MEDICARE, TODAY)
    assert finding.rule is RuleId.FREQUENCY_LIMIT_EXCEEDED
    assert finding.severity is Severity.WARNING
    assert "(lumbar/sacral)" in finding.summary
    assert "Its words name no spinal region: it was judged as a lumbar/sacral injection" in finding.detail


def test_an_uncoded_order_naming_no_region_with_room_in_both_regions_gets_no_card() -> None:
    order_ = uncoded(date(2026, 12, 3), "Epidural steroid injection, interlaminar approach, under fluoroscopy")
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR[:2]), orders=(order_,))
    assert order_frequency(facts, MEDICARE, TODAY) == []


def test_an_uncoded_neurolytic_order_is_no_steroid_injection_session() -> None:
    order_ = uncoded(date(2026, 12, 3), "Lumbar epidural neurolysis with phenol at L4-L5 under fluoroscopy")
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR), orders=(order_,))
    assert order_frequency(facts, MEDICARE, TODAY) == []


def test_an_uncoded_order_counts_for_prior_authorization_too() -> None:
    requirement = PriorAuthorization(
        program="the plan",
        indicator="info",
        from_session=2,
        window_months=12,
        advice="Ask the plan.",
        source=Quote(text="The plan's rule", url=HttpUrl("https://example.org/plan"), verified=False),
    )
    commercial = AppliedPolicy(
        MEDICARE.payer.model_copy(update={"prior_authorizations": [requirement]}), MEDICARE.conventions, ""
    )
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR[3:]), orders=(uncoded(date(2026, 12, 3)),))
    assert [finding.rule for finding in order_prior_authorization(facts, commercial, TODAY)] == [
        RuleId.PRIOR_AUTH_REQUIRED
    ]


# Perioperative and labour epidurals


# A policy that counts the catheter codes too, as the shipped conservative default did.
WITH_CATHETERS = with_frequency(MEDICARE, counted_codes=[*MEDICARE.payer.frequency.counted_codes, "62326", "62327"])


def test_a_labour_epidural_is_not_counted() -> None:
    for text in ("Labor epidural at L3-L4", "Labour epidural, lumbar catheter at L3-L4 for continuous infusion"):
        facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR), orders=(uncoded(date(2026, 12, 3), text),))
        assert order_frequency(facts, WITH_CATHETERS, TODAY) == []


def test_a_postoperative_epidural_catheter_on_record_is_not_counted() -> None:
    catheter = performed("62327", date(2026, 10, 15), reason_codes=("G89.18",))
    history = (*FOUR_LUMBAR[:3], catheter)
    facts = HookFacts(record=ClinicalRecord(performed=history), orders=(order("62323", date(2026, 12, 3)),))
    assert [f.rule for f in order_frequency(facts, WITH_CATHETERS, TODAY)] == [RuleId.FREQUENCY_LIMIT_REACHED]


def test_a_catheter_for_chronic_pain_is_counted_where_the_policy_counts_catheters() -> None:
    catheter = performed("62327", date(2026, 10, 15))
    facts = HookFacts(
        record=ClinicalRecord(performed=(*FOUR_LUMBAR[:3], catheter)), orders=(order("62323", date(2026, 12, 3)),)
    )
    assert [f.rule for f in order_frequency(facts, WITH_CATHETERS, TODAY)] == [RuleId.FREQUENCY_LIMIT_EXCEEDED]


def test_the_budget_says_a_postoperative_catheter_was_not_counted() -> None:
    catheter = performed("62327", date(2026, 10, 15), reason_codes=("G89.18",))
    [card] = budget(HookFacts(record=ClinicalRecord(performed=(*FOUR_LUMBAR[:3], catheter))), WITH_CATHETERS, TODAY)
    assert "3/4 used" in card.summary
    assert "1 perioperative or labour epidural was not counted" in card.detail


def test_a_single_shot_for_postoperative_pain_is_still_a_session() -> None:
    postoperative = performed("62323", date(2026, 10, 15), reason_codes=("G89.18",))
    facts = HookFacts(
        record=ClinicalRecord(performed=(*FOUR_LUMBAR[:3], postoperative)), orders=(order("62323", date(2026, 12, 3)),)
    )
    assert [f.rule for f in order_frequency(facts, MEDICARE, TODAY)] == [RuleId.FREQUENCY_LIMIT_EXCEEDED]


# Appointments: by local type, by words, and past bookings


def test_an_appointment_booked_as_esi_lumbar_counts() -> None:
    facts = HookFacts(
        record=ClinicalRecord(performed=FOUR_LUMBAR[:3], bookings=(local_booking(date(2026, 12, 1), "ESI LUMBAR"),))
    )
    [card] = budget(facts, MEDICARE, TODAY)
    assert "1 booked" in card.summary
    assert card.severity is Severity.WARNING  # 3 done and 1 booked: none left


def test_the_local_type_is_compared_without_case_or_punctuation() -> None:
    proposed = local_booking(date(2026, 12, 10), "Epidural-Lumbar", status="proposed", source="Appointment/new")
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR, bookings=(proposed,)), proposed=(proposed,))
    [finding] = booking_frequency(facts, MEDICARE, TODAY)
    assert finding.rule is RuleId.FREQUENCY_LIMIT_EXCEEDED
    assert finding.severity is Severity.CRITICAL  # a configured visit type is as good as a code


def test_an_operators_local_code_maps_to_a_procedure_code() -> None:
    site = SessionTypes(
        kind="session-types",
        appointment_types=[AppointmentType(code="PAIN-17", system="urn:clinic:visit-types", procedure_codes=["64483"])],
    )
    types = site.merged_over(CATALOG.session_types) if CATALOG.session_types else site
    policy = AppliedPolicy(MEDICARE.payer, MEDICARE.conventions, "", session_types=types)
    proposed = booking(
        "", date(2026, 12, 10), status="proposed", codes=(), type_codes=(("urn:clinic:visit-types", "PAIN-17"),)
    )
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR), proposed=(proposed,))
    assert [f.rule for f in booking_frequency(facts, policy, TODAY)] == [RuleId.FREQUENCY_LIMIT_EXCEEDED]


def test_an_appointment_known_only_by_its_words_counts_as_a_check() -> None:
    words = "Lumbar epidural steroid injection"
    proposed = booking(
        "",
        date(2026, 12, 10),
        status="proposed",
        codes=(),
        text=words,
        intent=read_intent(words),
        source="Appointment/new",
    )
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR), proposed=(proposed,))
    [finding] = booking_frequency(facts, MEDICARE, TODAY)
    assert finding.severity is Severity.WARNING
    assert finding.summary.startswith("Check the session count")


def test_an_appointment_for_something_else_is_not_counted() -> None:
    words = "Follow-up visit, back pain"
    proposed = booking("", date(2026, 12, 10), status="proposed", codes=(), text=words, intent=read_intent(words))
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR), proposed=(proposed,))
    assert booking_frequency(facts, MEDICARE, TODAY) == []


def test_a_past_appointment_still_booked_is_not_counted_and_the_budget_says_so() -> None:
    stale = booking("62323", date(2026, 11, 20))
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR[:3], bookings=(stale,)))
    [card] = budget(facts, MEDICARE, TODAY)
    assert card.severity is Severity.INFO
    assert "3/4 used" in card.summary
    assert "1 past appointment still marked booked (2026-11-20) was not counted" in card.detail
    orders = HookFacts(record=facts.record, orders=(order("62323", date(2026, 12, 3)),))
    assert [f.rule for f in order_frequency(orders, MEDICARE, TODAY)] == [RuleId.FREQUENCY_LIMIT_REACHED]


def test_a_past_appointment_the_patient_arrived_for_counts() -> None:
    arrived = booking("62323", date(2026, 11, 20), status="arrived")
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR[:3], bookings=(arrived,)))
    [card] = budget(facts, MEDICARE, TODAY)
    assert card.severity is Severity.WARNING
    assert "not counted" not in card.detail


def test_the_budget_names_injections_whose_code_the_policy_does_not_count() -> None:
    molina = applied("molina-mcp-032")
    history = (performed("62322", date(2026, 2, 1)), *FOUR_LUMBAR[1:3], performed("62322", date(2024, 2, 1)))
    [card] = budget(HookFacts(record=ClinicalRecord(performed=history)), molina, TODAY)
    assert "2/4 used" in card.summary
    assert "1 injection coded 62322 (2026-02-01) is not counted: the policy does not count 62322." in card.detail


def test_an_appointment_booked_for_today_counts() -> None:
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR[:3], bookings=(booking("62323", TODAY),)))
    [card] = budget(facts, MEDICARE, TODAY)
    assert card.severity is Severity.WARNING


# One date everywhere


def test_the_earliest_date_passes_over_a_day_already_booked() -> None:
    # 2027-01-12 complies only by joining the booked session that day: a new, separate one first fits on 2027-04-13.
    record = ClinicalRecord(performed=FOUR_LUMBAR, bookings=(booking("62323", date(2027, 1, 12)),))
    [finding] = order_frequency(HookFacts(record=record, orders=(order("62323", TODAY),)), MEDICARE, TODAY)
    assert "Earliest compliant date: 2027-04-13" in finding.detail
    assert "earliest 2027-04-13" in finding.summary
    [card] = budget(HookFacts(record=record), MEDICARE, TODAY)
    assert "next eligible date 2027-04-13" in card.summary


def test_order_booking_and_budget_give_the_same_date_for_one_record() -> None:
    record = ClinicalRecord(performed=FOUR_LUMBAR, bookings=(booking("62323", date(2027, 1, 12)),))
    proposed = booking("62323", TODAY, status="proposed", source="Appointment/new")
    [ordered] = order_frequency(HookFacts(record=record, orders=(order("62323", TODAY),)), MEDICARE, TODAY)
    [booked] = booking_frequency(HookFacts(record=record, proposed=(proposed,)), MEDICARE, TODAY)
    [card] = budget(HookFacts(record=record), MEDICARE, TODAY)
    dates = {ordered.summary.rsplit(" ", 1)[-1], booked.summary.rsplit(" ", 1)[-1], card.summary.rsplit(" ", 1)[-1]}
    assert dates == {"2027-04-13"}


def test_a_patient_injected_today_with_sessions_left_sees_an_info_budget() -> None:
    facts = HookFacts(record=ClinicalRecord(performed=(*FOUR_LUMBAR[2:3], performed("62323", TODAY))))
    [card] = budget(facts, MEDICARE, TODAY)
    assert card.severity is Severity.INFO
    assert "next eligible date 2026-11-28" in card.summary
    assert "2 left" in card.detail


def test_the_last_session_card_gives_the_next_eligible_date_after_it() -> None:
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR[1:]), orders=(order("62323", date(2026, 12, 3)),))
    [finding] = order_frequency(facts, MEDICARE, TODAY)
    assert finding.rule is RuleId.FREQUENCY_LIMIT_REACHED
    assert "next eligible date 2027-04-13" in finding.summary
    assert "next after" not in finding.summary


def test_a_window_with_one_session_left_reads_in_the_singular() -> None:
    one = with_frequency(MEDICARE, limits=[WindowLimit(months=12, max_sessions=1)])
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR[3:]), orders=(order("62323", date(2026, 12, 3)),))
    [finding] = order_frequency(facts, one, TODAY)
    assert "1 session per 12 months" in finding.summary
    assert "(s)" not in finding.detail


# Bilateral injections and one region per date


def test_a_bilateral_line_counts_as_one_injection_where_the_policy_says_so() -> None:
    capped = with_frequency(MEDICARE, limits=[WindowLimit(months=12, max_injections=3)])
    as_one = with_frequency(capped, bilateral_injections=1)
    history = (
        performed("64483", date(2026, 9, 1), modifiers=("50",)),
        performed("64483", date(2026, 10, 1), modifiers=("RT",), source="Procedure/right"),
        performed("64483", date(2026, 10, 1), modifiers=("LT",), source="Procedure/left"),
    )
    facts = HookFacts(record=ClinicalRecord(performed=history), orders=(order("64483", date(2026, 12, 3)),))
    assert [f.rule for f in order_frequency(facts, capped, TODAY)] == [RuleId.FREQUENCY_LIMIT_EXCEEDED]
    assert [f.rule for f in order_frequency(facts, as_one, TODAY)] == [RuleId.FREQUENCY_LIMIT_REACHED]


def test_an_injection_cap_card_says_how_the_policy_counts_bilateral_injections() -> None:
    cited = with_frequency(
        MEDICARE,
        limits=[WindowLimit(months=12, max_injections=2)],
        bilateral_injections=1,
        bilateral_citation="A bilateral injection at one level is one injection (the plan's policy)",
    )
    history = (performed("64483", date(2026, 9, 1), modifiers=("50",)), performed("64483", date(2026, 10, 1)))
    facts = HookFacts(record=ClinicalRecord(performed=history), orders=(order("64483", date(2026, 12, 3)),))
    [finding] = order_frequency(facts, cited, TODAY)
    assert "3 injections (cap 2)" in finding.detail
    assert "counts as 1 injection: A bilateral injection at one level is one injection" in finding.detail


def test_a_second_region_on_a_date_already_booked_is_flagged() -> None:
    cervical = booking("62321", date(2026, 12, 10))
    proposed = booking("62323", date(2026, 12, 10), status="proposed", source="Appointment/new")
    facts = HookFacts(record=ClinicalRecord(bookings=(cervical, proposed)), proposed=(proposed,))
    [finding] = booking_frequency(facts, MEDICARE, TODAY)
    assert finding.rule is RuleId.LEVELS_EXCEEDED
    assert "cervical/thoracic session is already on record for 2026-12-10" in finding.summary
    assert "1 region per date" in finding.summary


def test_a_second_region_read_from_words_is_a_check() -> None:
    cervical = performed("62321", date(2026, 12, 3))
    facts = HookFacts(record=ClinicalRecord(performed=(cervical,)), orders=(uncoded(date(2026, 12, 3)),))
    [finding] = order_frequency(facts, MEDICARE, TODAY)
    assert finding.rule is RuleId.LEVELS_EXCEEDED
    assert finding.severity is Severity.WARNING
    assert finding.summary.startswith("Check the regions: a cervical/thoracic session is already on record")


def test_the_same_region_twice_on_one_date_is_one_session() -> None:
    booked = booking("62323", date(2026, 12, 10))
    proposed = booking("64483", date(2026, 12, 10), status="proposed", source="Appointment/new")
    facts = HookFacts(record=ClinicalRecord(bookings=(booked, proposed)), proposed=(proposed,))
    assert booking_frequency(facts, MEDICARE, TODAY) == []

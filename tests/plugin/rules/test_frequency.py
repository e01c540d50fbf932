from datetime import date

from fhir_mappings.facts import ClinicalRecord, StatedIntent
from plugin.rules.findings import RuleId, Severity
from plugin.rules.frequency import booking_frequency, budget, order_frequency
from plugin.rules.hook_facts import HookFacts
from plugin.rules.sessions import SessionHistory
from tests.plugin.rules.builders import applied, booking, order, performed

MEDICARE = applied("medicare-esi-lcd")
MOLINA = applied("molina-mcp-032")
DEFAULT = applied("evicore-cmm-200", by_default=True)
BCBST = applied("bcbs-tennessee")
TODAY = date(2026, 11, 27)

FOUR_LUMBAR = (
    performed("62323", date(2026, 1, 12)),
    performed("62323", date(2026, 4, 13)),
    performed("64483", date(2026, 7, 14)),
    performed("62323", date(2026, 10, 15)),
)


def rules(findings: list) -> list[RuleId]:  # type: ignore[type-arg]
    return [finding.rule for finding in findings]


def test_fifth_lumbar_session_in_twelve_months_exceeds_medicare_cap() -> None:
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR), orders=(order("62323", date(2026, 12, 3)),))
    [finding] = order_frequency(facts, MEDICARE, TODAY)
    assert finding.rule is RuleId.FREQUENCY_LIMIT_EXCEEDED
    assert finding.severity is Severity.CRITICAL
    assert "2027-01-12" in finding.detail  # the first session leaves the window on its anniversary
    assert MEDICARE.payer.title in finding.detail
    assert "medicare-esi-lcd" not in finding.detail  # a clinician reads the policy's title, not its internal id
    assert "5 sessions (cap 4)" in finding.detail


def test_session_on_the_anniversary_of_the_oldest_one_is_compliant() -> None:
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR), orders=(order("62323", date(2027, 1, 12)),))
    assert RuleId.FREQUENCY_LIMIT_EXCEEDED not in rules(order_frequency(facts, MEDICARE, TODAY))


def test_session_the_day_before_the_anniversary_still_exceeds() -> None:
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR), orders=(order("62323", date(2027, 1, 11)),))
    assert rules(order_frequency(facts, MEDICARE, TODAY)) == [RuleId.FREQUENCY_LIMIT_EXCEEDED]


def test_other_region_has_its_own_medicare_count() -> None:
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR), orders=(order("62321", date(2026, 12, 3)),))
    assert order_frequency(facts, MEDICARE, TODAY) == []


def test_fourth_session_is_allowed_but_reaches_the_cap() -> None:
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR[:3]), orders=(order("62323", date(2026, 12, 3)),))
    [finding] = order_frequency(facts, MEDICARE, TODAY)
    assert finding.rule is RuleId.FREQUENCY_LIMIT_REACHED
    assert finding.severity is Severity.WARNING


def test_second_injection_on_a_counted_day_is_the_same_session() -> None:
    same_day = performed("62323", date(2026, 10, 15), source="Procedure/other")
    facts = HookFacts(
        record=ClinicalRecord(performed=(*FOUR_LUMBAR[:3], same_day)), orders=(order("64483", date(2026, 10, 15)),)
    )
    assert RuleId.FREQUENCY_LIMIT_EXCEEDED not in rules(order_frequency(facts, MEDICARE, TODAY))


def test_void_and_unperformed_procedures_do_not_count() -> None:
    history = (
        *FOUR_LUMBAR[:3],
        performed("62323", date(2026, 10, 15), status="entered-in-error"),
        performed("62323", date(2026, 10, 20), status="not-done"),
        performed("62323", date(2026, 10, 25), status="in-progress"),
    )
    facts = HookFacts(record=ClinicalRecord(performed=history), orders=(order("62323", date(2026, 12, 3)),))
    assert rules(order_frequency(facts, MEDICARE, TODAY)) == [RuleId.FREQUENCY_LIMIT_REACHED]


def test_codes_a_policy_does_not_count_are_ignored() -> None:
    # Molina counts 62321/62323/64479/64480/64483/64484 only: 62322 sessions are outside its cap.
    history = tuple(performed("62322", day.performed_on) for day in FOUR_LUMBAR)
    facts = HookFacts(record=ClinicalRecord(performed=history), orders=(order("62323", date(2026, 12, 3)),))
    assert order_frequency(facts, MOLINA, TODAY) == []


def test_booked_appointments_count_towards_the_cap() -> None:
    bookings = (booking("62323", date(2026, 12, 1)),)
    facts = HookFacts(
        record=ClinicalRecord(performed=FOUR_LUMBAR[:3], bookings=bookings),
        orders=(order("62323", date(2026, 12, 10)),),
    )
    assert rules(order_frequency(facts, MEDICARE, TODAY)) == [RuleId.FREQUENCY_LIMIT_EXCEEDED]


def test_cancelled_and_proposed_appointments_do_not_count() -> None:
    bookings = (
        booking("62323", date(2026, 12, 1), status="cancelled"),
        booking("62323", date(2026, 12, 2), status="proposed"),
        booking("62323", date(2026, 12, 4), status="noshow"),
    )
    facts = HookFacts(
        record=ClinicalRecord(performed=FOUR_LUMBAR[:3], bookings=bookings),
        orders=(order("62323", date(2026, 12, 10)),),
    )
    assert rules(order_frequency(facts, MEDICARE, TODAY)) == [RuleId.FREQUENCY_LIMIT_REACHED]


def test_pump_trial_is_exempt_and_not_counted() -> None:
    trial = order("62323", date(2026, 12, 3), intent=StatedIntent(pump_trial=True))
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR), orders=(trial,))
    [finding] = order_frequency(facts, MEDICARE, TODAY)
    assert finding.rule is RuleId.FREQUENCY_EXEMPT
    assert finding.severity is Severity.INFO


def test_past_pump_trials_are_not_counted() -> None:
    trial = performed("62323", date(2026, 10, 15), intent=StatedIntent(pump_trial=True))
    facts = HookFacts(
        record=ClinicalRecord(performed=(*FOUR_LUMBAR[:3], trial)), orders=(order("62323", date(2026, 12, 3)),)
    )
    assert rules(order_frequency(facts, MEDICARE, TODAY)) == [RuleId.FREQUENCY_LIMIT_REACHED]


def test_order_without_a_date_is_judged_for_today() -> None:
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR), orders=(order("62323", None),))
    [finding] = order_frequency(facts, MEDICARE, TODAY)
    assert "2026-11-27" in finding.summary


def test_bcbs_tennessee_combines_regions_and_caps_six_months() -> None:
    history = (
        performed("62321", date(2026, 7, 1)),
        performed("62323", date(2026, 8, 1)),
        performed("64483", date(2026, 9, 1)),
    )
    facts = HookFacts(record=ClinicalRecord(performed=history), orders=(order("62321", date(2026, 12, 3)),))
    [finding] = order_frequency(facts, BCBST, TODAY)
    assert finding.rule is RuleId.FREQUENCY_LIMIT_EXCEEDED
    assert (
        finding.severity is Severity.CRITICAL
    )  # "Does not exceed 3 (three) injection sessions within a 6-month period"
    assert "2027-01-01" in finding.detail


def test_the_default_policy_is_never_critical_and_says_the_plan_is_not_mapped() -> None:
    history = tuple(performed("62323", date(2026, month, 1)) for month in (7, 8, 9))
    facts = HookFacts(record=ClinicalRecord(performed=history), orders=(order("62323", date(2026, 12, 3)),))
    [finding] = order_frequency(facts, DEFAULT, TODAY)
    assert finding.rule is RuleId.FREQUENCY_LIMIT_EXCEEDED
    assert finding.severity is Severity.WARNING
    assert "in place of the plan's own policy" in finding.detail
    assert "coverage mapping" in finding.detail


def test_an_unverified_cap_is_a_warning_that_says_so() -> None:
    history = tuple(performed("64483", date(2026, month, 1)) for month in (3, 5, 7, 9))
    facts = HookFacts(record=ClinicalRecord(performed=history), orders=(order("64483", date(2026, 12, 3)),))
    [finding] = order_frequency(facts, MOLINA, TODAY)
    assert finding.rule is RuleId.FREQUENCY_LIMIT_EXCEEDED
    assert finding.severity is Severity.WARNING
    assert "could not be checked against the payer's current text" in finding.detail


def test_blue_template_injection_cap_counts_bilateral_modifier_as_two_before_november_2024() -> None:
    history = (
        performed("64483", date(2024, 1, 10), units=2, modifiers=("50",)),
        performed("64483", date(2024, 2, 10), units=2),
    )
    bilateral = order("64483", date(2024, 3, 12), units=2, modifiers=("50",))
    facts = HookFacts(record=ClinicalRecord(performed=history), orders=(bilateral,))
    blue = applied("blue-template", on=date(2024, 3, 1))
    [finding] = order_frequency(facts, blue, date(2024, 3, 1))
    assert finding.rule is RuleId.FREQUENCY_LIMIT_EXCEEDED
    assert "10 injections (cap 6)" in finding.detail


def test_two_draft_orders_on_one_day_are_one_session() -> None:
    orders = (
        order("64483", date(2026, 12, 3), source="ServiceRequest/a"),
        order("64484", date(2026, 12, 3), source="ServiceRequest/b"),
    )
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR[:3]), orders=orders)
    assert rules(order_frequency(facts, MEDICARE, TODAY)) == [RuleId.FREQUENCY_LIMIT_REACHED]


def test_two_draft_orders_on_different_days_count_each_other() -> None:
    orders = (
        order("62323", date(2026, 12, 3), source="ServiceRequest/a"),
        order("62323", date(2026, 12, 20), source="ServiceRequest/b"),
    )
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR[:3]), orders=orders)
    findings = order_frequency(facts, MEDICARE, TODAY)
    assert [(f.rule, f.subject) for f in findings] == [
        (RuleId.FREQUENCY_LIMIT_REACHED, "ServiceRequest/a"),
        (RuleId.FREQUENCY_LIMIT_EXCEEDED, "ServiceRequest/b"),
    ]


def test_month_end_window_is_clamped() -> None:
    # A window opened on 31 August runs 6 months to 28 February, not into March.
    history = (
        performed("62323", date(2026, 8, 31)),
        performed("62323", date(2026, 10, 1)),
        performed("62323", date(2026, 12, 1)),
    )
    facts = HookFacts(record=ClinicalRecord(performed=history), orders=(order("62323", date(2027, 2, 27)),))
    assert rules(order_frequency(facts, BCBST, TODAY)) == [RuleId.FREQUENCY_LIMIT_EXCEEDED]
    facts = HookFacts(record=ClinicalRecord(performed=history), orders=(order("62323", date(2027, 2, 28)),))
    assert RuleId.FREQUENCY_LIMIT_EXCEEDED not in rules(order_frequency(facts, BCBST, TODAY))


def test_leap_day_session_leaves_the_window_on_the_last_day_of_february() -> None:
    history = (
        performed("62323", date(2028, 2, 29)),
        performed("62323", date(2028, 5, 1)),
        performed("62323", date(2028, 8, 1)),
        performed("62323", date(2028, 11, 1)),
    )
    late = HookFacts(record=ClinicalRecord(performed=history), orders=(order("62323", date(2029, 2, 28)),))
    early = HookFacts(record=ClinicalRecord(performed=history), orders=(order("62323", date(2029, 2, 27)),))
    assert RuleId.FREQUENCY_LIMIT_EXCEEDED not in rules(order_frequency(late, MEDICARE, TODAY))
    assert rules(order_frequency(early, MEDICARE, TODAY)) == [RuleId.FREQUENCY_LIMIT_EXCEEDED]


def test_proposed_appointment_counts_other_bookings_but_not_itself() -> None:
    proposed = booking("64483", date(2026, 12, 10), status="proposed", source="Appointment/new")
    other = booking("62323", date(2026, 12, 1))
    facts = HookFacts(
        record=ClinicalRecord(performed=FOUR_LUMBAR[:3], bookings=(other, proposed)), proposed=(proposed,)
    )
    [finding] = booking_frequency(facts, MEDICARE, TODAY)
    assert finding.rule is RuleId.FREQUENCY_LIMIT_EXCEEDED
    assert finding.subject == "Appointment/new"


def test_booking_for_a_code_the_policy_does_not_count_gets_no_card() -> None:
    proposed = booking("20610", date(2026, 12, 10), status="proposed")
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR), proposed=(proposed,))
    assert booking_frequency(facts, MEDICARE, TODAY) == []


def test_budget_shows_used_left_and_next_eligible_date() -> None:
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR[:3]))
    [finding] = budget(facts, MEDICARE, TODAY)
    assert finding.rule is RuleId.FREQUENCY_BUDGET
    assert finding.severity is Severity.INFO
    assert "3/4 used in 12 mo" in finding.summary
    assert "next eligible date 2026-11-27" in finding.summary
    assert "1 left" in finding.detail


def test_budget_warns_when_no_session_is_left() -> None:
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR))
    [finding] = budget(facts, MEDICARE, TODAY)
    assert finding.severity is Severity.WARNING
    assert "next eligible date 2027-01-12" in finding.summary


def test_budget_counts_a_booked_session_as_taken() -> None:
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR[:3], bookings=(booking("62323", date(2026, 12, 1)),)))
    [finding] = budget(facts, MEDICARE, TODAY)
    assert finding.severity is Severity.WARNING
    assert "1 booked" in finding.summary
    assert "2026-12-01" in finding.detail
    assert "next eligible date 2027-01-12" in finding.summary


def test_no_budget_card_without_injection_history_or_bookings() -> None:
    assert budget(HookFacts(record=ClinicalRecord()), MEDICARE, TODAY) == []


def test_no_budget_card_when_every_session_is_older_than_the_longest_window() -> None:
    facts = HookFacts(record=ClinicalRecord(performed=(performed("62323", date(2024, 3, 1)),)))
    assert budget(facts, MEDICARE, TODAY) == []


def test_a_booking_ahead_shows_the_budget_even_without_recent_sessions() -> None:
    facts = HookFacts(
        record=ClinicalRecord(
            performed=(performed("62323", date(2024, 3, 1)),), bookings=(booking("62323", date(2026, 12, 5)),)
        )
    )
    [finding] = budget(facts, MEDICARE, TODAY)
    assert "1 booked" in finding.summary


def test_the_call_builds_one_session_history_for_all_its_rules() -> None:
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR))
    assert SessionHistory.of(facts, MEDICARE, TODAY) is SessionHistory.of(facts, MEDICARE, TODAY)


def test_another_policy_gets_its_own_session_history() -> None:
    facts = HookFacts(record=ClinicalRecord(performed=FOUR_LUMBAR))
    medicare = SessionHistory.of(facts, MEDICARE, TODAY)
    assert SessionHistory.of(facts, BCBST, TODAY).frequency is BCBST.payer.frequency
    assert SessionHistory.of(facts, MEDICARE, TODAY).frequency is medicare.frequency


def test_judging_orders_leaves_the_shared_history_as_it_was() -> None:
    facts = HookFacts(
        record=ClinicalRecord(performed=FOUR_LUMBAR[:2]),
        orders=(order("62323", date(2026, 12, 3), source="ServiceRequest/a"), order("62321", date(2026, 12, 3))),
    )
    history = SessionHistory.of(facts, MEDICARE, TODAY)
    before = {pool: dict(ledger.injections_on) for pool, ledger in history.pools.items()}
    first = order_frequency(facts, MEDICARE, TODAY)
    assert {pool: dict(ledger.injections_on) for pool, ledger in history.pools.items()} == before
    assert order_frequency(facts, MEDICARE, TODAY) == first

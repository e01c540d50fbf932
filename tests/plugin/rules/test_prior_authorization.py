from datetime import date

from fhir_mappings.facts import ClinicalRecord, StatedIntent
from plugin.rules.findings import RuleId, Severity
from plugin.rules.frequency import order_frequency
from plugin.rules.hook_facts import HookFacts
from plugin.rules.prior_authorization import booking_prior_authorization, order_prior_authorization
from tests.plugin.rules.builders import applied, booking, order, performed

GENERIC = applied("generic-3-in-6")
MEDICARE = applied("medicare-esi-lcd")
TODAY = date(2026, 11, 27)


def test_first_session_needs_no_authorization_under_the_generic_policy() -> None:
    facts = HookFacts(record=ClinicalRecord(), orders=(order("62323", date(2026, 12, 3)),))
    assert order_prior_authorization(facts, GENERIC, TODAY) == []


def test_second_session_in_twelve_months_gets_an_info_card() -> None:
    facts = HookFacts(
        record=ClinicalRecord(performed=(performed("62323", date(2026, 6, 1)),)),
        orders=(order("62323", date(2026, 12, 3)),),
    )
    [finding] = order_prior_authorization(facts, GENERIC, TODAY)
    assert finding.rule is RuleId.PRIOR_AUTH_REQUIRED
    assert finding.severity is Severity.INFO
    assert "session 2" in finding.summary


def test_sessions_older_than_the_window_do_not_count() -> None:
    facts = HookFacts(
        record=ClinicalRecord(performed=(performed("62323", date(2025, 11, 1)),)),
        orders=(order("62323", date(2026, 12, 3)),),
    )
    assert order_prior_authorization(facts, GENERIC, TODAY) == []


def test_policies_without_prior_authorization_say_nothing() -> None:
    facts = HookFacts(
        record=ClinicalRecord(performed=(performed("62323", date(2026, 6, 1)),)),
        orders=(order("62323", date(2026, 12, 3)),),
    )
    assert order_prior_authorization(facts, MEDICARE, TODAY) == []


def test_pump_trials_need_no_injection_authorization() -> None:
    trial = order("62323", date(2026, 12, 3), intent=StatedIntent(pump_trial=True))
    facts = HookFacts(record=ClinicalRecord(performed=(performed("62323", date(2026, 6, 1)),)), orders=(trial,))
    assert order_prior_authorization(facts, GENERIC, TODAY) == []


def test_booking_a_second_session_gets_the_card_too() -> None:
    proposed = booking("64483", date(2026, 12, 10), status="proposed")
    facts = HookFacts(record=ClinicalRecord(performed=(performed("62323", date(2026, 6, 1)),)), proposed=(proposed,))
    [finding] = booking_prior_authorization(facts, GENERIC, TODAY)
    assert finding.subject == proposed.source


def test_orders_judged_for_frequency_first_are_not_counted_as_earlier_sessions() -> None:
    # Both rules read one shared history per call; the frequency check counts the orders in a copy of it.
    orders = (order("62323", date(2026, 12, 3), source="ServiceRequest/a"), order("62323", date(2027, 1, 5)))
    facts = HookFacts(record=ClinicalRecord(performed=(performed("62323", date(2026, 6, 1)),)), orders=orders)
    alone = order_prior_authorization(facts, GENERIC, TODAY)
    order_frequency(facts, GENERIC, TODAY)
    assert order_prior_authorization(facts, GENERIC, TODAY) == alone
    assert [finding.summary for finding in alone] == [
        "Prior authorization may be needed: session 2 in 12 months",
        "Prior authorization may be needed: session 2 in 12 months",
    ]

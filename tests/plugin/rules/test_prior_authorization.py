from datetime import date

from fhir_mappings.facts import ClinicalRecord, StatedIntent
from plugin.rules.findings import RuleId, Severity
from plugin.rules.frequency import order_frequency
from plugin.rules.hook_facts import HookFacts
from plugin.rules.prior_authorization import booking_prior_authorization, order_prior_authorization
from tests.plugin.rules.builders import applied, booking, order, performed

EVICORE = applied("evicore-cmm-200")
MEDICARE = applied("medicare-esi-lcd")
MEDICARE_IN_TEXAS = applied("medicare-lcd-novitas", state="TX")
MEDICARE_IN_FLORIDA = applied("medicare-lcd-first-coast", state="FL")
TODAY = date(2026, 11, 27)


def sign(*orders: object, policy: object = EVICORE, history: tuple[object, ...] = ()) -> list[object]:
    facts = HookFacts(record=ClinicalRecord(performed=history), orders=orders)  # type: ignore[arg-type]
    return order_prior_authorization(facts, policy, TODAY)  # type: ignore[arg-type]


def test_evicore_reviews_the_first_session_too() -> None:
    [finding] = sign(order("62323", date(2026, 12, 3)))
    assert finding.rule is RuleId.PRIOR_AUTH_REQUIRED
    assert finding.severity is Severity.INFO
    assert "eviCore" in finding.summary


def test_wiser_asks_for_authorization_in_texas_on_a_wiser_code() -> None:
    [finding] = sign(order("64483", date(2026, 12, 3)), policy=MEDICARE_IN_TEXAS)
    assert finding.severity is Severity.WARNING
    assert "WISeR" in finding.summary


def test_wiser_is_not_asked_outside_its_states() -> None:
    assert sign(order("64483", date(2026, 12, 3)), policy=MEDICARE_IN_FLORIDA) == []


def test_wiser_is_not_judged_where_the_service_state_is_not_configured() -> None:
    assert sign(order("64483", date(2026, 12, 3)), policy=MEDICARE) == []


def test_wiser_covers_its_last_day_and_ends_after_it() -> None:
    on_last_day = sign(order("64483", date(2031, 12, 31)), policy=MEDICARE_IN_TEXAS)
    after = sign(order("64483", date(2032, 1, 1)), policy=MEDICARE_IN_TEXAS)
    assert [finding.rule for finding in on_last_day] == [RuleId.PRIOR_AUTH_REQUIRED]
    assert after == []


def test_wiser_does_not_start_before_2026() -> None:
    assert sign(order("64483", date(2025, 12, 31)), policy=MEDICARE_IN_TEXAS) == []


def test_wiser_asks_for_62323_only_for_the_lcd_indications() -> None:
    [finding] = sign(order("62323", date(2026, 12, 3)), policy=MEDICARE_IN_TEXAS)
    assert finding.severity is Severity.INFO
    assert "L39015, L39240 and L36920" in finding.detail


def test_wiser_leaves_codes_outside_its_list_alone() -> None:
    assert sign(order("62322", date(2026, 12, 3)), policy=MEDICARE_IN_TEXAS) == []


def test_pump_trials_need_no_injection_authorization() -> None:
    trial = order("62323", date(2026, 12, 3), intent=StatedIntent(pump_trial=True))
    assert sign(trial, history=(performed("62323", date(2026, 6, 1)),)) == []


def test_booking_gets_the_card_too() -> None:
    proposed = booking("64483", date(2026, 12, 10), status="proposed")
    facts = HookFacts(record=ClinicalRecord(performed=(performed("62323", date(2026, 6, 1)),)), proposed=(proposed,))
    [finding] = booking_prior_authorization(facts, EVICORE, TODAY)
    assert finding.subject == proposed.source


def test_orders_judged_for_frequency_first_are_not_counted_as_earlier_sessions() -> None:
    # Both rules read one shared history per call; the frequency check counts the orders in a copy of it.
    orders = (order("62323", date(2026, 12, 3), source="ServiceRequest/a"), order("62323", date(2027, 1, 5)))
    facts = HookFacts(record=ClinicalRecord(performed=(performed("62323", date(2026, 6, 1)),)), orders=orders)
    alone = order_prior_authorization(facts, EVICORE, TODAY)
    order_frequency(facts, EVICORE, TODAY)
    assert order_prior_authorization(facts, EVICORE, TODAY) == alone
    assert ["session 2 in the last 12 months" in finding.detail for finding in alone] == [True, True]

from dataclasses import replace
from datetime import date

from fhir_mappings.facts import (
    Authorization,
    ClinicalRecord,
    Evidence,
    PlaceFoundOn,
    ServicePlace,
    SiteOfService,
    StatedIntent,
)
from fhir_mappings.places import ANY_SITE
from plugin.policies.service_state import ServiceState, StateOrigin
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.findings import Finding, RuleId, Severity
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


def _with_sites(policy: AppliedPolicy, *sites: SiteOfService) -> AppliedPolicy:
    """`policy` whose WISeR requirement names `sites` (no shipped policy does: the WISeR text names none)."""
    version = policy.payer
    requirement = version.prior_authorizations[0].model_copy(update={"sites": list(sites)})
    payer = version.model_copy(update={"prior_authorizations": [requirement]})
    return replace(policy, payer=payer, versions=(payer,))


def sign_at(place: ServicePlace | None, policy: AppliedPolicy) -> list[Finding]:
    facts = HookFacts(record=ClinicalRecord(), orders=(order("64483", date(2026, 12, 3)),), place=place)
    return order_prior_authorization(facts, policy, TODAY)


OFFICE_ONLY = _with_sites(MEDICARE_IN_TEXAS, SiteOfService.OFFICE, SiteOfService.AMBULATORY_SURGICAL_CENTER)


def _place(*sites: SiteOfService) -> ServicePlace:
    return ServicePlace(PlaceFoundOn.ORDER, "TX", frozenset(sites))


def test_a_requirement_for_the_site_the_data_names_is_asserted() -> None:
    [finding] = sign_at(_place(SiteOfService.OFFICE), OFFICE_ONLY)
    assert finding.severity is Severity.WARNING
    assert "if done" not in finding.summary


def test_a_requirement_for_other_sites_than_the_one_the_data_names_draws_no_card() -> None:
    assert sign_at(_place(SiteOfService.INPATIENT), OFFICE_ONLY) == []


def test_where_the_data_cannot_tell_the_site_the_card_is_a_check() -> None:
    for place in (None, _place(*ANY_SITE), _place(SiteOfService.OFFICE, SiteOfService.HOSPITAL_OUTPATIENT)):
        [finding] = sign_at(place, OFFICE_ONLY)
        assert finding.severity is Severity.INFO
        assert "(if done in an office or in an ambulatory surgical center)" in finding.summary


def test_the_wiser_card_says_where_the_state_came_from_when_it_did_not_choose_the_policy() -> None:
    from_order = replace(MEDICARE, service_state=ServiceState("TX", StateOrigin.ORDER))
    [finding] = sign_at(_place(SiteOfService.OFFICE), from_order)
    assert ", service furnished in Texas (from the order's location)." in finding.detail


# The default policy (eviCore CMM-200 standing in for an unmapped plan or for no coverage) counts limits, but its
# reviewer is not the plan's: TRICARE asks no prior authorization for office ESIs, and a self-pay patient has no payer.
DEFAULT = applied("evicore-cmm-200", by_default=True)


def test_the_default_policy_asks_for_no_prior_authorization() -> None:
    assert sign(order("64483", date(2026, 12, 3)), policy=DEFAULT) == []


def test_the_default_policy_asks_for_none_when_booking_either() -> None:
    proposed = booking("64483", date(2026, 12, 10), status="proposed")
    facts = HookFacts(record=ClinicalRecord(), proposed=(proposed,))
    assert booking_prior_authorization(facts, DEFAULT, TODAY) == []


def test_the_same_policy_chosen_for_the_payer_still_asks() -> None:
    [finding] = sign(order("64483", date(2026, 12, 3)), policy=EVICORE)
    assert "eviCore" in finding.summary


# An authorization already on file (review defect 8): one the order carries, valid on the session's date and approving
# every injection code of the order, satisfies the requirement; one that does not is named on a warning.
CARELON = applied("carelon-msk01")
MEDICARE_ADVANTAGE = applied("medicare-advantage")
ON_FILE = Authorization(
    "ServiceRequest/new#pa-1", "CA-2026-558812", date(2026, 11, 24), date(2027, 2, 21), ("64483",), Evidence.STRUCTURED
)


def authorized(code: str, on: date, *authorizations: Authorization, **changes: object) -> object:
    return order(code, on, authorizations=authorizations, **changes)


def test_an_authorization_on_file_for_the_date_and_code_satisfies_the_requirement() -> None:
    for policy in (CARELON, EVICORE, MEDICARE_ADVANTAGE, MEDICARE_IN_TEXAS):
        assert sign(authorized("64483", date(2026, 12, 3), ON_FILE), policy=policy) == []


def test_a_stated_authorization_naming_no_code_satisfies_it_too() -> None:
    stated = Authorization("ServiceRequest/new", "228819341", evidence=Evidence.STATED)
    assert sign(authorized("64483", date(2026, 12, 3), stated), policy=CARELON) == []


def test_an_authorization_that_ended_before_the_session_is_named_on_a_warning() -> None:
    [finding] = sign(authorized("64483", date(2027, 3, 5), ON_FILE), policy=CARELON)
    assert finding.rule is RuleId.PRIOR_AUTH_REQUIRED
    assert finding.severity is Severity.WARNING
    assert finding.summary == "Prior authorization CA-2026-558812 ended 2027-02-21, before this ESI on 2027-03-05"
    assert "valid 2026-11-24 to 2027-02-21; for 64483" in finding.detail
    assert "Carelon must authorize this session: extend it or request a new one" in finding.detail
    assert finding.references == ("ServiceRequest/new#pa-1",)


def test_an_authorization_that_starts_after_the_session_is_named_on_a_warning() -> None:
    later = Authorization("ServiceRequest/new#pa-1", "CA-9", date(2026, 12, 10), date(2027, 3, 10))
    [finding] = sign(authorized("64483", date(2026, 12, 3), later), policy=CARELON)
    assert finding.summary == "Prior authorization CA-9 starts 2026-12-10, after this ESI on 2026-12-03"


def test_an_authorization_for_another_code_is_named_on_a_warning() -> None:
    [finding] = sign(authorized("62323", date(2026, 12, 3), ON_FILE), policy=EVICORE)
    assert finding.severity is Severity.WARNING
    assert finding.summary == "Prior authorization CA-2026-558812 approves 64483, not the 62323 ordered"
    assert "The order is for 62323, which it does not approve." in finding.detail


def test_an_add_on_level_the_authorization_does_not_approve_is_named() -> None:
    two_levels = authorized("64483", date(2026, 12, 3), ON_FILE, codes=("64483", "64484"))
    [finding] = sign(two_levels, policy=EVICORE)
    assert "approves 64483, not the 64484 ordered" in finding.summary


def test_one_authorization_on_the_first_line_covers_the_second_line_it_names() -> None:
    both = Authorization("ServiceRequest/a#pa-1", "E-1", date(2026, 11, 24), date(2027, 2, 21), ("64483", "64484"))
    first = authorized("64483", date(2026, 12, 3), both, source="ServiceRequest/a")
    second = order("64484", date(2026, 12, 3), source="ServiceRequest/b")
    assert sign(first, second) == []


def test_a_second_line_the_authorization_does_not_name_still_asks() -> None:
    first = authorized("64483", date(2026, 12, 3), ON_FILE, source="ServiceRequest/a")
    second = order("64484", date(2026, 12, 3), source="ServiceRequest/b")
    [finding] = sign(first, second)
    assert (finding.subject, finding.summary) == ("ServiceRequest/b", "Prior authorization from eviCore for this ESI")


def test_a_mismatched_authorization_under_a_condition_the_record_cannot_tell_stays_information() -> None:
    expired = Authorization("ServiceRequest/new#pa-1", "W-1", date(2026, 1, 5), date(2026, 5, 4), ("62323",))
    [finding] = sign(authorized("62323", date(2026, 12, 3), expired), policy=MEDICARE_IN_TEXAS)
    assert finding.severity is Severity.INFO
    assert "ended 2026-05-04" in finding.summary


def test_a_booking_of_an_authorized_order_gets_no_card() -> None:
    proposed = booking("64483", date(2026, 12, 10), status="proposed", authorizations=(ON_FILE,))
    facts = HookFacts(record=ClinicalRecord(), proposed=(proposed,))
    assert booking_prior_authorization(facts, CARELON, TODAY) == []


def test_a_booking_after_the_authorization_ended_is_named() -> None:
    proposed = booking("64483", date(2027, 3, 1), status="proposed", authorizations=(ON_FILE,))
    facts = HookFacts(record=ClinicalRecord(), proposed=(proposed,))
    [finding] = booking_prior_authorization(facts, CARELON, TODAY)
    assert finding.summary == "Prior authorization CA-2026-558812 ended 2027-02-21, before this ESI on 2027-03-01"
    assert "On file for this booking" in finding.detail

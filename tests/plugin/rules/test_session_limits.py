"""Per-session limits: levels and regions in one session, and add-on codes without their primary code."""

from __future__ import annotations

from datetime import date

from fhir_mappings.facts import ClinicalRecord, Evidence, InjectionOrder, PerformedInjection, StatedIntent
from fhir_mappings.spine import Approach, SpinalLevel
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.findings import Finding, Recode, RuleId, Severity
from plugin.rules.hook_facts import HookFacts
from plugin.rules.session_limits import levels_exceeded
from tests.plugin.rules.builders import applied, order, performed

MEDICARE = applied("medicare-esi-lcd")
MOLINA = applied("molina-mcp-032")
WITHOUT_SESSION_LIMITS = applied("molina-mcp-032")
TODAY = date(2026, 11, 27)
DAY = date(2026, 12, 3)

L3_L4 = SpinalLevel("L3", "L4")
L4_L5 = SpinalLevel("L4", "L5")
L5_S1 = SpinalLevel("L5", "S1")
C6_C7 = SpinalLevel("C6", "C7")


def sign(*orders: InjectionOrder, policy: AppliedPolicy = MEDICARE) -> list[Finding]:
    findings = list(levels_exceeded(HookFacts(record=ClinicalRecord(), orders=orders), policy, TODAY))
    assert all(len(finding.summary) < 140 for finding in findings)
    return findings


def discharge(*injections: PerformedInjection) -> list[Finding]:
    facts = HookFacts(record=ClinicalRecord(performed=injections), performed_here=injections, encounter="Encounter/e")
    return list(levels_exceeded(facts, MEDICARE, TODAY))


def line(code: str, name: str, **changes: object) -> InjectionOrder:
    return order(code, DAY, source=f"ServiceRequest/{name}", **changes)


def words(*levels: SpinalLevel, approach: Approach = Approach.TRANSFORAMINAL) -> StatedIntent:
    return StatedIntent(approach=approach, levels=levels)


def test_two_transforaminal_levels_are_allowed() -> None:
    assert sign(line("64483", "a", intent=words(L4_L5)), line("64484", "b", intent=words(L5_S1))) == []


def test_three_transforaminal_levels_by_add_on_units_exceed_medicare() -> None:
    [finding] = sign(line("64483", "a"), line("64484", "b", units=2))
    assert finding.rule is RuleId.LEVELS_EXCEEDED
    assert finding.severity is Severity.WARNING
    assert finding.summary.startswith("3 transforaminal levels")
    assert finding.citing == MEDICARE.citing
    assert MEDICARE.payer.session_limits is not None
    assert MEDICARE.payer.session_limits.citation in finding.detail


def test_levels_written_in_the_words_are_counted() -> None:
    [finding] = sign(line("64483", "a", intent=words(L3_L4, L4_L5, L5_S1)))
    assert "L3-L4, L4-L5, L5-S1" in finding.detail


def test_right_and_left_lines_are_the_same_levels() -> None:
    orders = [line("64483", f"{side}-primary", modifiers=(side,)) for side in ("RT", "LT")] + [
        line("64484", f"{side}-add-on", modifiers=(side,)) for side in ("RT", "LT")
    ]
    assert sign(*orders) == []


def test_bilateral_modifier_does_not_double_the_levels() -> None:
    assert sign(line("64483", "a", modifiers=("50",)), line("64484", "b", modifiers=("50",))) == []


def test_two_interlaminar_injections_in_one_session_exceed_medicare() -> None:
    [finding] = sign(line("62323", "a"), line("62323", "b"))
    assert finding.summary.startswith("2 interlaminar levels")


def test_two_interlaminar_levels_in_the_words_exceed_medicare() -> None:
    [finding] = sign(line("62323", "a", intent=words(L4_L5, L5_S1, approach=Approach.INTERLAMINAR)))
    assert finding.summary.startswith("2 interlaminar levels")


def test_catheter_codes_are_not_counted_by_medicare() -> None:
    assert sign(line("62327", "a"), line("62327", "b")) == []


def test_two_regions_in_one_session_exceed_medicare() -> None:
    [finding] = sign(line("64483", "lumbar"), line("64479", "cervical"))
    assert finding.summary.startswith("2 spinal regions")
    assert "cervical/thoracic: 64479" in finding.detail
    assert finding.subject == "ServiceRequest/cervical"


def test_two_regions_on_different_days_are_two_sessions() -> None:
    assert sign(line("64483", "lumbar"), order("64479", date(2026, 12, 10), source="ServiceRequest/cervical")) == []


def test_levels_of_two_regions_in_one_order_are_two_regions() -> None:
    [finding] = sign(line("64483", "a", intent=words(C6_C7, L5_S1)))
    assert finding.summary.startswith("2 spinal regions")


def test_modifier_59_is_named_as_not_getting_round_one_region() -> None:
    [finding] = sign(line("64483", "lumbar"), line("64479", "cervical", modifiers=("59",)))
    assert "Modifier 59 on 64479" in finding.detail
    assert MEDICARE.conventions.session_counting.distinct_procedure_citation in finding.detail


def test_policies_without_session_limits_allow_more_levels() -> None:
    orders = (line("64483", "a"), line("64484", "b", units=3), line("64479", "c"))
    assert sign(*orders, policy=MOLINA) == []
    assert sign(*orders, policy=WITHOUT_SESSION_LIMITS) == []


def test_add_on_without_its_primary_is_recoded_to_the_primary() -> None:
    [finding] = sign(line("64484", "a"))
    assert finding.rule is RuleId.LEVELS_EXCEEDED
    [fix] = finding.fixes
    assert isinstance(fix, Recode)
    assert (fix.order, fix.code) == ("ServiceRequest/a", "64483")
    assert finding.citing == MEDICARE.conventions_citing
    assert MEDICARE.conventions.session_counting.add_on_citation in finding.detail


def test_only_the_first_of_several_orphan_add_ons_becomes_the_primary() -> None:
    [finding] = sign(line("64484", "a"), line("64484", "b"))
    [fix] = finding.fixes
    assert isinstance(fix, Recode)
    assert (fix.order, fix.code) == ("ServiceRequest/a", "64483")


def test_add_on_without_primary_is_judged_for_every_payer() -> None:
    [finding] = sign(line("64480", "a"), policy=WITHOUT_SESSION_LIMITS)
    [fix] = finding.fixes
    assert isinstance(fix, Recode)
    assert fix.code == "64479"


def test_add_on_beside_the_other_regions_primary_gets_that_primarys_add_on() -> None:
    findings = sign(line("64483", "primary"), line("64480", "add-on"))
    orphan = next(finding for finding in findings if finding.subject == "ServiceRequest/add-on")
    [fix] = orphan.fixes
    assert isinstance(fix, Recode)
    assert fix.code == "64484"


def test_add_on_with_its_primary_on_another_order_is_fine() -> None:
    assert sign(line("64484", "add-on"), line("64483", "primary")) == []


def test_add_on_and_its_primary_on_one_order_are_fine() -> None:
    assert sign(line("64483", "a", codes=("64483", "64484"))) == []


def test_orphan_add_on_on_an_order_with_another_code_is_not_recoded() -> None:
    [finding] = sign(line("64479", "a", codes=("64479", "64484")), policy=WITHOUT_SESSION_LIMITS)
    assert finding.fixes == ()


def test_performed_add_on_without_its_primary_names_the_primary_without_a_fix() -> None:
    [finding] = discharge(performed("64484", TODAY, source="Procedure/p1"))
    assert finding.fixes == ()
    assert "bill 64483" in finding.summary


def test_performed_add_on_with_its_primary_the_same_day_is_fine() -> None:
    assert discharge(performed("64483", TODAY), performed("64484", TODAY)) == []


def test_performed_levels_over_the_limit_are_flagged() -> None:
    [finding] = discharge(performed("64483", TODAY, units=3))
    assert finding.summary.startswith("3 transforaminal levels")


def test_lines_for_each_side_over_the_limit_say_how_sides_are_counted() -> None:
    orders = [line("64483", f"{side}-primary", modifiers=(side,)) for side in ("RT", "LT")]
    orders += [line("64484", f"{side}-add-on", modifiers=(side,), units=2) for side in ("RT", "LT")]
    [finding] = sign(*orders)
    assert finding.summary.startswith("3 transforaminal levels")
    assert MEDICARE.conventions.session_counting.laterality_citation in finding.detail


def test_levels_only_mentioned_are_not_counted() -> None:
    mentioned = StatedIntent(
        approach=Approach.TRANSFORAMINAL,
        levels=(L3_L4, L4_L5, L5_S1),
        evidence=(("levels", Evidence.MENTIONED),),
    )
    assert sign(line("64483", "a", intent=mentioned)) == []


def test_a_level_only_mentioned_in_another_region_is_no_second_region() -> None:
    mentioned = StatedIntent(levels=(C6_C7, L5_S1), evidence=(("levels", Evidence.MENTIONED),))
    assert sign(line("64483", "a", intent=mentioned)) == []


def test_the_regions_and_levels_of_one_session_name_the_session() -> None:
    findings = sign(line("62323", "lumbar"), line("62321", "cervical"))
    assert [finding.summary[:17] for finding in findings] == ["2 spinal regions ", "2 interlaminar le"]
    assert {finding.session for finding in findings} == {DAY}

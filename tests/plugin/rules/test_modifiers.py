"""Modifiers the coding conventions forbid on a code, and bilateral interlaminar injections a payer does not allow."""

from __future__ import annotations

from datetime import date

from fhir_mappings.facts import ClinicalRecord, Evidence, InjectionOrder, PerformedInjection, StatedIntent
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.findings import Finding, RuleId, Severity
from plugin.rules.hook_facts import HookFacts
from plugin.rules.modifiers import invalid_modifiers
from tests.plugin.rules.builders import applied, order, performed

MEDICARE = applied("medicare-esi-lcd")
MOLINA = applied("molina-mcp-032")
TODAY = date(2026, 11, 27)
BILATERAL = StatedIntent(bilateral=True)


def sign(*orders: InjectionOrder, policy: AppliedPolicy = MEDICARE) -> list[Finding]:
    findings = list(invalid_modifiers(HookFacts(record=ClinicalRecord(), orders=orders), policy, TODAY))
    assert all(len(finding.summary) < 140 for finding in findings)
    return findings


def discharge(*injections: PerformedInjection) -> list[Finding]:
    facts = HookFacts(record=ClinicalRecord(performed=injections), performed_here=injections, encounter="Encounter/e")
    return list(invalid_modifiers(facts, MEDICARE, TODAY))


def test_bilateral_modifier_on_an_interlaminar_code_is_invalid() -> None:
    [finding] = sign(order("62323", TODAY, modifiers=("50",)))
    assert finding.rule is RuleId.MODIFIER_INVALID
    assert finding.severity is Severity.WARNING
    assert finding.summary.startswith("Modifier 50 not allowed on 62323")
    assert finding.citing == MEDICARE.conventions_citing
    assert MEDICARE.conventions.modifier_restrictions[0].citation in finding.detail


def test_laterality_modifiers_on_an_interlaminar_code_are_named_together() -> None:
    [finding] = sign(order("62321", TODAY, modifiers=("RT", "LT")))
    assert finding.summary.startswith("Modifiers RT/LT not allowed on 62321")


def test_modifiers_forbidden_for_every_payer() -> None:
    assert [finding.rule for finding in sign(order("62323", TODAY, modifiers=("LT",)), policy=MOLINA)] == [
        RuleId.MODIFIER_INVALID
    ]


def test_bilateral_modifier_on_a_transforaminal_code_is_allowed() -> None:
    assert sign(order("64483", TODAY, modifiers=("50",))) == []


def test_other_modifiers_on_an_interlaminar_code_are_left_alone() -> None:
    assert sign(order("62323", TODAY, modifiers=("KX",))) == []


def test_bilateral_interlaminar_in_the_words_breaks_medicare() -> None:
    [finding] = sign(order("62323", TODAY, intent=BILATERAL))
    assert finding.rule is RuleId.MODIFIER_INVALID
    assert finding.citing == MEDICARE.citing
    assert MEDICARE.payer.session_limits is not None
    assert MEDICARE.payer.session_limits.citation in finding.detail


def test_bilateral_interlaminar_is_one_card_when_modifier_50_is_also_there() -> None:
    [finding] = sign(order("62323", TODAY, modifiers=("50",), intent=BILATERAL))
    assert finding.citing == MEDICARE.conventions_citing


def test_bilateral_interlaminar_words_are_fine_without_a_session_limit_policy() -> None:
    assert sign(order("62323", TODAY, intent=BILATERAL), policy=MOLINA) == []


def test_bilateral_transforaminal_words_are_fine() -> None:
    assert sign(order("64483", TODAY, intent=BILATERAL)) == []


def test_performed_injection_with_a_forbidden_modifier_is_flagged_for_the_claim() -> None:
    [finding] = discharge(performed("62323", TODAY, source="Procedure/p1", modifiers=("50",)))
    assert finding.subject == "Procedure/p1"
    assert finding.fixes == ()
    assert "on the claim" in finding.summary


def test_bilateral_only_mentioned_asks_to_check_the_injection_is_midline() -> None:
    intent = StatedIntent(bilateral=True, evidence=(("bilateral", Evidence.MENTIONED),))
    [finding] = sign(order("62323", TODAY, intent=intent))
    assert finding.rule is RuleId.MODIFIER_INVALID
    assert finding.summary == "The order mentions bilateral: check that the 62323 is one midline injection"
    assert "perhaps of the symptoms" in finding.detail

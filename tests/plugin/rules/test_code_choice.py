"""Code choice: approach, region, catheter and neurolytic substance against the injection code."""

from __future__ import annotations

from datetime import date

from msgspec.structs import replace

from fhir_mappings.facts import ClinicalRecord, Evidence, InjectionOrder, Modality, PerformedInjection, StatedIntent
from fhir_mappings.spine import Approach, SpinalLevel, SpinalRegion
from plugin.rules import code_choice
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.code_choice import code_mismatches
from plugin.rules.findings import Finding, Recode, RemoveOrder, RuleId, Severity
from plugin.rules.hook_facts import HookFacts
from plugin.rules.modifiers import invalid_modifiers
from plugin.rules.session_limits import levels_exceeded
from tests.plugin.rules.builders import applied, order, performed

MEDICARE = applied("medicare-esi-lcd")
WITHOUT_IMAGING_RULE = applied("molina-mcp-032")
TODAY = date(2026, 11, 27)
ORDER = "ServiceRequest/new"

TF = Approach.TRANSFORAMINAL
IL = Approach.INTERLAMINAR
FLUORO = frozenset({Modality.FLUOROSCOPY})
LUMBAR = frozenset({SpinalRegion.LUMBAR_SACRAL})
CERVICAL = frozenset({SpinalRegion.CERVICAL_THORACIC})
L4_L5 = SpinalLevel("L4", "L5")
L5_S1 = SpinalLevel("L5", "S1")
C6_C7 = SpinalLevel("C6", "C7")
T12_L1 = SpinalLevel("T12", "L1")


def check(*orders: InjectionOrder, policy: AppliedPolicy = MEDICARE) -> list[Finding]:
    findings = list(code_mismatches(HookFacts(record=ClinicalRecord(), orders=orders), policy, TODAY))
    assert all(len(finding.summary) < 140 for finding in findings)
    return findings


def discharge(*injections: PerformedInjection) -> list[Finding]:
    facts = HookFacts(record=ClinicalRecord(performed=injections), performed_here=injections, encounter="Encounter/e")
    return list(code_mismatches(facts, MEDICARE, TODAY))


def recoded_to(finding: Finding) -> str:
    [fix] = finding.fixes
    assert isinstance(fix, Recode)
    assert fix.order == ORDER
    return fix.code


def test_correct_interlaminar_order_gets_no_card() -> None:
    lumbar_il = StatedIntent(approach=IL, levels=(L4_L5,), body_site_regions=LUMBAR, guidance=FLUORO)
    assert check(order("62323", None, intent=lumbar_il)) == []


def test_correct_transforaminal_orders_with_add_on_get_no_card() -> None:
    words = StatedIntent(approach=TF, levels=(L4_L5, L5_S1), body_site_regions=LUMBAR, guidance=FLUORO)
    orders = (order("64483", None, intent=words), order("64484", None, source="ServiceRequest/add-on", intent=words))
    assert check(*orders) == []


def test_t12_l1_transforaminal_is_cervical_thoracic() -> None:
    words = StatedIntent(approach=TF, levels=(T12_L1,), body_site_regions=CERVICAL, guidance=FLUORO)
    assert check(order("64479", None, intent=words)) == []


def test_t12_l1_transforaminal_coded_lumbar_is_recoded_to_64479() -> None:
    [finding] = check(order("64483", None, intent=StatedIntent(approach=TF, levels=(T12_L1,))))
    assert finding.rule is RuleId.CODE_REGION_MISMATCH
    assert recoded_to(finding) == "64479"


def test_transforaminal_words_with_an_interlaminar_code_get_the_transforaminal_code() -> None:
    [finding] = check(order("62323", None, intent=StatedIntent(approach=TF, levels=(L4_L5,))))
    assert finding.rule is RuleId.CODE_APPROACH_MISMATCH
    assert finding.severity is Severity.WARNING
    assert recoded_to(finding) == "64483"
    assert "**64483**" in finding.detail


def test_interlaminar_words_with_a_transforaminal_code_keep_imaging() -> None:
    [finding] = check(order("64479", None, intent=StatedIntent(approach=IL, levels=(C6_C7,))))
    assert finding.rule is RuleId.CODE_APPROACH_MISMATCH
    assert recoded_to(finding) == "62321"


def test_approach_card_cites_the_coding_conventions() -> None:
    [finding] = check(order("62323", None, intent=StatedIntent(approach=TF)))
    assert finding.citing == MEDICARE.conventions_citing
    assert finding.subject == ORDER


def test_caudal_with_a_cervical_code_is_a_region_mismatch_to_62323() -> None:
    caudal = StatedIntent(approach=IL, body_site_regions=LUMBAR)
    [finding] = check(order("62321", None, intent=caudal))
    assert finding.rule is RuleId.CODE_REGION_MISMATCH
    assert recoded_to(finding) == "62323"


def test_caudal_with_a_transforaminal_code_is_an_approach_mismatch_to_62323() -> None:
    caudal = StatedIntent(approach=IL, body_site_regions=LUMBAR)
    [finding] = check(order("64483", None, intent=caudal))
    assert finding.rule is RuleId.CODE_APPROACH_MISMATCH
    assert recoded_to(finding) == "62323"


def test_cervical_levels_with_a_lumbar_transforaminal_code_get_64479() -> None:
    [finding] = check(order("64483", None, intent=StatedIntent(levels=(C6_C7,))))
    assert finding.rule is RuleId.CODE_REGION_MISMATCH
    assert recoded_to(finding) == "64479"
    assert "C6-C7" in finding.summary


def test_body_site_region_is_judged_when_no_level_is_written() -> None:
    [finding] = check(order("62323", None, intent=StatedIntent(body_site_regions=CERVICAL)))
    assert finding.rule is RuleId.CODE_REGION_MISMATCH
    assert recoded_to(finding) == "62321"


def test_levels_outweigh_region_words() -> None:
    both = StatedIntent(levels=(L4_L5,), body_site_regions=CERVICAL | LUMBAR)
    assert check(order("62323", None, intent=both)) == []


def test_levels_in_two_regions_decide_no_region() -> None:
    assert check(order("64483", None, intent=StatedIntent(levels=(C6_C7, L5_S1)))) == []


def test_approach_and_region_cards_suggest_the_same_code() -> None:
    findings = check(order("62321", None, intent=StatedIntent(approach=TF, levels=(L5_S1,))))
    assert {finding.rule for finding in findings} == {RuleId.CODE_APPROACH_MISMATCH, RuleId.CODE_REGION_MISMATCH}
    assert {recoded_to(finding) for finding in findings} == {"64483"}


def test_transforaminal_stated_without_imaging_still_gets_a_code_that_exists() -> None:
    unguided = StatedIntent(approach=TF, without_guidance=True)
    [finding] = check(order("62322", None, intent=unguided))
    assert recoded_to(finding) == "64483"


def test_interlaminar_stated_without_imaging_gets_the_without_imaging_code() -> None:
    unguided = StatedIntent(approach=IL, without_guidance=True, levels=(L4_L5,))
    [finding] = check(order("64483", None, intent=unguided), policy=WITHOUT_IMAGING_RULE)
    assert recoded_to(finding) == "62322"
    assert "no imaging guidance" in finding.detail


def test_ultrasound_guidance_is_not_imaging_guidance_for_the_code() -> None:
    by_ultrasound = StatedIntent(approach=IL, guidance=frozenset({Modality.ULTRASOUND}))
    [finding] = check(order("64483", None, intent=by_ultrasound), policy=WITHOUT_IMAGING_RULE)
    assert recoded_to(finding) == "62322"


def test_a_payer_requiring_guidance_gets_the_with_imaging_code_whatever_the_words_say() -> None:
    unguided = StatedIntent(approach=IL, without_guidance=True, levels=(L4_L5,))
    [finding] = check(order("64483", None, intent=unguided))
    assert recoded_to(finding) == "62323"
    assert "covers this injection only with it: perform it under fluoroscopy or CT" in finding.detail


def test_a_payer_requiring_guidance_leaves_a_catheter_code_it_does_not_cover_alone() -> None:
    catheter = StatedIntent(approach=IL, catheter=True, levels=(L4_L5,))
    [finding] = check(order("62322", None, intent=catheter))
    assert recoded_to(finding) == "62326"


def test_imaging_alone_is_left_to_the_imaging_rules() -> None:
    assert check(order("62322", None, intent=StatedIntent(approach=IL, guidance=FLUORO))) == []


def test_catheter_with_a_single_shot_code_gets_the_catheter_code() -> None:
    [finding] = check(order("62323", None, intent=StatedIntent(catheter=True)))
    assert finding.rule is RuleId.CODE_CATHETER_MISMATCH
    assert recoded_to(finding) == "62327"


def test_cervical_catheter_gets_62325() -> None:
    [finding] = check(order("62321", None, intent=StatedIntent(catheter=True)))
    assert recoded_to(finding) == "62325"


def test_single_shot_with_a_catheter_code_gets_the_single_shot_code() -> None:
    [finding] = check(order("62327", None, intent=StatedIntent(catheter=False)))
    assert finding.rule is RuleId.CODE_CATHETER_MISMATCH
    assert recoded_to(finding) == "62323"


def test_catheter_words_on_a_transforaminal_code_are_not_a_catheter_mismatch() -> None:
    assert check(order("64483", None, intent=StatedIntent(catheter=True))) == []


def test_pump_trial_through_a_catheter_keeps_62323() -> None:
    assert check(order("62323", None, intent=StatedIntent(catheter=True, pump_trial=True))) == []


def test_neurolytic_with_a_lumbar_epidural_code_gets_62282() -> None:
    [finding] = check(order("62323", None, intent=StatedIntent(neurolytic=True)))
    assert finding.rule is RuleId.CODE_NEUROLYTIC
    assert recoded_to(finding) == "62282"
    assert MEDICARE.conventions.neurolytic_citation in finding.detail


def test_neurolytic_with_a_cervical_catheter_code_gets_62281() -> None:
    [finding] = check(order("62325", None, intent=StatedIntent(neurolytic=True, catheter=True)))
    assert finding.rule is RuleId.CODE_NEUROLYTIC
    assert recoded_to(finding) == "62281"


def test_neurolytic_in_another_region_gives_two_cards_with_one_code() -> None:
    findings = check(order("62321", None, intent=StatedIntent(neurolytic=True, levels=(L4_L5,), approach=TF)))
    assert {finding.rule for finding in findings} == {RuleId.CODE_NEUROLYTIC, RuleId.CODE_REGION_MISMATCH}
    assert {recoded_to(finding) for finding in findings} == {"62282"}


def test_neurolytic_words_with_a_transforaminal_code_are_not_judged() -> None:
    assert check(order("64483", None, intent=StatedIntent(neurolytic=True))) == []


def test_neurolytic_code_in_the_wrong_region_gets_the_other_neurolytic_code() -> None:
    [finding] = check(order("62281", None, intent=StatedIntent(neurolytic=True, levels=(L4_L5,))))
    assert finding.rule is RuleId.CODE_REGION_MISMATCH
    assert recoded_to(finding) == "62282"


def test_add_on_level_in_the_other_region_gets_the_other_add_on() -> None:
    [finding] = check(order("64484", None, intent=StatedIntent(levels=(C6_C7,))))
    assert finding.rule is RuleId.CODE_REGION_MISMATCH
    assert recoded_to(finding) == "64480"


def test_add_on_level_said_to_be_interlaminar_is_removed() -> None:
    [finding] = check(order("64484", None, intent=StatedIntent(approach=IL)))
    assert finding.rule is RuleId.CODE_APPROACH_MISMATCH
    assert finding.fixes == (RemoveOrder(order=ORDER, label="Remove the 64484 add-on order"),)


def test_order_without_a_code_is_not_judged() -> None:
    assert check(order(None, None, intent=StatedIntent(approach=TF))) == []


def test_performed_injection_card_names_the_code_without_a_fix() -> None:
    [finding] = discharge(performed("62323", TODAY, source="Procedure/p1", intent=StatedIntent(approach=TF)))
    assert finding.rule is RuleId.CODE_APPROACH_MISMATCH
    assert finding.fixes == ()
    assert finding.subject == "Procedure/p1"
    assert "bill 64483" in finding.summary
    assert "**64483**" in finding.detail


def test_performed_injection_not_completed_is_not_judged() -> None:
    assert discharge(performed("62323", TODAY, status="not-done", intent=StatedIntent(approach=TF))) == []


def test_order_select_runs_the_code_checks_only() -> None:
    select = code_choice.ORDER_SELECT_RULES
    assert select == (code_mismatches,)


def test_order_sign_and_discharge_run_levels_and_modifiers_too() -> None:
    signing, discharging = code_choice.ORDER_SIGN_RULES, code_choice.DISCHARGE_RULES
    assert signing == discharging == (code_mismatches, levels_exceeded, invalid_modifiers)


def test_a_card_says_which_other_stated_properties_its_code_also_fixes() -> None:
    findings = check(order("62321", None, intent=StatedIntent(approach=TF, levels=(L5_S1,))))
    approach = next(finding for finding in findings if finding.rule is RuleId.CODE_APPROACH_MISMATCH)
    assert "also fits the lumbar/sacral region" in approach.detail


def test_neurolytic_card_does_not_claim_imaging_its_code_lacks() -> None:
    said = StatedIntent(neurolytic=True, guidance=FLUORO)
    [finding] = check(order("62323", None, intent=said))
    assert "imaging" not in finding.detail.split("The right code")[1].split("\n")[0].replace("neurolytic", "")


def test_region_card_explains_a_level_across_two_regions() -> None:
    [finding] = check(order("64483", None, intent=StatedIntent(levels=(T12_L1,))))
    assert "belongs to its upper segment's region" in finding.detail


def test_region_card_of_a_level_within_one_region_needs_no_explanation() -> None:
    [finding] = check(order("64483", None, intent=StatedIntent(levels=(C6_C7,))))
    assert "upper segment" not in finding.detail


# --- evidence decides the card (docs/card-text.md, "Evidence") -----------------------------------------------------


def mentioned(intent: StatedIntent, *attributes: str) -> StatedIntent:
    """`intent`, with `attributes` read only from words that may not be about this injection."""
    return replace(intent, evidence=tuple((name, Evidence.MENTIONED) for name in attributes))


def test_a_catheter_only_mentioned_asks_to_check_and_offers_no_fix() -> None:
    intent = mentioned(StatedIntent(approach=IL, levels=(L4_L5,), guidance=FLUORO, catheter=True), "catheter")
    [finding] = check(order("62323", None, intent=intent))
    assert finding.rule is RuleId.CODE_CATHETER_MISMATCH
    assert finding.severity is Severity.WARNING
    assert finding.fixes == ()
    assert finding.summary == "The order mentions a catheter: check whether 62323 is right"
    assert "the right code is **62327**" in finding.detail


def test_a_stated_catheter_gets_the_fix() -> None:
    intent = StatedIntent(approach=IL, levels=(L4_L5,), guidance=FLUORO, catheter=True)
    [finding] = check(order("62323", None, intent=intent))
    assert recoded_to(finding) == "62327"


def test_a_structured_catheter_gets_the_fix() -> None:
    intent = StatedIntent(catheter=True, evidence=(("catheter", Evidence.STRUCTURED),))
    [finding] = check(order("62323", None, intent=intent))
    assert recoded_to(finding) == "62327"


def test_a_level_only_mentioned_in_another_region_asks_to_check() -> None:
    intent = mentioned(StatedIntent(approach=IL, levels=(SpinalLevel("T2"),), guidance=FLUORO), "levels")
    [finding] = check(order("62323", None, intent=intent))
    assert finding.rule is RuleId.CODE_REGION_MISMATCH
    assert finding.fixes == ()
    assert finding.summary.startswith("The order mentions T2 (cervical/thoracic): check whether 62323 is right")


def test_an_approach_only_mentioned_asks_to_check() -> None:
    intent = mentioned(StatedIntent(approach=TF, levels=(L4_L5,), guidance=FLUORO), "approach")
    [finding] = check(order("62323", None, intent=intent))
    assert (finding.rule, finding.fixes) == (RuleId.CODE_APPROACH_MISMATCH, ())


def test_a_neurolytic_only_mentioned_asks_to_check() -> None:
    intent = mentioned(StatedIntent(approach=IL, levels=(L4_L5,), guidance=FLUORO, neurolytic=True), "neurolytic")
    [finding] = check(order("62323", None, intent=intent))
    assert (finding.rule, finding.fixes) == (RuleId.CODE_NEUROLYTIC, ())
    assert "62282" in finding.detail


def test_a_mention_does_not_change_the_code_a_firm_card_suggests() -> None:
    intent = mentioned(StatedIntent(approach=TF, levels=(L4_L5,), guidance=FLUORO, catheter=True), "catheter")
    findings = check(order("62323", None, intent=intent))
    assert [recoded_to(finding) for finding in findings if finding.fixes] == ["64483"]


def test_a_mention_that_agrees_with_the_firm_reading_adds_no_card() -> None:
    intent = StatedIntent(
        approach=TF, levels=(L4_L5,), guidance=FLUORO, evidence=(("body_site_regions", Evidence.MENTIONED),)
    )
    findings = check(order("62323", None, intent=intent))
    assert [finding.rule for finding in findings] == [RuleId.CODE_APPROACH_MISMATCH]


def test_levels_against_a_coded_body_site_of_another_region_only_ask_to_check() -> None:
    intent = StatedIntent(
        approach=IL,
        levels=(L4_L5,),
        body_site_regions=CERVICAL,
        guidance=FLUORO,
        evidence=(("body_site_regions", Evidence.STRUCTURED),),
    )
    [finding] = check(order("62321", None, intent=intent))
    assert finding.rule is RuleId.CODE_REGION_MISMATCH
    assert finding.fixes == ()
    assert "check whether 62321 is right" in finding.summary

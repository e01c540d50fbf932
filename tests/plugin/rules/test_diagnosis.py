"""The diagnosis rules: missing, invalid, non-specific, conflicting and uncovered ICD-10-CM reasons."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from fhir_mappings.facts import (
    ClinicalRecord,
    CompanionOrder,
    Diagnosis,
    Evidence,
    InjectionOrder,
    PerformedInjection,
    StatedIntent,
)
from fhir_mappings.spine import SpinalLevel, SpinalRegion
from plugin.rules import diagnosis
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.diagnosis import (
    diagnosis_conflict,
    diagnosis_invalid,
    diagnosis_missing,
    diagnosis_nonspecific,
    diagnosis_not_covered,
)
from plugin.rules.findings import Finding, RuleId, SetReason, Severity
from plugin.rules.hook_facts import HookFacts
from tests.plugin.rules.builders import applied, order, performed

MEDICARE = applied("medicare-esi-lcd")
DEFAULT = applied("evicore-cmm-200", by_default=True)
TODAY = date(2026, 11, 27)
ORDER = "ServiceRequest/new"


def condition(id: str, code: str, *, active: bool = True, confirmed: bool = True) -> Diagnosis:
    return Diagnosis(f"Condition/{id}", code, None, active, confirmed, date(2026, 9, 1))


def facts(
    *orders_: InjectionOrder,
    conditions: Iterable[Diagnosis] = (),
    companions: tuple[CompanionOrder, ...] = (),
    conditions_known: bool = True,
) -> HookFacts:
    return HookFacts(
        record=ClinicalRecord(diagnoses=tuple(conditions)),
        orders=orders_,
        companions=companions,
        conditions_known=conditions_known,
    )


def lumbar(code: str = "62323", *reasons: str, **changes: Any) -> InjectionOrder:
    """A draft lumbar injection order for L4-L5 with these reason codes."""
    fields: dict[str, Any] = {"reason_codes": reasons, "intent": StatedIntent(levels=(SpinalLevel("L4", "L5"),))}
    fields.update(changes)
    return order(code, date(2026, 12, 3), **fields)


def all_findings(hook_facts: HookFacts, policy: AppliedPolicy = MEDICARE) -> list[Finding]:
    return [finding for rule in diagnosis.RULES for finding in rule(hook_facts, policy, TODAY)]


def suggested(finding: Finding) -> list[str]:
    return [fix.code for fix in finding.fixes if isinstance(fix, SetReason)]


# --- a correct order ------------------------------------------------------------------------------------------------


def test_correct_lumbar_order_with_its_disc_diagnosis_gets_no_finding() -> None:
    assert all_findings(facts(lumbar("62323", "M51.16"), conditions=[condition("c1", "M51.16")])) == []


def test_correct_order_referencing_its_condition_gets_no_finding() -> None:
    order_ = lumbar("62323", reason_references=("Condition/c1",))
    assert all_findings(facts(order_, conditions=[condition("c1", "M51.16")])) == []


def test_absolute_reference_to_a_condition_on_record_resolves() -> None:
    order_ = lumbar("62323", reason_references=("https://ehr.example.org/fhir/Condition/c1/_history/2",))
    assert all_findings(facts(order_, conditions=[condition("c1", "M51.16")])) == []


def test_every_service_runs_every_diagnosis_rule() -> None:
    assert diagnosis.ORDER_SELECT_RULES == diagnosis.ORDER_SIGN_RULES == diagnosis.DISCHARGE_RULES == diagnosis.RULES
    assert len(diagnosis.RULES) == 5


def test_summaries_stay_under_140_characters() -> None:
    long_codes = ("M51.36", "M54.4", "G54.3", "M47.816", "M54.50", "Z99.999")
    findings = all_findings(facts(lumbar("62323", *long_codes), conditions=[condition("c1", "M51.17")]))
    assert findings
    assert all(len(finding.summary) < 140 and finding.severity is Severity.WARNING for finding in findings)


# --- diagnosis-missing ----------------------------------------------------------------------------------------------


def test_order_without_reason_is_missing_a_diagnosis() -> None:
    [finding] = diagnosis_missing(facts(lumbar("62323")), MEDICARE, TODAY)
    assert finding.rule is RuleId.DIAGNOSIS_MISSING
    assert finding.subject == ORDER
    assert finding.citing is not None
    assert (finding.citing.id, finding.citing.url) == (
        "coding-conventions",
        str(MEDICARE.conventions.diagnosis.link.url),
    )
    assert finding.fixes == ()


def test_missing_suggests_the_covered_condition_on_record() -> None:
    conditions = [condition("c1", "M54.50"), condition("c2", "M47.816"), condition("c3", "M51.16")]
    [finding] = diagnosis_missing(facts(lumbar("62323"), conditions=conditions), MEDICARE, TODAY)
    assert finding.fixes == (
        SetReason(ORDER, "M51.16", "Intervertebral disc disorders with radiculopathy, lumbar region", "Condition/c3"),
    )


def test_missing_without_payer_list_suggests_a_covered_indication_of_the_region() -> None:
    conditions = [
        condition("c1", "M50.12"),
        condition("c2", "M47.816"),
        condition("c3", "M54.50"),
        condition("c4", "M48.062"),
    ]
    [finding] = diagnosis_missing(facts(lumbar("62323"), conditions=conditions), DEFAULT, TODAY)
    assert suggested(finding) == ["M48.062"]


def test_without_payer_list_spondylosis_without_radiculopathy_is_never_offered() -> None:
    # M47.816 is a lumbar spinal diagnosis but a weak ESI indication alone (domain reference §4): a one-click "Use
    # M47.816" would make an axial-pain order look supported.
    conditions = [condition("c1", "M47.816")]
    assert (
        diagnosis.diagnosis_nonspecific(facts(lumbar("62323", "M54.50"), conditions=conditions), DEFAULT, TODAY) == []
    )
    [finding] = diagnosis_missing(facts(lumbar("62323"), conditions=conditions), DEFAULT, TODAY)
    assert suggested(finding) == []
    assert "No supporting diagnosis was found on record" in finding.detail


def test_uncertain_conditions_are_never_offered() -> None:
    # Provisional, differential and unconfirmed diagnoses are not coded on an outpatient claim (ICD-10-CM IV.H).
    conditions = [condition("c1", "M51.16", confirmed=False), condition("c2", "M54.16", confirmed=False)]
    assert all_findings(facts(lumbar("62323", "M54.50"), conditions=conditions)) != []
    for finding in all_findings(facts(lumbar("62323", "M54.50"), conditions=conditions)):
        assert suggested(finding) == []


def test_an_order_whose_only_reason_is_refuted_has_no_diagnosis() -> None:
    refuted = Diagnosis("Condition/c1", "M51.16", None, True, False, date(2026, 9, 1), refuted=True)
    order_ = lumbar("62323", reason_references=("Condition/c1",))
    [finding] = diagnosis_missing(facts(order_, conditions=[refuted, condition("c2", "M54.16")]), MEDICARE, TODAY)
    assert finding.summary == "The diagnosis of the 62323 order, M51.16, is ruled out on record"
    assert "Condition/c1, verification status refuted" in finding.detail
    assert suggested(finding) == ["M54.16"]
    # A refuted reason beside a confirmed one is simply not a reason: the order has a diagnosis.
    both = lumbar("62323", reason_references=("Condition/c1", "Condition/c2"))
    assert diagnosis_missing(facts(both, conditions=[refuted, condition("c2", "M54.16")]), MEDICARE, TODAY) == []


def test_missing_ignores_inactive_and_refuted_conditions() -> None:
    conditions = [condition("c1", "M51.16", active=False), condition("c2", "M51.17", confirmed=False)]
    [finding] = diagnosis_missing(facts(lumbar("62323"), conditions=conditions), MEDICARE, TODAY)
    assert finding.fixes == ()


def test_missing_suggests_nothing_when_conditions_could_not_be_read() -> None:
    hook_facts = facts(lumbar("62323"), conditions=[condition("c1", "M51.16")], conditions_known=False)
    [finding] = diagnosis_missing(hook_facts, MEDICARE, TODAY)
    assert finding.fixes == ()
    assert "could not be read" in finding.detail


def test_reason_reference_alone_is_a_diagnosis() -> None:
    order_ = lumbar("62323", reason_references=("Condition/elsewhere",))
    assert diagnosis_missing(facts(order_), MEDICARE, TODAY) == []


# --- diagnosis-invalid ----------------------------------------------------------------------------------------------


def test_lumbago_with_sciatica_category_is_invalid_and_its_children_are_suggested() -> None:
    [finding] = diagnosis_invalid(facts(lumbar("62323", "M54.4")), MEDICARE, TODAY)
    assert finding.rule is RuleId.DIAGNOSIS_INVALID
    assert suggested(finding) == ["M54.40", "M54.41", "M54.42"]
    assert all(isinstance(fix, SetReason) and fix.replaces == "M54.4" for fix in finding.fixes)


def test_invalid_recommends_the_child_on_record_first() -> None:
    [finding] = diagnosis_invalid(
        facts(lumbar("62323", "M54.4"), conditions=[condition("c9", "M54.42")]), MEDICARE, TODAY
    )
    first = finding.fixes[0]
    assert isinstance(first, SetReason)
    assert (first.code, first.condition, first.replaces) == ("M54.42", "Condition/c9", "M54.4")
    assert suggested(finding) == ["M54.42", "M54.40", "M54.41"]


def test_low_back_pain_m54_5_is_invalid_after_october_2021() -> None:
    order_ = lumbar("62323", "M54.5", occurrence=date(2021, 10, 1))
    [finding] = diagnosis_invalid(facts(order_), MEDICARE, TODAY)
    assert suggested(finding) == ["M54.50", "M54.51", "M54.59"]


def test_low_back_pain_m54_5_was_valid_before_october_2021() -> None:
    order_ = lumbar("62323", "M54.5", occurrence=date(2021, 9, 30))
    assert diagnosis_invalid(facts(order_), MEDICARE, TODAY) == []


def test_m54_50_was_not_yet_valid_before_october_2021() -> None:
    order_ = lumbar("62323", "M54.50", occurrence=date(2021, 9, 30))
    [finding] = diagnosis_invalid(facts(order_), MEDICARE, TODAY)
    assert suggested(finding) == ["M54.5"]


def test_disc_degeneration_m51_36_is_invalid_after_october_2024() -> None:
    order_ = lumbar("62323", "M51.36", occurrence=date(2024, 10, 1))
    [finding] = diagnosis_invalid(facts(order_), MEDICARE, TODAY)
    assert suggested(finding) == ["M51.360", "M51.361", "M51.362", "M51.369"]


def test_disc_degeneration_m51_36_was_valid_until_september_2024() -> None:
    order_ = lumbar("62323", "M51.36", occurrence=date(2024, 9, 30))
    assert diagnosis_invalid(facts(order_), MEDICARE, TODAY) == []


def test_unknown_code_is_invalid_without_suggestions() -> None:
    [finding] = diagnosis_invalid(facts(lumbar("62323", "Z99.999")), MEDICARE, TODAY)
    assert finding.fixes == ()
    assert "unknown code" in finding.detail


def test_order_without_date_is_judged_on_the_day_of_the_check() -> None:
    order_ = lumbar("62323", "M51.36", occurrence=None)
    [finding] = diagnosis_invalid(facts(order_), MEDICARE, TODAY)
    assert TODAY.isoformat() in finding.summary


def test_invalid_code_of_a_referenced_condition_is_reported() -> None:
    order_ = lumbar("62323", reason_references=("Condition/old",))
    [finding] = diagnosis_invalid(facts(order_, conditions=[condition("old", "M54.5")]), MEDICARE, TODAY)
    assert finding.references == ("Condition/old",)


def test_invalid_suggestions_are_capped_at_the_conventions_limit() -> None:
    [finding] = diagnosis_invalid(facts(lumbar("62323", "M51")), MEDICARE, TODAY)
    assert len(finding.fixes) == MEDICARE.conventions.diagnosis.max_suggestions


def test_invalid_suggestions_keep_to_the_region_of_the_code() -> None:
    [finding] = diagnosis_invalid(facts(lumbar("62323", "M51.1")), MEDICARE, TODAY)
    assert suggested(finding) == ["M51.15", "M51.16", "M51.17"]  # not M51.14, thoracic


# --- diagnosis-nonspecific ------------------------------------------------------------------------------------------


def test_axial_low_back_pain_with_radiculopathy_on_record_is_nonspecific() -> None:
    hook_facts = facts(lumbar("62323", "M54.50"), conditions=[condition("c1", "M51.17")])
    [finding] = diagnosis_nonspecific(hook_facts, MEDICARE, TODAY)
    assert finding.rule is RuleId.DIAGNOSIS_NONSPECIFIC
    assert finding.fixes == (
        SetReason(
            ORDER,
            "M51.17",
            "Intervertebral disc disorders with radiculopathy, lumbosacral region",
            "Condition/c1",
            "M54.50",
        ),
    )


def test_axial_pain_without_a_specific_diagnosis_on_record_is_not_flagged() -> None:
    hook_facts = facts(lumbar("62323", "M54.50"), conditions=[condition("c1", "M54.50")])
    assert diagnosis_nonspecific(hook_facts, MEDICARE, TODAY) == []


def test_axial_pain_beside_the_specific_diagnosis_on_the_order_is_not_flagged() -> None:
    hook_facts = facts(lumbar("62323", "M54.50", "M51.16"), conditions=[condition("c1", "M51.16")])
    assert diagnosis_nonspecific(hook_facts, MEDICARE, TODAY) == []


def test_specific_diagnosis_of_another_region_does_not_make_low_back_pain_nonspecific() -> None:
    hook_facts = facts(lumbar("62323", "M54.50"), conditions=[condition("c1", "M50.12")])
    assert diagnosis_nonspecific(hook_facts, MEDICARE, TODAY) == []


def test_nonspecific_is_not_judged_when_conditions_could_not_be_read() -> None:
    hook_facts = facts(lumbar("62323", "M54.50"), conditions=[condition("c1", "M51.17")], conditions_known=False)
    assert diagnosis_nonspecific(hook_facts, MEDICARE, TODAY) == []


# --- diagnosis-conflict ---------------------------------------------------------------------------------------------


def test_lumbago_with_sciatica_and_lumbar_disc_disorder_conflict() -> None:
    [finding] = diagnosis_conflict(facts(lumbar("62323", "M54.41", "M51.16")), MEDICARE, TODAY)
    assert finding.rule is RuleId.DIAGNOSIS_CONFLICT
    assert "M54.4 Excludes1" in finding.detail


def test_root_disorder_and_spondylosis_conflict() -> None:
    [finding] = diagnosis_conflict(facts(lumbar("62323", "G54.4", "M47.816")), MEDICARE, TODAY)
    assert "G54 Excludes1" in finding.detail


def test_conflict_with_the_condition_the_order_references() -> None:
    order_ = lumbar("62323", "M54.41", reason_references=("Condition/c1",))
    [finding] = diagnosis_conflict(facts(order_, conditions=[condition("c1", "M51.16")]), MEDICARE, TODAY)
    assert finding.references == ("Condition/c1",)


def test_excludes1_is_not_judged_against_record_diagnoses_off_the_order() -> None:
    hook_facts = facts(lumbar("62323", "M54.41"), conditions=[condition("c1", "M51.16")])
    assert diagnosis_conflict(hook_facts, MEDICARE, TODAY) == []


def test_thoracic_root_disorder_conflicts_with_a_lumbar_injection() -> None:
    hook_facts = facts(lumbar("62323", "G54.3"), conditions=[condition("c1", "M51.16")])
    [finding] = diagnosis_conflict(hook_facts, MEDICARE, TODAY)
    assert "cervical/thoracic" in finding.summary
    assert finding.fixes == (
        SetReason(
            ORDER, "M51.16", "Intervertebral disc disorders with radiculopathy, lumbar region", "Condition/c1", "G54.3"
        ),
    )


def test_lumbar_diagnosis_conflicts_with_a_cervical_transforaminal_code() -> None:
    [finding] = diagnosis_conflict(facts(order("64479", date(2026, 12, 3), reason_codes=("M54.16",))), MEDICARE, TODAY)
    assert "lumbar/sacral" in finding.summary


def test_a_diagnosis_of_the_region_injected_is_not_blamed_for_a_code_of_the_other_region() -> None:
    caudal_coded_cervical = order(
        "62321",
        date(2026, 12, 3),
        reason_codes=("M51.17",),
        intent=StatedIntent(body_site_regions=frozenset({SpinalRegion.LUMBAR_SACRAL})),
    )
    assert diagnosis_conflict(facts(caudal_coded_cervical), MEDICARE, TODAY) == []


def test_a_region_only_mentioned_does_not_decide_the_region_injected() -> None:
    words = StatedIntent(
        body_site_regions=frozenset({SpinalRegion.LUMBAR_SACRAL}), evidence=(("body_site_regions", Evidence.MENTIONED),)
    )
    cervical = order("62321", date(2026, 12, 3), reason_codes=("M51.17",), intent=words)
    [finding] = diagnosis_conflict(facts(cervical), MEDICARE, TODAY)
    assert "lumbar/sacral diagnosis" in finding.summary


def test_thoracolumbar_diagnosis_fits_either_region() -> None:
    lumbar_order = order("62323", date(2026, 12, 3), reason_codes=("M51.15",))
    thoracic_order = order("64479", date(2026, 12, 3), source="ServiceRequest/t", reason_codes=("M51.15",))
    assert diagnosis_conflict(facts(lumbar_order, thoracic_order), MEDICARE, TODAY) == []


def test_order_without_a_code_takes_its_region_from_the_levels() -> None:
    order_ = order(
        None, date(2026, 12, 3), reason_codes=("G54.3",), intent=StatedIntent(levels=(SpinalLevel("L5", "S1"),))
    )
    [finding] = diagnosis_conflict(facts(order_), MEDICARE, TODAY)
    assert "lumbar/sacral" in finding.summary


# --- diagnosis-not-covered ------------------------------------------------------------------------------------------


def test_spondylosis_without_radiculopathy_is_not_covered_by_medicare() -> None:
    [finding] = diagnosis_not_covered(facts(lumbar("62323", "M47.816")), MEDICARE, TODAY)
    assert finding.rule is RuleId.DIAGNOSIS_NOT_COVERED
    assert finding.citing == MEDICARE.citing
    assert "verified" in finding.detail
    assert finding.fixes == ()


def test_not_covered_suggests_a_covered_condition_on_record() -> None:
    conditions = [condition("c1", "M47.816"), condition("c2", "M48.062")]
    [finding] = diagnosis_not_covered(facts(lumbar("62323", "M47.816"), conditions=conditions), MEDICARE, TODAY)
    assert finding.fixes == (
        SetReason(ORDER, "M48.062", "Spinal stenosis, lumbar region with neurogenic claudication", "Condition/c2"),
    )


def test_covered_list_matches_code_prefixes() -> None:
    assert diagnosis_not_covered(facts(lumbar("62323", "M47.26")), MEDICARE, TODAY) == []


def test_one_covered_diagnosis_is_enough() -> None:
    assert diagnosis_not_covered(facts(lumbar("62323", "M47.816", "M51.16")), MEDICARE, TODAY) == []


def test_policy_without_a_diagnosis_list_never_says_not_covered() -> None:
    assert diagnosis_not_covered(facts(lumbar("62323", "M47.816")), DEFAULT, TODAY) == []


def test_code_the_policy_does_not_count_is_not_held_to_its_list() -> None:
    assert diagnosis_not_covered(facts(lumbar("62326", "M47.816")), MEDICARE, TODAY) == []


def test_infusion_pump_trial_is_exempt_from_the_diagnosis_list() -> None:
    order_ = lumbar("62323", "G80.1", intent=StatedIntent(pump_trial=True))
    assert diagnosis_not_covered(facts(order_), MEDICARE, TODAY) == []


def test_post_operative_pain_is_exempt_from_the_diagnosis_list() -> None:
    assert diagnosis_not_covered(facts(lumbar("62323", "G89.18")), MEDICARE, TODAY) == []


def test_cisternography_beside_the_injection_is_exempt_from_the_diagnosis_list() -> None:
    hook_facts = facts(
        lumbar("62323", "G93.2"), companions=(CompanionOrder("ServiceRequest/cis", ("78630",), "Cisternography"),)
    )
    assert diagnosis_not_covered(hook_facts, MEDICARE, TODAY) == []


def test_coverage_is_not_judged_while_a_referenced_condition_is_unknown() -> None:
    order_ = lumbar("62323", "M47.816", reason_references=("Condition/not-fetched",))
    assert diagnosis_not_covered(facts(order_), MEDICARE, TODAY) == []


# --- performed injections (encounter-discharge) ---------------------------------------------------------------------


def discharge(*injections: PerformedInjection, conditions: Iterable[Diagnosis] = ()) -> HookFacts:
    return HookFacts(
        record=ClinicalRecord(performed=injections, diagnoses=tuple(conditions)),
        performed_here=injections,
        encounter="Encounter/e1",
    )


def test_performed_injection_with_a_category_code_is_invalid_without_fixes() -> None:
    injection = performed("62323", date(2026, 11, 27), reason_codes=("M54.4",), encounter="Encounter/e1")
    [finding] = diagnosis_invalid(discharge(injection), MEDICARE, TODAY)
    assert finding.subject == injection.source
    assert finding.fixes == ()  # a performed Procedure is not a draft a suggestion could change
    assert "M54.41" in finding.detail


def test_performed_injection_is_judged_on_the_day_performed() -> None:
    injection = performed("62323", date(2024, 9, 30), reason_codes=("M51.36",))
    assert diagnosis_invalid(discharge(injection), MEDICARE, TODAY) == []


def test_performed_injection_without_reason_is_missing_a_diagnosis() -> None:
    injection = performed("64483", date(2026, 11, 27), reason_codes=())
    assert [f.rule for f in all_findings(discharge(injection))] == [RuleId.DIAGNOSIS_MISSING]


def test_injection_not_done_is_not_judged() -> None:
    injection = performed("62323", date(2026, 11, 27), status="not-done", reason_codes=())
    assert all_findings(discharge(injection)) == []


def test_correct_performed_injection_gets_no_finding() -> None:
    injection = performed("62323", date(2026, 11, 27), reason_codes=("M51.16",))
    assert all_findings(discharge(injection, conditions=[condition("c1", "M51.16")])) == []

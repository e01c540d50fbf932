"""The imaging rules: bundled guidance, code against guidance, payer imaging requirements, archived images."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from msgspec.structs import replace

from fhir_mappings.facts import (
    ClinicalRecord,
    CompanionOrder,
    Evidence,
    ImagingEvidence,
    InjectionOrder,
    Modality,
    OtherProcedure,
    PerformedInjection,
    StatedIntent,
)
from fhir_mappings.spine import injection_codes
from plugin.rules import imaging
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.findings import Finding, Recode, RemoveOrder, RuleId, Severity
from plugin.rules.hook_facts import HookFacts, Rule
from tests.plugin.rules.builders import applied, order, performed

MEDICARE = applied("medicare-esi-lcd")
WITHOUT_IMAGING_RULE = applied("molina-mcp-032")
TODAY = date(2026, 11, 27)
DAY = date(2026, 11, 20)
ENCOUNTER = "Encounter/e1"
FLUORO_ORDER = "ServiceRequest/fluoro"
_DICOM = {"RF": Modality.FLUOROSCOPY, "XA": Modality.FLUOROSCOPY, "CT": Modality.CT, "US": Modality.ULTRASOUND}

FLUOROSCOPY = StatedIntent(guidance=frozenset({Modality.FLUOROSCOPY}))
ULTRASOUND = StatedIntent(guidance=frozenset({Modality.ULTRASOUND}))
UNGUIDED = StatedIntent(without_guidance=True)


def run(rules: Iterable[Rule], facts: HookFacts, policy: AppliedPolicy = MEDICARE) -> list[Finding]:
    findings = [finding for rule in rules for finding in rule(facts, policy, TODAY)]
    assert all(len(finding.summary) < 140 for finding in findings)
    return findings


def of(findings: list[Finding], rule: RuleId) -> list[Finding]:
    return [finding for finding in findings if finding.rule is rule]


def companion(codes: tuple[str, ...] = ("77003",), source: str = FLUORO_ORDER) -> CompanionOrder:
    return CompanionOrder(source, codes, "Fluoroscopic guidance for spine injection")


def signing(*orders: InjectionOrder, companions: Iterable[CompanionOrder] = ()) -> HookFacts:
    return HookFacts(record=ClinicalRecord(), orders=orders, companions=tuple(companions))


def sign(
    *orders: InjectionOrder, companions: Iterable[CompanionOrder] = (), policy: AppliedPolicy = MEDICARE
) -> list[Finding]:
    return run(imaging.ORDER_SIGN_RULES, signing(*orders, companions=companions), policy)


def lumbar_order(code: str = "62323", **changes: Any) -> InjectionOrder:
    return order(code, date(2026, 12, 3), **changes)


def study(
    source: str = "ImagingStudy/rf",
    modality: str = "RF",
    *,
    instances: int = 2,
    started_on: date | None = DAY,
    encounter: str | None = ENCOUNTER,
    procedures: tuple[str, ...] = (),
    based_on: tuple[str, ...] = (),
    available: bool = True,
) -> ImagingEvidence:
    return ImagingEvidence(
        source=source,
        modalities=frozenset({_DICOM.get(modality, Modality.OTHER)}),
        modality_codes=(modality,),
        instance_count=instances,
        started_on=started_on,
        encounter=encounter,
        procedure_references=procedures,
        based_on=based_on,
        available=available,
    )


def injection(code: str = "62323", **changes: Any) -> PerformedInjection:
    return performed(code, DAY, source=f"Procedure/{code}", encounter=ENCOUNTER, **changes)


def guidance_charge(
    code: str = "77003", *, on: date | None = DAY, encounter: str | None = ENCOUNTER, status: str = "completed"
) -> OtherProcedure:
    return OtherProcedure(f"Procedure/guidance-{code}", (code,), status, on, encounter, "Fluoroscopic guidance")


def discharge(
    *injections: PerformedInjection,
    studies: Iterable[ImagingEvidence] = (),
    others: Iterable[OtherProcedure] = (),
    imaging_known: bool = True,
) -> HookFacts:
    record = ClinicalRecord(performed=injections, imaging=tuple(studies), other_procedures=tuple(others))
    return HookFacts(record=record, performed_here=injections, encounter=ENCOUNTER, imaging_known=imaging_known)


def discharged(facts: HookFacts, policy: AppliedPolicy = MEDICARE) -> list[Finding]:
    return run(imaging.DISCHARGE_RULES, facts, policy)


# --- correct orders and injections ----------------------------------------------------------------------------------


def test_with_imaging_order_alone_gets_no_finding() -> None:
    assert sign(lumbar_order("62323")) == []


def test_with_imaging_order_stating_fluoroscopy_gets_no_finding() -> None:
    assert sign(lumbar_order("62323", intent=FLUOROSCOPY)) == []


def test_transforaminal_order_alone_gets_no_finding() -> None:
    assert sign(lumbar_order("64483")) == []


def test_performed_injection_with_archived_fluoroscopy_gets_no_finding() -> None:
    assert discharged(discharge(injection("62323"), studies=[study()])) == []


# --- imaging-guidance-bundled at order time -------------------------------------------------------------------------


def test_guidance_order_beside_with_imaging_code_is_bundled_with_a_remove_fix() -> None:
    [finding] = sign(lumbar_order("62323"), companions=[companion()])
    assert finding.rule is RuleId.IMAGING_GUIDANCE_BUNDLED
    assert finding.severity is Severity.WARNING
    assert finding.subject == FLUORO_ORDER
    assert finding.fixes == (RemoveOrder(order=FLUORO_ORDER, label="Remove the separate 77003 guidance order"),)
    assert "modifier 59" in finding.detail


def test_guidance_order_beside_transforaminal_code_is_bundled() -> None:
    [finding] = sign(lumbar_order("64483"), companions=[companion(("77012",))])
    assert finding.rule is RuleId.IMAGING_GUIDANCE_BUNDLED
    assert "64483" in finding.summary


def test_guidance_order_is_bundled_at_order_select_too() -> None:
    findings = run(imaging.ORDER_SELECT_RULES, signing(lumbar_order("62323"), companions=[companion()]))
    assert [finding.rule for finding in findings] == [RuleId.IMAGING_GUIDANCE_BUNDLED]


def test_deleted_epidurography_order_is_bundled() -> None:
    [finding] = sign(lumbar_order("62323"), companions=[companion(("72275",))])
    assert finding.rule is RuleId.IMAGING_GUIDANCE_BUNDLED


def test_non_guidance_companion_order_is_not_bundled() -> None:
    assert sign(lumbar_order("62323"), companions=[companion(("72148",), "ServiceRequest/mri")]) == []


def test_guidance_order_beside_neurolytic_code_is_not_bundled() -> None:
    assert sign(lumbar_order("62282"), companions=[companion()]) == []


def test_guidance_order_beside_without_imaging_code_recodes_and_removes_on_two_cards() -> None:
    findings = sign(lumbar_order("62322"), companions=[companion()])
    [mismatch] = of(findings, RuleId.CODE_IMAGING_MISMATCH)
    [bundled] = of(findings, RuleId.IMAGING_GUIDANCE_BUNDLED)
    assert mismatch.fixes == (Recode(order="ServiceRequest/new", code="62323", display=_display("62323")),)
    assert isinstance(bundled.fixes[0], RemoveOrder)
    assert bundled.fixes[0].order == FLUORO_ORDER
    assert "62323" in bundled.detail


def test_guidance_order_beside_without_imaging_code_needs_no_imaging_required_card() -> None:
    findings = sign(lumbar_order("62322"), companions=[companion()])
    assert of(findings, RuleId.IMAGING_REQUIRED) == []


# --- code-imaging-mismatch at order time ----------------------------------------------------------------------------


def _display(code: str) -> str:
    entry = injection_codes().get(code)
    assert entry is not None
    return entry.display


def test_fluoroscopy_stated_with_without_imaging_lumbar_code_recodes_to_62323() -> None:
    [finding] = sign(lumbar_order("62322", intent=FLUOROSCOPY))
    assert finding.rule is RuleId.CODE_IMAGING_MISMATCH
    assert finding.fixes == (Recode(order="ServiceRequest/new", code="62323", display=_display("62323")),)


def test_ct_stated_with_without_imaging_cervical_code_recodes_to_62321() -> None:
    [finding] = sign(lumbar_order("62320", intent=StatedIntent(guidance=frozenset({Modality.CT}))))
    assert [fix.code for fix in finding.fixes if isinstance(fix, Recode)] == ["62321"]


def test_fluoroscopy_stated_with_catheter_code_keeps_the_catheter() -> None:
    [finding] = sign(lumbar_order("62326", intent=FLUOROSCOPY))
    assert [fix.code for fix in finding.fixes if isinstance(fix, Recode)] == ["62327"]


def test_ultrasound_guidance_does_not_make_a_with_imaging_code() -> None:
    assert sign(lumbar_order("62322", intent=ULTRASOUND), policy=WITHOUT_IMAGING_RULE) == []


def test_without_imaging_stated_with_with_imaging_code_recodes_to_its_sibling() -> None:
    [finding] = sign(lumbar_order("62323", intent=UNGUIDED), policy=WITHOUT_IMAGING_RULE)
    assert finding.rule is RuleId.CODE_IMAGING_MISMATCH
    assert [fix.code for fix in finding.fixes if isinstance(fix, Recode)] == ["62322"]


def test_ultrasound_only_with_with_imaging_code_recodes_to_without_imaging() -> None:
    [finding] = sign(lumbar_order("62323", intent=ULTRASOUND), policy=WITHOUT_IMAGING_RULE)
    assert finding.rule is RuleId.CODE_IMAGING_MISMATCH
    assert "ultrasound" in finding.summary
    assert [fix.code for fix in finding.fixes if isinstance(fix, Recode)] == ["62322"]


def test_transforaminal_stated_without_imaging_says_the_code_requires_it_without_a_recode() -> None:
    [finding] = sign(lumbar_order("64483", intent=UNGUIDED))
    assert finding.rule is RuleId.CODE_IMAGING_MISMATCH
    assert "requires" in finding.summary
    assert finding.fixes == ()


# --- imaging-required at order time ---------------------------------------------------------------------------------


def test_medicare_without_imaging_order_is_imaging_required_with_recode() -> None:
    [finding] = sign(lumbar_order("62322"))
    assert finding.rule is RuleId.IMAGING_REQUIRED
    assert finding.citing == MEDICARE.citing
    assert [fix.code for fix in finding.fixes if isinstance(fix, Recode)] == ["62323"]


def test_payer_without_imaging_requirement_accepts_without_imaging_order() -> None:
    assert sign(lumbar_order("62322"), policy=WITHOUT_IMAGING_RULE) == []


def test_medicare_ultrasound_only_with_imaging_order_gets_one_advice_and_no_uncovered_code() -> None:
    [required] = sign(lumbar_order("62323", intent=ULTRASOUND))
    assert required.rule is RuleId.IMAGING_REQUIRED
    assert required.fixes == ()
    assert "ultrasound" in required.summary
    assert "keep 62323" in required.detail
    assert "62322, which this policy does not cover" in required.detail


def test_medicare_without_imaging_stated_with_imaging_order_is_not_recoded_to_an_uncovered_code() -> None:
    [required] = sign(lumbar_order("62323", intent=UNGUIDED))
    assert (required.rule, required.fixes) == (RuleId.IMAGING_REQUIRED, ())


def test_ultrasound_only_mentioned_asks_to_check_the_guidance_the_payer_requires() -> None:
    intent = replace(ULTRASOUND, evidence=(("guidance", Evidence.MENTIONED),))
    [required] = sign(lumbar_order("62323", intent=intent))
    assert (
        required.summary
        == "The order mentions ultrasound guidance only: check it is fluoroscopy or CT, which the payer requires"
    )
    assert required.fixes == ()


def test_fluoroscopy_only_mentioned_with_a_without_imaging_code_asks_to_check_without_a_fix() -> None:
    intent = replace(FLUOROSCOPY, evidence=(("guidance", Evidence.MENTIONED),))
    [mismatch] = sign(lumbar_order("62322", intent=intent), policy=WITHOUT_IMAGING_RULE)
    assert mismatch.rule is RuleId.CODE_IMAGING_MISMATCH
    assert mismatch.summary == "The order mentions fluoroscopy guidance: check whether 62322 (without imaging) is right"
    assert mismatch.fixes == ()


def test_without_imaging_only_mentioned_with_a_with_imaging_code_asks_to_check_without_a_fix() -> None:
    intent = replace(UNGUIDED, evidence=(("without_guidance", Evidence.MENTIONED),))
    [mismatch] = sign(lumbar_order("62323", intent=intent), policy=WITHOUT_IMAGING_RULE)
    assert mismatch.summary == "The order mentions no imaging guidance: check whether 62323 (with imaging) is right"
    assert mismatch.fixes == ()


def test_a_guidance_order_is_firm_even_when_the_words_only_mention_guidance() -> None:
    intent = replace(FLUOROSCOPY, evidence=(("guidance", Evidence.MENTIONED),))
    findings = sign(lumbar_order("62322", intent=intent), companions=[companion()], policy=WITHOUT_IMAGING_RULE)
    [mismatch] = of(findings, RuleId.CODE_IMAGING_MISMATCH)
    assert [fix.code for fix in mismatch.fixes if isinstance(fix, Recode)] == ["62323"]
    assert mismatch.references == (FLUORO_ORDER,)


def test_medicare_catheter_code_outside_the_policy_codes_is_not_imaging_required() -> None:
    assert sign(lumbar_order("62326")) == []


def test_imaging_required_is_left_to_order_sign() -> None:
    assert run(imaging.ORDER_SELECT_RULES, signing(lumbar_order("62322"))) == []


def test_uncoded_order_gets_no_imaging_finding() -> None:
    assert sign(lumbar_order(None), companions=[companion()]) == []


# --- discharge: bundled charges and code against evidence -----------------------------------------------------------


def test_guidance_charge_beside_with_imaging_injection_is_bundled_without_fix() -> None:
    findings = discharged(discharge(injection("62323"), studies=[study()], others=[guidance_charge()]))
    [finding] = findings
    assert finding.rule is RuleId.IMAGING_GUIDANCE_BUNDLED
    assert finding.subject == "Procedure/guidance-77003"
    assert finding.fixes == ()
    assert "do not bill" in finding.summary
    assert "modifier 59" in finding.detail


def test_guidance_charge_on_another_day_and_encounter_is_not_bundled() -> None:
    charge = guidance_charge(on=date(2026, 10, 1), encounter="Encounter/other")
    assert discharged(discharge(injection("62323"), studies=[study()], others=[charge])) == []


def test_guidance_charge_entered_in_error_is_not_bundled() -> None:
    charge = guidance_charge(status="entered-in-error")
    assert discharged(discharge(injection("62323"), studies=[study()], others=[charge])) == []


def test_without_imaging_injection_with_archived_fluoroscopy_names_the_with_imaging_code() -> None:
    [finding] = discharged(discharge(injection("62322"), studies=[study()]), WITHOUT_IMAGING_RULE)
    assert finding.rule is RuleId.CODE_IMAGING_MISMATCH
    assert "62323" in finding.summary
    assert "ImagingStudy/rf" in finding.references
    assert finding.fixes == ()


def test_without_imaging_injection_with_ultrasound_images_is_no_mismatch() -> None:
    assert (
        discharged(discharge(injection("62322"), studies=[study("ImagingStudy/us", "US")]), WITHOUT_IMAGING_RULE) == []
    )


def test_without_imaging_injection_with_guidance_charge_is_mismatch_and_bundled() -> None:
    findings = discharged(discharge(injection("62322"), others=[guidance_charge()]), WITHOUT_IMAGING_RULE)
    assert sorted(finding.rule for finding in findings) == [
        RuleId.CODE_IMAGING_MISMATCH,
        RuleId.IMAGING_GUIDANCE_BUNDLED,
    ]


def test_with_imaging_injection_recorded_as_landmark_without_images_is_mismatch() -> None:
    findings = discharged(discharge(injection("62323", intent=UNGUIDED)), WITHOUT_IMAGING_RULE)
    [mismatch] = of(findings, RuleId.CODE_IMAGING_MISMATCH)
    assert "62322" in mismatch.summary


# --- discharge: imaging-required ------------------------------------------------------------------------------------


def test_medicare_performed_without_imaging_injection_is_imaging_required_without_fix() -> None:
    [finding] = discharged(discharge(injection("62322")))
    assert finding.rule is RuleId.IMAGING_REQUIRED
    assert finding.fixes == ()


def test_medicare_performed_without_imaging_code_with_fluoroscopy_on_file_is_mismatch_only() -> None:
    findings = discharged(discharge(injection("62322"), studies=[study()]))
    assert [finding.rule for finding in findings] == [RuleId.CODE_IMAGING_MISMATCH]


# --- discharge: imaging-evidence-missing ----------------------------------------------------------------------------


def test_medicare_injection_without_images_is_critical_and_says_nothing_was_found() -> None:
    [finding] = discharged(discharge(injection("62323")))
    assert finding.rule is RuleId.IMAGING_EVIDENCE_MISSING
    assert finding.severity is Severity.CRITICAL
    assert finding.citing == MEDICARE.citing
    assert "no imaging study on record is linked" in finding.detail


def test_injection_without_images_is_a_warning_when_the_payer_does_not_require_imaging() -> None:
    [finding] = discharged(discharge(injection("64483")), WITHOUT_IMAGING_RULE)
    assert finding.rule is RuleId.IMAGING_EVIDENCE_MISSING
    assert finding.severity is Severity.WARNING
    assert finding.citing == WITHOUT_IMAGING_RULE.conventions_citing


def test_catheter_code_outside_medicare_imaging_codes_gets_a_warning() -> None:
    [finding] = discharged(discharge(injection("62327")))
    assert finding.severity is Severity.WARNING


def test_ultrasound_study_is_not_evidence_and_is_named() -> None:
    [finding] = discharged(discharge(injection("62323"), studies=[study("ImagingStudy/us", "US")]))
    assert finding.rule is RuleId.IMAGING_EVIDENCE_MISSING
    assert "an ultrasound study (modality US)" in finding.detail
    assert finding.references == ("ImagingStudy/us",)


def test_fluoroscopy_study_without_stored_instances_is_not_evidence_and_is_named() -> None:
    [finding] = discharged(discharge(injection("62323"), studies=[study(instances=0)]))
    assert "a fluoroscopy study (modality RF) of 2026-11-20: 0 stored images" in finding.detail


def test_cancelled_fluoroscopy_study_is_not_evidence() -> None:
    [finding] = discharged(discharge(injection("62323"), studies=[study(available=False)]))
    assert "cancelled" in finding.detail


def test_fluoroscopy_study_of_another_visit_is_not_evidence() -> None:
    other_visit = study(started_on=date(2026, 6, 1), encounter="Encounter/old")
    [finding] = discharged(discharge(injection("62323"), studies=[other_visit]))
    assert "no imaging study on record is linked" in finding.detail


def test_c_arm_study_linked_by_procedure_reference_is_evidence() -> None:
    linked = study(modality="XA", started_on=None, encounter=None, procedures=("Procedure/62323",))
    assert discharged(discharge(injection("62323"), studies=[linked])) == []


def test_ct_study_linked_by_absolute_procedure_reference_is_evidence() -> None:
    linked = study(modality="CT", started_on=None, encounter=None, procedures=("https://ehr/fhir/Procedure/62323",))
    assert discharged(discharge(injection("62323"), studies=[linked])) == []


def test_study_linked_by_the_order_it_was_based_on_is_evidence() -> None:
    linked = study(started_on=None, encounter=None, based_on=("ServiceRequest/esi",))
    facts = discharge(injection("62323", based_on=("ServiceRequest/esi",)), studies=[linked])
    assert discharged(facts) == []


def test_study_on_the_same_date_is_evidence() -> None:
    assert discharged(discharge(injection("62323"), studies=[study(encounter=None)])) == []


def test_no_evidence_card_when_imaging_studies_could_not_be_read() -> None:
    assert discharged(discharge(injection("64483"), imaging_known=False), WITHOUT_IMAGING_RULE) == []


def test_injection_not_completed_gets_no_evidence_card() -> None:
    assert discharged(discharge(injection("62323", status="in-progress"))) == []


def test_add_on_level_is_judged_with_its_primary_code() -> None:
    primary = injection("64483")
    add_on = replace(injection("64484"), source="Procedure/64484")
    findings = discharged(discharge(primary, add_on), WITHOUT_IMAGING_RULE)
    assert [finding.subject for finding in findings] == ["Procedure/64483"]


def test_qualifying_studies_returns_only_linked_evidence() -> None:
    evidence = study()
    found = imaging.qualifying_studies(
        injection("62323"), [evidence, study("ImagingStudy/us", "US")], MEDICARE.conventions
    )
    assert found == [evidence]


def test_study_of_another_modality_is_named_by_its_code() -> None:
    [finding] = discharged(discharge(injection("62323"), studies=[study("ImagingStudy/mr", "MR")]))
    assert "an imaging study (modality MR) of 2026-11-20: modality not RF/XA/CT" in finding.detail

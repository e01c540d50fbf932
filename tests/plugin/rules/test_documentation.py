"""The documentation checklist: one card per performed injection, listing each item the record lacks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from msgspec.structs import replace

from fhir_mappings.care_history import CareHistory, PainScore
from fhir_mappings.facts import (
    ClinicalRecord,
    Evidence,
    ImagingEvidence,
    Modality,
    OtherProcedure,
    PerformedInjection,
    StatedIntent,
)
from fhir_mappings.spine import Approach, SpinalLevel
from plugin.rules import documentation, imaging
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.findings import Finding, RuleId, Severity
from plugin.rules.hook_facts import HookFacts
from tests.plugin.rules.builders import applied, performed

MEDICARE = applied("medicare-esi-lcd")
TODAY = date(2026, 11, 27)
DAY = date(2026, 11, 20)
ENCOUNTER = "Encounter/e1"
NOTE = "Interlaminar ESI at L5-S1 under fluoroscopy. Pre-procedure VAS 8/10, post-procedure VAS 2/10."
INTENT = StatedIntent(
    approach=Approach.INTERLAMINAR, levels=(SpinalLevel("L5", "S1"),), guidance=frozenset({Modality.FLUOROSCOPY})
)
RF_STUDY = ImagingEvidence(
    source="ImagingStudy/rf",
    modalities=frozenset({Modality.FLUOROSCOPY}),
    modality_codes=("RF",),
    instance_count=2,
    started_on=DAY,
    encounter=ENCOUNTER,
    procedure_references=(),
    based_on=(),
    available=True,
)


def therapy(
    codes: tuple[str, ...] = ("97110",), text: str = "", *, on: date = date(2026, 8, 1), status: str = "completed"
) -> OtherProcedure:
    return OtherProcedure("Procedure/pt", codes, status, on, "Encounter/pt", text)


PHYSICAL_THERAPY = therapy()


def esi(code: str = "62323", **changes: Any) -> PerformedInjection:
    """A completely documented injection, less what the test changes."""
    fields: dict[str, Any] = {"source": "Procedure/esi", "encounter": ENCOUNTER, "intent": INTENT, "notes": (NOTE,)}
    fields.update(changes)
    return performed(code, DAY, **fields)


def discharge(
    *injections: PerformedInjection,
    others: Iterable[OtherProcedure] = (PHYSICAL_THERAPY,),
    studies: Iterable[ImagingEvidence] = (RF_STUDY,),
    imaging_known: bool = True,
    scores: Iterable[PainScore] | None = None,
) -> HookFacts:
    """`scores`: the pain-score Observations read (None: they could not be read)."""
    record = ClinicalRecord(performed=injections, other_procedures=tuple(others), imaging=tuple(studies))
    care = CareHistory(pain_scores=tuple(scores or ()), pain_scores_known=scores is not None)
    return HookFacts(
        record=record, performed_here=injections, encounter=ENCOUNTER, imaging_known=imaging_known, care=care
    )


def checklist(facts: HookFacts, policy: AppliedPolicy = MEDICARE) -> list[Finding]:
    findings = [finding for rule in documentation.DISCHARGE_RULES for finding in rule(facts, policy, TODAY)]
    assert all(len(finding.summary) < 140 for finding in findings)
    return findings


def missing(facts: HookFacts) -> list[str]:
    """The checklist labels the one card lists as missing; none when there is no card."""
    findings = checklist(facts)
    if not findings:
        return []
    [finding] = findings
    labels = {item.label: item.id for item in MEDICARE.conventions.documentation_checklist}
    return [labels[label] for label in labels if f"**{label}**" in finding.detail]


# --- a complete record ----------------------------------------------------------------------------------------------


def test_complete_injection_with_archived_fluoroscopy_gets_no_card_from_any_discharge_rule() -> None:
    facts = discharge(esi())
    rules = (*imaging.DISCHARGE_RULES, *documentation.DISCHARGE_RULES)
    assert [finding for rule in rules for finding in rule(facts, MEDICARE, TODAY)] == []


def test_documentation_runs_only_at_discharge() -> None:
    assert documentation.ORDER_SELECT_RULES == ()
    assert documentation.ORDER_SIGN_RULES == ()


def test_injection_not_completed_gets_no_card() -> None:
    assert checklist(discharge(esi(status="in-progress", reason_codes=()))) == []


# --- the card -------------------------------------------------------------------------------------------------------


def test_one_card_per_injection_lists_every_missing_item() -> None:
    [finding] = checklist(discharge(esi(reason_codes=(), drug_codes=()), others=()))
    assert finding.rule is RuleId.DOCUMENTATION_INCOMPLETE
    assert finding.severity is Severity.WARNING
    assert finding.subject == "Procedure/esi"
    assert finding.citing == MEDICARE.conventions_citing
    assert "2 documentation items missing" in finding.summary
    assert missing(discharge(esi(reason_codes=(), drug_codes=()), others=())) == ["conservative-care", "drug"]


def test_one_missing_item_is_written_in_the_singular() -> None:
    [finding] = checklist(discharge(esi(drug_codes=())))
    assert "1 documentation item missing" in finding.summary


def test_the_card_names_no_fhir_element() -> None:
    [finding] = checklist(discharge(esi(drug_codes=(), reason_codes=())))
    assert "usedCode" not in finding.detail
    assert "Procedure/" not in finding.detail


# --- diagnosis ------------------------------------------------------------------------------------------------------


def test_a_missing_diagnosis_is_left_to_its_own_card() -> None:
    assert missing(discharge(esi(reason_codes=()))) == []


def test_reason_reference_counts_as_a_diagnosis() -> None:
    assert missing(discharge(esi(reason_codes=(), reason_references=("Condition/c1",)))) == []


# --- conservative care ----------------------------------------------------------------------------------------------


def test_no_earlier_treatment_lacks_conservative_care_and_cites_its_source() -> None:
    [finding] = checklist(discharge(esi(), others=()))
    assert "conservative care" in finding.detail
    assert MEDICARE.conventions.conservative_care.citation in finding.detail


def test_uncoded_physical_therapy_procedure_counts_by_its_words() -> None:
    assert missing(discharge(esi(), others=[therapy((), "Physical therapy, 8 sessions")])) == []


def test_chiropractic_manipulation_code_counts() -> None:
    assert missing(discharge(esi(), others=[therapy(("98940",))])) == []


def test_therapy_after_the_injection_does_not_count() -> None:
    assert missing(discharge(esi(), others=[therapy(on=date(2026, 11, 25))])) == ["conservative-care"]


def test_therapy_entered_in_error_does_not_count() -> None:
    assert missing(discharge(esi(), others=[therapy(status="entered-in-error")])) == ["conservative-care"]


def test_failed_nsaids_in_the_procedure_note_count() -> None:
    notes = (NOTE, "Failed 6 weeks of NSAIDs.")
    assert missing(discharge(esi(notes=notes), others=())) == []


def test_pt_abbreviation_in_capitals_counts() -> None:
    notes = (NOTE, "Completed PT x 8 weeks without relief.")
    assert missing(discharge(esi(notes=notes), others=())) == []


def test_care_the_note_denies_declines_or_contraindicates_does_not_count() -> None:
    indication = (
        "INDICATION: Lumbar radiculopathy. Physical therapy was not tried; patient declined PT. NSAIDs contraindicated "
        "(CKD stage 4). No chiropractic care."
    )
    assert missing(discharge(esi(notes=(NOTE, indication)), others=())) == ["conservative-care"]
    for denied in ("Has not had physical therapy.", "Patient refuses PT.", "No home exercise program."):
        assert missing(discharge(esi(notes=(NOTE, denied)), others=())) == ["conservative-care"], denied


def test_care_that_failed_counts_however_the_failure_is_worded() -> None:
    for failed in (
        "No improvement with 6 weeks of physical therapy and daily naproxen.",
        "Pain did not improve after 6 weeks of PT.",
        "Completed physical therapy for 6 weeks without relief.",
        "Physical therapy was not tried; no relief from 8 weeks of meloxicam.",
    ):
        assert missing(discharge(esi(notes=(NOTE, failed)), others=())) == [], failed


def test_a_procedure_whose_words_deny_the_care_does_not_count() -> None:
    assert missing(discharge(esi(), others=[therapy((), "Physical therapy declined")])) == ["conservative-care"]


def test_pt_meaning_patient_does_not_count() -> None:
    notes = (NOTE, "Pt tolerated the procedure well.")
    assert missing(discharge(esi(notes=notes), others=())) == ["conservative-care"]


# --- imaging --------------------------------------------------------------------------------------------------------


def test_missing_archived_images_are_left_to_their_own_card() -> None:
    facts = discharge(esi(), studies=())
    assert missing(facts) == []
    assert [finding.rule for finding in imaging.imaging_evidence_missing(facts, MEDICARE, TODAY)] == [
        RuleId.IMAGING_EVIDENCE_MISSING
    ]


def test_without_imaging_code_needs_no_archived_images() -> None:
    assert missing(discharge(esi("62322", intent=StatedIntent(approach=Approach.INTERLAMINAR)), studies=())) == []


def test_imaging_item_is_skipped_when_imaging_studies_could_not_be_read() -> None:
    assert missing(discharge(esi(), studies=(), imaging_known=False)) == []


# --- drug -----------------------------------------------------------------------------------------------------------


def test_injection_without_a_drug_code_lacks_the_drug() -> None:
    assert missing(discharge(esi(drug_codes=()))) == ["drug"]


def test_deleted_methylprednisolone_code_names_its_replacement() -> None:
    [finding] = checklist(discharge(esi(drug_codes=("J1030",))))
    assert "J1030 was deleted on 2024-04-01: report J1010" in finding.detail


def test_methylprednisolone_code_before_its_deletion_is_accepted() -> None:
    before = date(2024, 3, 1)
    injection = replace(esi(drug_codes=("J1040",)), performed_on=before)
    facts = discharge(injection, others=[therapy(on=date(2024, 1, 10))], studies=[replace(RF_STUDY, started_on=before)])
    assert missing(facts) == []


# --- level and approach ---------------------------------------------------------------------------------------------


def test_no_level_in_words_or_body_site_lacks_the_level() -> None:
    intent = StatedIntent(approach=Approach.INTERLAMINAR, guidance=INTENT.guidance)
    [finding] = checklist(discharge(esi(intent=intent, has_body_site=False)))
    assert "no spinal level" in finding.detail


def test_body_site_counts_as_the_level() -> None:
    intent = StatedIntent(approach=Approach.INTERLAMINAR, guidance=INTENT.guidance)
    assert missing(discharge(esi(intent=intent, has_body_site=True))) == []


def test_levels_only_mentioned_in_the_note_do_not_count_as_the_level() -> None:
    intent = replace(INTENT, evidence=(("levels", Evidence.MENTIONED),))
    [finding] = checklist(discharge(esi(intent=intent, has_body_site=False)))
    assert "no spinal level" in finding.detail


def test_an_approach_only_mentioned_does_not_count_as_the_approach() -> None:
    intent = replace(INTENT, evidence=(("approach", Evidence.MENTIONED),))
    [finding] = checklist(discharge(esi(intent=intent)))
    assert "no approach" in finding.detail


def test_unstated_approach_lacks_the_approach() -> None:
    intent = StatedIntent(levels=INTENT.levels, guidance=INTENT.guidance)
    [finding] = checklist(discharge(esi(intent=intent)))
    assert "no approach" in finding.detail


# --- response -------------------------------------------------------------------------------------------------------


def test_no_outcome_complication_or_follow_up_lacks_the_response() -> None:
    injection = esi(has_outcome=False, has_complication_record=False, has_follow_up=False)
    assert missing(discharge(injection)) == ["response"]


def test_an_outcome_alone_records_the_response() -> None:
    assert missing(discharge(esi(has_complication_record=False, has_follow_up=False))) == []


# --- pain scores ----------------------------------------------------------------------------------------------------


def test_notes_without_a_score_lack_pain_scores() -> None:
    assert missing(discharge(esi(notes=("Interlaminar ESI at L5-S1 under fluoroscopy.",)))) == ["pain-scores"]


def test_a_single_score_lacks_the_after_score() -> None:
    [finding] = checklist(discharge(esi(notes=("Interlaminar ESI at L5-S1. VAS 8/10.",))))
    assert "not both before and after" in finding.detail


def test_two_readings_out_of_ten_count_as_before_and_after() -> None:
    assert missing(discharge(esi(notes=("Interlaminar ESI at L5-S1. Pain 8/10, then 3/10.",)))) == []


def test_a_named_scale_before_and_after_counts() -> None:
    assert missing(discharge(esi(notes=("Interlaminar ESI at L5-S1. NRS 7 before, 2 after.",)))) == []


UNSCORED = "Interlaminar ESI at L5-S1 under fluoroscopy. Tolerated well, no complications."


def score(value: float, *, on: date = DAY, encounter: str | None = ENCOUNTER, id: str = "pain") -> PainScore:
    return PainScore(source=f"Observation/{id}", value=value, on=on, encounter=encounter)


def test_charted_scores_before_and_after_the_injection_count_without_words_in_the_notes() -> None:
    before, after = score(7, id="pre"), score(2, id="post")
    assert missing(discharge(esi(notes=(UNSCORED,)), scores=[before, after])) == []
    # A score charted without an encounter is the session's by its day.
    assert missing(discharge(esi(notes=(UNSCORED,)), scores=[before, score(2, encounter=None)])) == []


def test_one_charted_score_and_one_in_the_note_are_before_and_after() -> None:
    notes = ("Interlaminar ESI at L5-S1 under fluoroscopy. Post-procedure pain 2/10.",)
    assert missing(discharge(esi(notes=notes), scores=[score(7)])) == []


def test_one_charted_score_alone_lacks_the_other() -> None:
    [finding] = checklist(discharge(esi(notes=(UNSCORED,)), scores=[score(7)]))
    assert "not both before and after" in finding.detail


def test_scores_of_another_day_or_another_encounter_are_not_the_sessions() -> None:
    other_day = [score(7, on=date(2026, 11, 13)), score(6, on=date(2026, 11, 13), id="again")]
    other_visit = [score(7, encounter="Encounter/pt-visit"), score(6, encounter="Encounter/pt-visit", id="again")]
    for scores in (other_day, other_visit):
        [finding] = checklist(discharge(esi(notes=(UNSCORED,)), scores=scores))
        assert "no pain or function score in the notes or among the pain scores recorded that day" in finding.detail


def test_scores_that_could_not_be_read_are_said_on_the_item() -> None:
    [finding] = checklist(discharge(esi(notes=(UNSCORED,))))
    assert "no pain or function score in the notes (the recorded pain scores could not be checked)" in finding.detail

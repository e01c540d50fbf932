"""Criteria beyond counting, at their boundaries: interval, repeat response, conservative care, diagnostic imaging."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from fhir_mappings.care_history import CareEvent, CareHistory, DiagnosticStudy, PainScore
from fhir_mappings.facts import ClinicalRecord, Diagnosis, OtherProcedure, PerformedInjection
from fhir_mappings.spine import SpinalRegion
from plugin.policies.schema import ConservativeCareRequirement
from plugin.rules.conservative_care import order_conservative_care
from plugin.rules.diagnostic_imaging import order_diagnostic_imaging
from plugin.rules.findings import Finding, RuleId, Severity
from plugin.rules.hook_facts import HookFacts
from plugin.rules.intervals import booking_interval, order_interval
from plugin.rules.repeat_criteria import order_repeat_criteria
from tests.plugin.rules.builders import applied, booking, order, performed

MOLINA = applied("molina-mcp-032")
EVICORE = applied("evicore-cmm-200")
DEFAULT = applied("evicore-cmm-200", by_default=True)
MEDICARE = applied("medicare-esi-lcd")
TODAY = date(2026, 11, 27)
LAST = date(2026, 10, 1)


def facts(
    *orders: object, history: tuple[object, ...] = (), care: CareHistory | None = None, **record: object
) -> HookFacts:
    built = HookFacts(record=ClinicalRecord(performed=history, **record), orders=orders)  # type: ignore[arg-type]
    return replace(built, care=care) if care is not None else built


# --- interval-too-short ---------------------------------------------------------------------------------------------


def test_thirteen_days_after_the_last_session_is_too_short_and_names_the_first_allowed_date() -> None:
    [finding] = order_interval(
        facts(order("64483", LAST + timedelta(days=13)), history=(performed("64483", LAST),)), MOLINA, TODAY
    )
    assert finding.rule is RuleId.INTERVAL_TOO_SHORT
    assert finding.severity is Severity.CRITICAL  # "at least 2 weeks" is verified
    assert "first allowed date 2026-10-15" in finding.summary


def test_fourteen_days_after_the_last_session_is_allowed() -> None:
    history = (performed("64483", LAST),)
    assert order_interval(facts(order("64483", LAST + timedelta(days=14)), history=history), MOLINA, TODAY) == []


def test_an_unverified_interval_is_a_warning() -> None:
    [finding] = order_interval(
        facts(order("62323", LAST + timedelta(days=7)), history=(performed("62323", LAST),)), EVICORE, TODAY
    )
    assert finding.severity is Severity.WARNING
    assert "could not be checked" in finding.detail


def test_the_default_policy_interval_is_never_critical() -> None:
    history = (performed("62323", LAST),)
    [finding] = order_interval(facts(order("62323", LAST + timedelta(days=7)), history=history), DEFAULT, TODAY)
    assert finding.severity is Severity.WARNING


def test_another_region_does_not_shorten_the_interval() -> None:
    history = (performed("62321", LAST),)
    assert order_interval(facts(order("62323", LAST + timedelta(days=3)), history=history), EVICORE, TODAY) == []


def test_the_repeat_phase_interval_applies_from_the_third_molina_session() -> None:
    history = (performed("64483", LAST - timedelta(days=30)), performed("64483", LAST))
    [finding] = order_interval(facts(order("64483", LAST + timedelta(days=59)), history=history), MOLINA, TODAY)
    assert "first allowed date 2026-11-30" in finding.summary
    assert order_interval(facts(order("64483", LAST + timedelta(days=60)), history=history), MOLINA, TODAY) == []


def test_a_booking_too_soon_after_the_last_session_is_flagged() -> None:
    proposed = booking("64483", LAST + timedelta(days=10), status="proposed")
    record = HookFacts(record=ClinicalRecord(performed=(performed("64483", LAST),)), proposed=(proposed,))
    assert [finding.rule for finding in booking_interval(record, MOLINA, TODAY)] == [RuleId.INTERVAL_TOO_SHORT]


def test_medicare_encodes_no_interval() -> None:
    history = (performed("62323", LAST),)
    assert order_interval(facts(order("62323", LAST + timedelta(days=1)), history=history), MEDICARE, TODAY) == []


# --- repeat-criteria-unmet ------------------------------------------------------------------------------------------

REPEAT_ON = LAST + timedelta(weeks=8)
THIRD = (performed("64483", LAST - timedelta(days=30)), performed("64483", LAST))


def scores(before: float, after: float, *, weeks_after: int = 6) -> CareHistory:
    return CareHistory(
        pain_scores_known=True,
        pain_scores=(
            PainScore(source="Observation/before", value=before, on=LAST),
            PainScore(source="Observation/after", value=after, on=LAST + timedelta(weeks=weeks_after)),
        ),
    )


def test_fifty_percent_relief_for_six_weeks_meets_molina_repeat_criteria() -> None:
    assert (
        order_repeat_criteria(facts(order("64483", REPEAT_ON), history=THIRD, care=scores(8, 4)), MOLINA, TODAY) == []
    )


def test_forty_nine_percent_relief_does_not() -> None:
    [finding] = order_repeat_criteria(
        facts(order("64483", REPEAT_ON), history=THIRD, care=scores(10, 5.1)), MOLINA, TODAY
    )
    assert finding.rule is RuleId.REPEAT_CRITERIA_UNMET
    assert finding.severity is Severity.WARNING
    assert "50% relief for 6 weeks" in finding.summary


def test_relief_measured_before_the_weeks_asked_for_does_not_count() -> None:
    care = scores(8, 2, weeks_after=5)
    assert order_repeat_criteria(facts(order("64483", REPEAT_ON), history=THIRD, care=care), MOLINA, TODAY) != []


def test_an_affirmed_statement_in_a_note_meets_the_criteria() -> None:
    history = (THIRD[0], performed("64483", LAST, notes=("Follow-up: 70% relief for 8 weeks after the injection.",)))
    assert (
        order_repeat_criteria(
            facts(order("64483", REPEAT_ON), history=history, care=CareHistory(pain_scores_known=True)), MOLINA, TODAY
        )
        == []
    )


def test_a_negated_statement_does_not() -> None:
    history = (THIRD[0], performed("64483", LAST, notes=("No 50% relief for 6 weeks; pain back after days.",)))
    assert (
        order_repeat_criteria(
            facts(order("64483", REPEAT_ON), history=history, care=CareHistory(pain_scores_known=True)), MOLINA, TODAY
        )
        != []
    )


def test_the_second_molina_session_is_still_in_the_initial_phase() -> None:
    history = (performed("64483", LAST),)
    assert (
        order_repeat_criteria(
            facts(order("64483", REPEAT_ON), history=history, care=CareHistory(pain_scores_known=True)), MOLINA, TODAY
        )
        == []
    )


def test_unreadable_pain_scores_skip_the_check() -> None:
    care = CareHistory(pain_scores_known=False)
    assert order_repeat_criteria(facts(order("64483", REPEAT_ON), history=THIRD, care=care), MOLINA, TODAY) == []


CHICAGO = timezone(timedelta(hours=-5))


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHICAGO)


def scored(name: str, value: float, on: date, taken: datetime | None = None) -> PainScore:
    return PainScore(source=f"Observation/{name}", value=value, on=on, at=taken)


def repeat_findings(
    *pain: PainScore, began: datetime | None = None, also: tuple[PerformedInjection, ...] = ()
) -> list[Finding]:
    """The Molina repeat 8 weeks after LAST, whose session began at `began`, with these pain scores."""
    history = (THIRD[0], performed("64483", LAST, performed_at=began), *also)
    care = CareHistory(pain_scores_known=True, pain_scores=pain)
    return order_repeat_criteria(facts(order("64483", REPEAT_ON), history=history, care=care), MOLINA, TODAY)


SEVEN_WEEKS = LAST + timedelta(weeks=7)


def test_the_baseline_is_the_score_before_the_injection_not_the_post_procedure_score_of_its_day() -> None:
    pre = scored("pre", 8, LAST, at(LAST, 8, 50))
    post = scored("post", 2, LAST, at(LAST, 9, 40))
    # 8 -> 3 is 62% relief at 7 weeks; against the post-procedure 2 it would look like no relief at all.
    assert repeat_findings(pre, post, scored("7wk", 3, SEVEN_WEEKS), began=at(LAST, 9)) == []
    assert repeat_findings(post, pre, scored("7wk", 3, SEVEN_WEEKS), began=at(LAST, 9)) == []


def test_without_the_injections_time_the_days_earliest_score_is_the_baseline() -> None:
    pre = scored("pre", 8, LAST, at(LAST, 8, 50))
    post = scored("post", 2, LAST, at(LAST, 9, 40))
    assert repeat_findings(pre, post, scored("7wk", 3, SEVEN_WEEKS)) == []


def test_a_record_of_dates_alone_takes_the_days_first_score_as_listed() -> None:
    # Pre- and post-procedure scores charted with the day only, in the order they were taken.
    pre, post = scored("pre", 8, LAST), scored("post", 2, LAST)
    assert repeat_findings(pre, post, scored("7wk", 3, SEVEN_WEEKS), began=at(LAST, 9)) == []
    assert repeat_findings(pre, post, scored("7wk", 6, SEVEN_WEEKS)) != []


def test_a_post_procedure_score_alone_on_the_day_leaves_the_last_score_before_the_day_as_baseline() -> None:
    clinic = scored("clinic", 8, LAST - timedelta(days=9), at(LAST - timedelta(days=9), 14))
    post = scored("post", 2, LAST, at(LAST, 9, 40))
    assert repeat_findings(clinic, post, scored("7wk", 3, SEVEN_WEEKS), began=at(LAST, 9)) == []


def test_the_immediate_post_procedure_relief_is_not_the_sustained_response() -> None:
    pre = scored("pre", 8, LAST, at(LAST, 8, 50))
    post = scored("post", 1, LAST, at(LAST, 9, 40))
    [finding] = repeat_findings(pre, post, scored("7wk", 7, SEVEN_WEEKS), began=at(LAST, 9))
    assert finding.rule is RuleId.REPEAT_CRITERIA_UNMET


def test_scores_and_an_injection_time_in_other_offsets_are_compared_as_instants() -> None:
    pre = scored("pre", 8, LAST, datetime(LAST.year, LAST.month, LAST.day, 13, 50, tzinfo=UTC))  # 08:50 in Chicago
    post = scored("post", 2, LAST, datetime(LAST.year, LAST.month, LAST.day, 14, 40, tzinfo=UTC))
    assert repeat_findings(pre, post, scored("7wk", 3, SEVEN_WEEKS), began=at(LAST, 9)) == []


def test_an_injection_of_another_region_earlier_that_day_does_not_move_the_sessions_start() -> None:
    cervical = performed("62321", LAST, performed_at=at(LAST, 7))
    pre = scored("pre", 8, LAST, at(LAST, 8, 50))
    post = scored("post", 2, LAST, at(LAST, 9, 40))
    assert repeat_findings(pre, post, scored("7wk", 3, SEVEN_WEEKS), began=at(LAST, 9), also=(cervical,)) == []


CARELON = applied("carelon-msk01")


def stated(policy: object, text: str, *, note: str = "") -> list[Finding]:
    """A repeat 8 weeks after LAST under `policy`, with pain scores read and none on record: only words can meet it."""
    history = (THIRD[0], performed("64483", LAST, notes=(note,) if note else ()))
    request = facts(order("64483", REPEAT_ON, text=text), history=history, care=CareHistory(pain_scores_known=True))
    return order_repeat_criteria(request, policy, TODAY)  # type: ignore[arg-type]


def test_a_pertinent_negative_earlier_in_the_order_sentence_does_not_deny_the_response() -> None:
    text = (
        "Interval history: she denies new weakness or bowel/bladder symptoms and reports 70% relief lasting 8 weeks "
        "after the last injection on 10/1, with right L4 radicular pain gradually returning over the past 2 weeks."
    )
    assert stated(EVICORE, text) == []


def test_a_response_stated_as_scores_in_words_meets_carelons_three_months() -> None:
    text = "After the 10/1 injection her leg pain decreased from 8/10 to 2/10 and stayed there for 4 months."
    assert stated(CARELON, text) == []
    assert stated(CARELON, "70% relief for 3 months after the last TFESI.") == []
    assert stated(CARELON, "70% relief for 2 months after the last TFESI.") != []


def test_relief_worded_before_its_number_meets_the_criteria() -> None:
    assert stated(MOLINA, "", note="Follow-up: pain reduced by 75% for 8 weeks.") == []
    assert stated(MOLINA, "", note="Follow-up: improved 80% for 7 weeks.") == []


def test_the_responses_own_duration_is_read_not_the_sentences_first() -> None:
    note = "At her 2 week follow-up she reported 80% relief, which has lasted 10 weeks."
    assert stated(MOLINA, "", note=note) == []


@pytest.mark.parametrize(
    "text",
    [
        "Less than 30% relief for about 1 week after the 10/1 injection. Patient requests a repeat.",
        "No relief from the last injection; pain 8/10.",
        "Did not get relief after the 10/1 TFESI.",
        "Denies relief; requests a repeat.",
        "Denies 70% relief for 8 weeks.",
        "Will repeat if she reports 50% relief for 6 weeks.",
        "80% relief post-procedure, follow up in 2 weeks.",
    ],
)
def test_no_relief_little_relief_or_relief_hoped_for_still_fails(text: str) -> None:
    [finding] = stated(EVICORE, text)
    assert finding.rule is RuleId.REPEAT_CRITERIA_UNMET


# --- conservative-care-undocumented ---------------------------------------------------------------------------------

FIRST_ON = date(2026, 12, 3)
CARE_READ = CareHistory(care_events_known=True)  # visits and drugs were read, and none is conservative care


def therapy(on: date) -> OtherProcedure:
    return OtherProcedure(
        source="Procedure/pt", codes=("97110",), status="completed", performed_on=on, encounter=None, text=""
    )


def test_physical_therapy_begun_four_weeks_before_is_enough() -> None:
    record = facts(order("62323", FIRST_ON), other_procedures=(therapy(FIRST_ON - timedelta(weeks=4)),))
    assert order_conservative_care(record, EVICORE, TODAY) == []


def test_physical_therapy_begun_a_day_later_is_not() -> None:
    record = facts(
        order("62323", FIRST_ON),
        other_procedures=(therapy(FIRST_ON - timedelta(weeks=4) + timedelta(days=1)),),
        care=CARE_READ,
    )
    [finding] = order_conservative_care(record, EVICORE, TODAY)
    assert finding.rule is RuleId.CONSERVATIVE_CARE_UNDOCUMENTED
    assert "4 weeks" in finding.summary


def test_a_stated_duration_in_the_order_is_enough() -> None:
    stated = order("62323", FIRST_ON, text="Radiculopathy after 6 weeks of physical therapy and NSAIDs")
    assert order_conservative_care(facts(stated), EVICORE, TODAY) == []


def test_repeat_sessions_are_not_asked_again() -> None:
    record = facts(order("62323", FIRST_ON), history=(performed("62323", FIRST_ON - timedelta(days=60)),))
    assert order_conservative_care(record, EVICORE, TODAY) == []


def test_carelon_asks_two_weeks_when_the_order_names_a_radicular_diagnosis() -> None:
    # "≥4 weeks conservative care (2 if radiculopathy is clear)": three weeks of PT meet it for an order whose
    # indication is a radiculopathy, not for one treating axial pain.
    three_weeks = (therapy(FIRST_ON - timedelta(weeks=3)),)
    radicular = order("62323", FIRST_ON, reason_codes=("M51.17",))
    axial = order("62323", FIRST_ON, reason_codes=("M47.816",))
    assert order_conservative_care(facts(radicular, other_procedures=three_weeks, care=CARE_READ), CARELON, TODAY) == []
    [finding] = order_conservative_care(facts(axial, other_procedures=three_weeks, care=CARE_READ), CARELON, TODAY)
    assert finding.summary == "No 4 weeks of conservative care documented before 2026-12-03"
    # One week is not two, whatever the diagnosis.
    one_week = (therapy(FIRST_ON - timedelta(weeks=1)),)
    [short] = order_conservative_care(facts(radicular, other_procedures=one_week, care=CARE_READ), CARELON, TODAY)
    assert short.summary == "No 2 weeks of conservative care documented before 2026-12-03"


def test_a_radicular_diagnosis_cited_from_the_record_counts_unless_it_is_uncertain() -> None:
    three_weeks = (therapy(FIRST_ON - timedelta(weeks=3)),)
    cited = order("62323", FIRST_ON, reason_codes=(), reason_references=("Condition/c1",))

    def judged_with(confirmed: bool) -> list[Finding]:
        diagnosis = Diagnosis("Condition/c1", "M54.16", None, True, confirmed, FIRST_ON)
        record = facts(cited, other_procedures=three_weeks, diagnoses=(diagnosis,), care=CARE_READ)
        return order_conservative_care(record, CARELON, TODAY)

    assert judged_with(confirmed=True) == []
    assert len(judged_with(confirmed=False)) == 1


def test_a_shorter_requirement_must_be_shorter() -> None:
    quote = {"text": "2 if radiculopathy is clear", "url": "https://example.org/p", "verified": False}
    with pytest.raises(ValidationError, match="fewer than weeks"):
        ConservativeCareRequirement.model_validate(
            {"weeks": 2, "source": quote, "shorter": {"weeks": 2, "diagnoses": ["M54.1"], "source": quote}}
        )


BOUNDARY = FIRST_ON - timedelta(weeks=4)  # eviCore and Molina ask for 4 weeks: care begun by this day is enough


def visit(on: date, kind: str = "Physical therapy", codes: frozenset[str] = frozenset()) -> CareEvent:
    return CareEvent("Encounter/pt", "encounter", on, codes, kind)


def drug(on: date, name: str = "Ibuprofen 600 MG Oral Tablet", codes: frozenset[str] = frozenset()) -> CareEvent:
    return CareEvent("MedicationRequest/m1", "medication", on, codes, name)


def judged(*events: CareEvent, policy: object = EVICORE, text: str = "Lumbar ILESI L4-L5") -> list[str]:
    care = CareHistory(care_events=events, care_events_known=True)
    findings = order_conservative_care(facts(order("62323", FIRST_ON, text=text), care=care), policy, TODAY)  # type: ignore[arg-type]
    return [finding.summary for finding in findings]


def test_a_physical_therapy_visit_counts_at_the_policys_weeks_and_not_a_day_later() -> None:
    assert judged(visit(BOUNDARY)) == []
    assert judged(visit(BOUNDARY + timedelta(days=1))) == [
        "No 4 weeks of conservative care documented before 2026-12-03"
    ]
    assert judged(visit(BOUNDARY, kind="Office visit", codes=frozenset({"97161"}))) == []
    assert judged(visit(BOUNDARY, kind="Office visit", codes=frozenset({"91251008"}))) == []
    assert judged(visit(BOUNDARY, kind="Office visit")) != []


def test_an_nsaid_muscle_relaxant_or_gabapentinoid_counts_by_name_or_rxnorm_ingredient() -> None:
    assert judged(drug(BOUNDARY)) == []
    assert judged(drug(BOUNDARY, "Cyclobenzaprine 10 MG Oral Tablet")) == []
    assert judged(drug(BOUNDARY, "Rx 310431", codes=frozenset({"25480"}))) == []  # gabapentin, coded only
    assert judged(drug(BOUNDARY + timedelta(days=1))) != []
    assert judged(drug(BOUNDARY, "Lisinopril 10 MG Oral Tablet")) != []


def test_a_policy_asking_for_physical_therapy_is_not_met_by_drugs() -> None:
    assert judged(drug(BOUNDARY), policy=MOLINA) == ["No 4 weeks of physical therapy documented before 2026-12-03"]
    assert judged(visit(BOUNDARY), policy=MOLINA) == []
    assert judged(policy=MOLINA, text="Lumbar ILESI; failed 6 weeks of NSAIDs") != []
    assert judged(policy=MOLINA, text="Lumbar ILESI; failed 6 weeks of PT") == []


def test_a_stated_duration_counts_at_the_policys_weeks_when_told_as_done() -> None:
    assert judged(text="Lumbar ILESI L4-L5; failed 4 weeks of physical therapy") == []
    assert judged(text="Lumbar ILESI L4-L5; failed 3 weeks of physical therapy") != []
    assert judged(text="Lumbar ILESI L4-L5. Completed 8 wks of PT and home exercise program.") == []
    assert judged(text="Lumbar ILESI L4-L5. Plan: 6 weeks of physical therapy.") != []
    assert judged(text="Lumbar ILESI L4-L5. Did not complete 6 weeks of physical therapy.") != []
    assert judged(text="Lumbar ILESI L4-L5. Will start 6 weeks of PT.") != []
    assert judged(text="Lumbar ILESI L4-L5. 6 WEEKS AGO pt fell.") != []  # "pt" is the patient


def test_care_that_was_done_and_failed_counts_however_the_failure_is_worded() -> None:
    failed = [
        "HPI: 5 months of buttock pain. No improvement with 6 weeks of physical therapy at an outside clinic and daily "
        "naproxen. Denies bowel/bladder symptoms.",
        "Pain did not improve after 6 weeks of physical therapy.",
        "Completed physical therapy for 6 weeks without relief.",
        "No significant relief from 8 weeks of PT.",
        "Has not responded to 2 months of meloxicam.",
        "Hx of PT x 8 weeks in 2025, not helpful.",
    ]
    assert [text for text in failed if judged(text=f"Lumbar ILESI L4-L5. {text}") != []] == []


def test_a_duration_written_after_the_care_word_is_read() -> None:
    after = ["PT for 6 weeks.", "PT x 8 weeks.", "PT x8 wks.", "Physical therapy 2x/week for 6 weeks."]
    assert [text for text in after if judged(text=f"Lumbar ILESI L4-L5. {text}") != []] == []
    assert judged(text="Lumbar ILESI L4-L5. PT for 3 weeks.") != []
    assert judged(policy=MOLINA, text="Lumbar ILESI L4-L5. Naproxen for 6 weeks.") != []  # Molina asks for therapy


def test_care_denied_declined_or_hedged_does_not_count_on_either_side_of_its_duration() -> None:
    not_done = [
        "PT was not tried.",
        "Physical therapy was not tried; patient declined PT for 6 weeks.",
        "No physical therapy for 6 weeks.",
        "PT has not been tried; 6 weeks of rest.",
        "PT for 6 weeks if needed.",
        "Will start PT for 6 weeks.",
        "PT, MRI 6 weeks ago.",  # the weeks are the MRI's
    ]
    assert [text for text in not_done if judged(text=f"Lumbar ILESI L4-L5. {text}") == []] == []


def test_unread_visits_or_drugs_skip_the_check_rather_than_blame_the_record() -> None:
    unread = facts(order("62323", FIRST_ON, text="Lumbar ILESI L4-L5"), care=CareHistory(care_events_known=False))
    assert order_conservative_care(unread, EVICORE, TODAY) == []


# --- diagnostic-imaging-missing -------------------------------------------------------------------------------------


def mri(on: date, *regions: SpinalRegion) -> CareHistory:
    study = DiagnosticStudy(
        source="DiagnosticReport/mri", modalities=frozenset({"MR"}), on=on, regions=frozenset(regions)
    )
    return CareHistory(diagnostic_studies=(study,), diagnostic_imaging_known=True)


def test_an_mri_of_the_region_24_months_back_counts() -> None:
    care = mri(date(2024, 12, 3), SpinalRegion.LUMBAR_SACRAL)
    assert order_diagnostic_imaging(facts(order("62323", FIRST_ON), care=care), EVICORE, TODAY) == []


def test_an_mri_a_day_older_does_not() -> None:
    care = mri(date(2024, 12, 2), SpinalRegion.LUMBAR_SACRAL)
    [finding] = order_diagnostic_imaging(facts(order("62323", FIRST_ON), care=care), EVICORE, TODAY)
    assert finding.rule is RuleId.DIAGNOSTIC_IMAGING_MISSING
    assert "lumbar/sacral" in finding.summary


def test_an_mri_of_another_region_does_not_count() -> None:
    care = mri(date(2026, 6, 1), SpinalRegion.CERVICAL_THORACIC)
    assert order_diagnostic_imaging(facts(order("62323", FIRST_ON), care=care), EVICORE, TODAY) != []


def test_unreadable_radiology_reports_skip_the_check() -> None:
    care = CareHistory(diagnostic_imaging_known=False)
    assert order_diagnostic_imaging(facts(order("62323", FIRST_ON), care=care), EVICORE, TODAY) == []

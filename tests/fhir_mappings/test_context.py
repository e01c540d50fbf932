"""Each class of misreading the issue names, read in context: a word about something else says nothing of the
injection, and the strength of what is read is said."""

from __future__ import annotations

from fhir_mappings.code_systems import SNOMED_CT
from fhir_mappings.context import Assertion, Context, Target
from fhir_mappings.facts import Evidence
from fhir_mappings.intent import foramen_of_root, read_intent, read_text
from fhir_mappings.phrases import Text
from fhir_mappings.spine import Approach, SpinalLevel, SpinalRegion

LUMBAR_SACRAL = frozenset({SpinalRegion.LUMBAR_SACRAL})


def _read(text: str, phrase: str) -> tuple[Target, Assertion]:
    start = text.index(phrase)
    reading = Context(Text(text)).read(start, start + len(phrase))
    return reading.target, reading.assertion


def test_an_iv_catheter_is_a_device_not_an_epidural_catheter() -> None:
    assert _read("Lumbar ESI L4-L5; IV catheter placed in left hand", "catheter")[0] is Target.DEVICE
    assert read_intent("Lumbar ESI L4-L5; IV catheter placed in left hand").catheter is None


def test_a_prior_rf_neurolysis_in_the_history_is_not_a_neurolytic_injection() -> None:
    intent = read_intent("ILESI L4-L5. Hx of medial branch RF neurolysis L3-L5 in 2024.")

    assert intent.neurolytic is False
    assert intent.levels == (SpinalLevel("L4", "L5"),)


def test_symptom_laterality_is_not_procedure_laterality() -> None:
    assert read_intent("Lumbar ILESI L4-L5 for bilateral lower extremity radicular pain").bilateral is False
    assert read_intent("Bilateral L4-L5 transforaminal epidural steroid injection").bilateral is True


def test_an_mri_sequence_is_not_a_thoracic_level() -> None:
    intent = read_intent("Lumbar ESI L4-L5. MRI: T2 hyperintense signal in the L4-5 disc")

    assert intent.levels == (SpinalLevel("L4", "L5"),)
    assert intent.body_site_regions == LUMBAR_SACRAL


def test_a_level_of_past_surgery_is_not_an_injected_level() -> None:
    reading = read_text("ILESI L3-L4, s/p L4-L5 laminectomy")

    assert reading.intent.levels == (SpinalLevel("L3", "L4"),)
    assert reading.tells_history


def test_nerve_roots_are_counted_as_the_foramina_they_exit() -> None:
    intent = read_intent("TFESI L5-S1 (L5 root) and S1, left, fluoroscopic guidance")

    assert intent.approach is Approach.TRANSFORAMINAL
    assert intent.levels == (SpinalLevel("L5", "S1"), SpinalLevel("S1"))


def test_a_root_exits_below_its_vertebra_in_the_lumbar_spine_and_above_it_in_the_neck() -> None:
    assert foramen_of_root("L5") == SpinalLevel("L5", "S1")
    assert foramen_of_root("T12") == SpinalLevel("T12", "L1")
    assert foramen_of_root("S1") == SpinalLevel("S1")
    assert foramen_of_root("C6") == SpinalLevel("C5", "C6")
    assert foramen_of_root("C8") == SpinalLevel("C7", "T1")


def test_hypertonic_saline_alone_is_lysis_of_adhesions_not_neurolysis() -> None:
    assert read_intent("Percutaneous lysis of epidural adhesions with hypertonic saline").neurolytic is False


def test_shortened_interspaces_are_levels() -> None:
    assert read_intent("ILESI L4-5").levels == (SpinalLevel("L4", "L5"),)
    assert read_intent("CESI C6/7").levels == (SpinalLevel("C6", "C7"),)


def test_negated_planned_and_past_words_say_nothing_of_this_injection() -> None:
    assert read_intent("Lumbar ESI L4-L5, consider catheter if poor response").catheter is None
    assert read_intent("ILESI L4-L5, not bilateral").bilateral is False
    assert read_intent("Pump trial not indicated at this time").pump_trial is False
    assert read_intent("Right L4 TFESI; prior L5-S1 TFESI 03/2026").levels == (SpinalLevel("L4", "L5"),)


def test_a_clause_in_the_present_outweighs_a_history_word() -> None:
    assert read_intent("Patient underwent L4-5 ILESI today").levels == (SpinalLevel("L4", "L5"),)


def test_epidurogram_is_fluoroscopic_guidance() -> None:
    assert {modality.value for modality in read_intent("Lumbar ESI with epidurogram").guidance} == {"fluoroscopy"}


def test_a_pump_trial_stated_in_the_reason_is_read() -> None:
    assert read_intent("Epidural steroid injection", reason_words="Intrathecal pump trial for FBSS").pump_trial


def test_levels_in_a_reason_are_not_the_injections() -> None:
    assert read_intent("Epidural steroid injection", reason_words="Lumbar stenosis L4-L5").levels == ()


def test_a_statement_about_the_injection_is_stated_evidence() -> None:
    intent = read_intent("Bilateral L5 TFESI under fluoroscopy")

    assert intent.strength("bilateral") is Evidence.STATED
    assert intent.supports_fix("levels")


def test_words_whose_target_is_uncertain_are_only_mentioned() -> None:
    # The sentence names the injection and an imaging finding, and nothing beside "fluoroscopy" says which it is of.
    intent = read_intent("Fluoroscopy; MRI reviewed. ILESI L4-L5.")

    assert intent.guidance
    assert intent.strength("guidance") is Evidence.MENTIONED
    assert not intent.supports_fix("guidance")


def test_coded_body_sites_and_laterality_outweigh_the_words() -> None:
    lumbar, right = (SNOMED_CT, "122496007"), (SNOMED_CT, "24028007")
    intent = read_intent("Bilateral cervical TFESI", body_site_codes=[lumbar, right])

    assert intent.body_site_regions == LUMBAR_SACRAL
    assert intent.bilateral is False
    assert intent.strength("body_site_regions") is Evidence.STRUCTURED
    assert intent.strength("bilateral") is Evidence.STRUCTURED


def test_a_hedge_after_its_object_makes_only_that_object_hypothetical() -> None:
    text = "Caudal ESI with fluoro if available"
    assert _read(text, "fluoro") == (Target.INJECTION, Assertion.HYPOTHETICAL)
    assert _read(text, "Caudal") == (Target.INJECTION, Assertion.AFFIRMED)
    intent = read_intent(text)
    assert intent.guidance == frozenset()
    assert intent.approach is Approach.INTERLAMINAR
    assert read_intent("Lumbar ESI L4-L5, catheter may be needed").catheter is None
    assert read_intent("Epidural catheter may be needed").catheter is None
    assert read_intent("Lumbar ESI L4-L5 under fluoroscopy, phenol neurolysis if steroid fails").neurolytic is False


def test_conditional_and_planned_sides_are_not_bilateral() -> None:
    for text in (
        "Lumbar ESI L5-S1, consider bilateral",
        "L5-S1 TFESI, possibly bilateral",
        "Interlaminar ESI L4-L5 under fluoroscopy; bilateral if tolerated",
    ):
        assert read_intent(text).bilateral is False, text


def test_alternatives_leave_the_choice_open() -> None:
    assert read_intent("Possible L5-S1 TFESI vs interlaminar").approach is None
    assert read_intent("Lumbar TFESI vs ILESI, L4-5").approach is None
    assert read_intent("ESI L4-5 vs. L5-S1, interlaminar").levels == ()
    assert read_intent("ESI L4-5 or L5-S1").levels == ()
    assert read_intent("TFESI right L4 and/or L5 under fluoroscopy").levels == ()
    # The alternative reaches only its neighbours: the firm words of the clause stand.
    intent = read_intent("Lumbar TFESI vs ILESI, L4-5")
    assert intent.levels == (SpinalLevel("L4", "L5"),)


def test_a_choice_said_to_be_made_later_reads_none_of_its_values() -> None:
    intent = read_intent("Lumbar ESI L4-5; will decide level at time of procedure")
    assert intent.levels == ()
    assert intent.body_site_regions == LUMBAR_SACRAL
    assert read_intent("Lumbar ESI L4-L5 interlaminar; approach to be determined by attending").approach is None
    assert read_intent("L5-S1 TFESI bilateral. Side TBD.").bilateral is False
    # A word naming a value is not a choice left open.
    note = "Transforaminal approach considered but interlaminar L5-S1 chosen due to anatomy."
    assert read_intent(note).approach is Approach.INTERLAMINAR


def test_a_verb_of_reporting_starts_a_new_statement_that_an_earlier_denial_does_not_reach() -> None:
    text = "She denies new weakness or bowel/bladder symptoms and reports 70% relief after the last TFESI."
    assert _read(text, "weakness")[1] is Assertion.NEGATED
    assert _read(text, "70% relief")[1] is Assertion.AFFIRMED
    assert _read("Denies relief after the injection.", "relief")[1] is Assertion.NEGATED


def test_a_condition_on_what_is_reported_stays_a_condition() -> None:
    assert _read("Repeat TFESI if she reports 50% relief.", "50% relief")[1] is Assertion.HYPOTHETICAL


def test_a_reason_given_for_a_plan_is_not_part_of_the_plan() -> None:
    text = "Consider repeat TFESI given 70% relief for 8 weeks."
    assert _read(text, "repeat")[1] is Assertion.HYPOTHETICAL
    assert _read(text, "70% relief")[1] is Assertion.AFFIRMED


def test_sentences_and_clauses_are_numbered_in_order() -> None:
    text = "At her 2 week follow-up she reported 80% relief, which has lasted 10 weeks. Pain now 3/10."
    context = Context(Text(text))
    follow_up, relief, lasted = text.index("2 week"), text.index("80%"), text.index("10 weeks")
    assert context.sentence_of(follow_up) == context.sentence_of(lasted) == 0
    assert context.sentence_of(text.index("Pain")) == 1
    assert context.clause_of(follow_up) < context.clause_of(relief) < context.clause_of(lasted)
    assert context.sentence_of(len(text)) == 2


def _assertion(text: str, phrase: str) -> Assertion:
    return _read(text, phrase)[1]


def test_a_failed_outcome_does_not_negate_the_care_that_failed() -> None:
    # ConText's pseudo-negation: the "no" / "not" negates the improvement, and the therapy was given.
    hpi = "No improvement with 6 weeks of physical therapy at an outside clinic and daily naproxen."
    failed = [
        (hpi, "physical therapy"),
        (hpi, "naproxen"),
        ("Pain did not improve after 6 weeks of PT.", "PT"),
        ("Leg pain has not improved with gabapentin.", "gabapentin"),
        ("No significant relief from 8 weeks of PT and a home exercise program.", "home exercise program"),
        ("Has not responded to 2 months of meloxicam.", "meloxicam"),
        ("PT x 8 weeks did not help.", "PT"),
        ("Chiropractic care in 2025, not helpful.", "Chiropractic"),
    ]
    assert [(text, phrase) for text, phrase in failed if _assertion(text, phrase) is not Assertion.AFFIRMED] == []
    assert _assertion("History of PT with no lasting benefit.", "PT") is Assertion.HISTORICAL


def test_care_not_given_stays_negated_on_either_side_of_its_words() -> None:
    not_given = [
        ("Physical therapy was not tried; patient declined PT.", "Physical therapy"),
        ("Physical therapy was not tried; patient declined PT.", "PT"),
        ("PT has not been tried.", "PT"),
        ("Has not tried physical therapy.", "physical therapy"),
        ("No physical therapy.", "physical therapy"),
        ("No chiropractic care.", "chiropractic"),
        ("Patient refuses PT.", "PT"),
        ("NSAIDs contraindicated (CKD stage 4).", "NSAIDs"),
        ("Did not complete 6 weeks of physical therapy.", "physical therapy"),
        # An outcome word does not lift the negation of care that was not given.
        ("No improvement; no PT.", "PT"),
    ]
    assert [(text, phrase) for text, phrase in not_given if _assertion(text, phrase) is not Assertion.NEGATED] == []
    # A contraindication reaches only the drug it follows: the therapy before it stands.
    assert _assertion("Failed 6 weeks of PT and NSAIDs are contraindicated.", "PT") is Assertion.AFFIRMED


def test_prior_authorization_is_not_a_past_injection() -> None:
    intent = read_intent("Prior authorization approved for left L5-S1 transforaminal ESI under fluoroscopy")

    assert intent.approach is Approach.TRANSFORAMINAL
    assert intent.levels == (SpinalLevel("L5", "S1"),)
    assert read_intent("Prior ESI L4-L5 in 2025").levels == ()

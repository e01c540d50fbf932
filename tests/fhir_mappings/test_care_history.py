import msgspec
import orjson

from fhir_mappings.care_history import read_care_events, read_diagnostic_studies, read_pain_scores
from fhir_mappings.spine import SpinalRegion


def observation(value: object, *, code: str = "72514-3", status: str = "final") -> dict[str, object]:
    return {
        "resourceType": "Observation",
        "id": "o1",
        "status": status,
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "effectiveDateTime": "2026-10-01T09:00:00-05:00",
        "valueQuantity": {"value": value},
    }


def test_a_pain_score_is_read_from_raw_json_as_the_request_body_leaves_it() -> None:
    raw = msgspec.Raw(orjson.dumps(observation(7)))
    [score] = read_pain_scores([raw])
    assert (score.value, score.on.isoformat(), score.source) == (7.0, "2026-10-01", "Observation/o1")


def test_a_pain_score_keeps_its_encounter_however_the_reference_is_written() -> None:
    charted = {**observation(2), "encounter": {"reference": "https://ehr.example/fhir/Encounter/enc-10"}}
    [score] = read_pain_scores([charted])
    assert score.encounter == "Encounter/enc-10"
    [unlinked] = read_pain_scores([{**observation(2), "encounter": ["Encounter/enc-10"]}])
    assert unlinked.encounter is None


def test_scores_of_other_codes_states_or_scales_are_left_out() -> None:
    others = [
        observation(7, code="8867-4"),
        observation(7, status="entered-in-error"),
        observation(40),
        observation(True),
    ]
    assert read_pain_scores(others) == ()


def test_a_pain_score_keeps_its_time_and_scores_of_one_day_are_in_time_order() -> None:
    def scored(id: str, when: str, value: int) -> dict[str, object]:
        return {**observation(value), "id": id, "effectiveDateTime": when}

    # The post-procedure score listed first, as an EHR may send them.
    post = scored("post", "2026-08-10T09:40:00-05:00", 2)
    pre = scored("pre", "2026-08-10T08:50:00-05:00", 8)
    later = scored("later", "2026-10-05", 3)
    scores = read_pain_scores([later, post, pre])
    assert [score.source for score in scores] == ["Observation/pre", "Observation/post", "Observation/later"]
    assert scores[0].at is not None
    assert scores[0].at.isoformat() == "2026-08-10T08:50:00-05:00"
    assert scores[2].at is None


def test_scores_of_a_day_without_times_keep_the_order_the_record_gives() -> None:
    def scored(id: str, value: int) -> dict[str, object]:
        return {**observation(value), "id": id, "effectiveDateTime": "2026-08-10"}

    scores = read_pain_scores([scored("first", 8), scored("second", 2)])
    assert [score.source for score in scores] == ["Observation/first", "Observation/second"]


def test_an_mri_report_is_read_with_its_region() -> None:
    report = {
        "resourceType": "DiagnosticReport",
        "id": "r1",
        "status": "final",
        "code": {"text": "MRI lumbar spine without contrast"},
        "effectiveDateTime": "2026-05-10",
    }
    [study] = read_diagnostic_studies([], [report])
    assert study.modalities == {"MR"}
    assert study.regions == {SpinalRegion.LUMBAR_SACRAL}


def _report(code_text: str | None, conclusion: str) -> dict[str, object]:
    report: dict[str, object] = {
        "resourceType": "DiagnosticReport",
        "id": "r1",
        "status": "final",
        "effectiveDateTime": "2026-10-02",
        "conclusion": conclusion,
    }
    if code_text is not None:
        report["code"] = {"text": code_text}
    return report


def test_a_radiograph_recommending_an_mri_is_no_mri() -> None:
    xray = _report("XR lumbar spine 3 views", "Mild DDD L4-5. If radicular symptoms persist, MRI recommended.")
    compared = _report("Lumbar spine radiographs", "Stable compared with the MRI of 2024-03-01.")
    assert read_diagnostic_studies([], [xray, compared]) == ()


def test_a_report_whose_code_names_no_study_is_read_by_its_conclusion() -> None:
    [study] = read_diagnostic_studies([], [_report("Radiology report", "MRI of the lumbar spine: L5-S1 extrusion.")])
    assert study.modalities == {"MR"}
    assert study.regions == {SpinalRegion.LUMBAR_SACRAL}


def test_a_ct_imaging_study_counts_and_a_fluoroscopy_study_does_not() -> None:
    def imaging(modality: str) -> dict[str, object]:
        return {
            "resourceType": "ImagingStudy",
            "id": modality,
            "status": "available",
            "started": "2026-05-10",
            "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": modality}],
            "description": "Cervical spine",
        }

    [study] = read_diagnostic_studies([imaging("CT"), imaging("RF")], [])
    assert study.source == "ImagingStudy/CT"
    assert study.regions == {SpinalRegion.CERVICAL_THORACIC}


def test_fields_of_the_wrong_shape_skip_the_resource_without_an_error() -> None:
    broken = observation(7)
    broken["status"] = ["final"]
    listed_code = observation(7)
    listed_code["code"] = {"coding": [{"system": "http://loinc.org", "code": ["72514-3"]}]}
    study = {"resourceType": "ImagingStudy", "status": {}, "modality": [{"code": ["MR"]}], "series": "x"}
    assert read_pain_scores([broken, listed_code]) == ()
    assert read_diagnostic_studies([study], [{"resourceType": "DiagnosticReport", "status": ["final"]}]) == ()


def pt_visit(status: str = "finished") -> dict[str, object]:
    return {
        "resourceType": "Encounter",
        "id": "e1",
        "status": status,
        "type": [{"coding": [{"system": "http://snomed.info/sct", "code": "91251008"}], "text": "Physical therapy"}],
        "period": {"start": "2026-09-01T10:00:00-05:00"},
    }


def nsaid(resource_type: str, **fields: object) -> dict[str, object]:
    return {
        "resourceType": resource_type,
        "id": "m1",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "197806"}],
            "text": "Ibuprofen 600 MG Oral Tablet",
        },
        **fields,
    }


def test_visits_and_drugs_that_took_place_are_read_with_their_codes_words_and_first_day() -> None:
    request = nsaid("MedicationRequest", status="completed", intent="order", authoredOn="2026-08-15")
    statement = nsaid("MedicationStatement", status="active", effectivePeriod={"start": "2026-07-01"})
    visit, ordered, taken = read_care_events([pt_visit()], [request], [statement])

    assert (visit.kind, visit.started.isoformat(), "91251008" in visit.codes) == ("encounter", "2026-09-01", True)
    assert "Physical therapy" in visit.text
    assert (ordered.kind, ordered.started.isoformat(), ordered.source) == (
        "medication",
        "2026-08-15",
        "MedicationRequest/m1",
    )
    assert "Ibuprofen" in ordered.text
    assert taken.started.isoformat() == "2026-07-01"


def test_planned_refused_or_erroneous_care_is_not_read() -> None:
    assert read_care_events([pt_visit("planned"), pt_visit("cancelled")], [], []) == ()
    plans = [
        nsaid("MedicationRequest", status="active", intent="plan", authoredOn="2026-08-15"),
        nsaid("MedicationRequest", status="entered-in-error", intent="order", authoredOn="2026-08-15"),
        nsaid("MedicationRequest", status="active", intent="order"),  # no day: nothing says when it began
    ]
    statements = [
        nsaid("MedicationStatement", status="not-taken", effectiveDateTime="2026-07-01"),
        nsaid("MedicationStatement", status="intended", effectiveDateTime="2026-07-01"),
    ]
    assert read_care_events([], plans, statements) == ()
    assert read_care_events([{"resourceType": "Encounter", "status": ["finished"]}, "not json"], [], []) == ()

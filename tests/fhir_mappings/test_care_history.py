import msgspec
import orjson

from fhir_mappings.care_history import read_diagnostic_studies, read_pain_scores
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


def test_scores_of_other_codes_states_or_scales_are_left_out() -> None:
    others = [
        observation(7, code="8867-4"),
        observation(7, status="entered-in-error"),
        observation(40),
        observation(True),
    ]
    assert read_pain_scores(others) == ()


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

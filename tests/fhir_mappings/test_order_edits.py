from fhir_mappings.code_systems import ICD_10_CM
from fhir_mappings.order_edits import recoded, with_reason
from plugin.sandbox.resources import service_request, valid


def test_recoded_replaces_only_the_cpt_coding() -> None:
    order = service_request("o1", "62322", "Lumbar ESI L4-L5", occurrence="2026-12-03")
    order["code"]["coding"].append({"system": "http://snomed.info/sct", "code": "231253001"})
    order["note"] = [{"text": "patient prefers mornings"}]
    changed = valid(
        recoded(order, "62323", "Injection, interlaminar epidural, lumbar or sacral; with imaging guidance")
    )
    assert [c["code"] for c in changed["code"]["coding"]] == ["62323", "231253001"]
    assert changed["note"] == order["note"]
    assert changed["occurrenceDateTime"] == "2026-12-03"
    assert order["code"]["coding"][0]["code"] == "62322"  # the draft itself is untouched


def test_with_reason_replaces_a_code_written_without_its_dot() -> None:
    order = service_request("o1", "62323", "ESI", reasons=[("m544", "Lumbago with sciatica")])
    changed = valid(with_reason(order, "M54.41", "Lumbago with sciatica, right side", "Condition/c1", replaces="M54.4"))
    assert [c["coding"][0]["code"] for c in changed["reasonCode"]] == ["M54.41"]
    assert changed["reasonReference"] == [{"reference": "Condition/c1"}]
    assert changed["reasonCode"][0]["coding"][0]["system"] == ICD_10_CM

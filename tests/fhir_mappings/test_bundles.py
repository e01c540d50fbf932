import pytest

from fhir_mappings.bundles import relative_reference, separate_included


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("Condition/c1", "Condition/c1"),
        ("https://ehr.example.org/fhir/R4/Condition/c1", "Condition/c1"),
        ("Condition/c1/_history/2", "Condition/c1"),
        ("https://ehr.example.org/fhir/Encounter/e1/_history/7", "Encounter/e1"),
        ("urn:uuid:0b5d6e5e-1d2c-4b8e-9a6c-2f6f0e0f1a2b", "urn:uuid:0b5d6e5e-1d2c-4b8e-9a6c-2f6f0e0f1a2b"),
        ("#contained-1", "#contained-1"),
    ],
)
def test_references_written_any_way_become_type_and_id(reference: str, expected: str) -> None:
    assert relative_reference(reference) == expected


def test_included_resources_are_set_apart_and_indexed() -> None:
    coverage = {"resourceType": "Coverage", "id": "c1"}
    payer = {"resourceType": "Organization", "id": "o1", "name": "Medicare"}
    odd = {"resourceType": ["Organization"], "id": "x"}
    results, included = separate_included([coverage, payer, odd, "junk"], {"Organization"})
    assert results == [coverage, odd, "junk"]
    assert included == {"Organization/o1": payer}

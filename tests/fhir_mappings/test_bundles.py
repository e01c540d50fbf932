import math

import msgspec
import pytest

from fhir_mappings.bundles import UNREADABLE, opened, parsed, relative_reference, resources_in, separate_included


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


def _raw(text: bytes) -> msgspec.Raw:
    return msgspec.json.decode(b'{"value": ' + text + b"}", type=dict[str, msgspec.Raw])["value"]


def test_a_raw_bundle_is_opened_down_to_its_entries_which_stay_raw() -> None:
    bundle = opened(_raw(b'{"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Procedure"}}]}'))

    [resource] = resources_in(bundle)

    assert isinstance(resource, msgspec.Raw)
    assert parsed(resource) == {"resourceType": "Procedure"}


def test_raw_json_that_is_not_a_bundle_is_parsed_whole() -> None:
    assert opened(_raw(b'{"resourceType": "Patient", "id": "p"}')) == {"resourceType": "Patient", "id": "p"}
    assert opened(_raw(b'[{"resourceType": "Procedure"}]')) == [{"resourceType": "Procedure"}]
    assert opened(_raw(b'{"resourceType": "Bundle", "entry": [7]}')) == {"resourceType": "Bundle", "entry": [7]}


def test_a_number_no_double_holds_is_read_as_infinity_not_an_error() -> None:
    assert parsed(_raw(b'{"n": 1e999}')) == {"n": math.inf}
    assert parsed(_raw(b"-1e999")) == -math.inf


def test_a_slice_no_parser_reads_is_marked_unreadable() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    assert parsed(msgspec.Raw(deep)) == UNREADABLE

"""`resources_in` on anything: every Bundle entry, list item or bare resource comes out once, and nothing raises."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fhir_mappings.bundles import index_by_reference, resources_in
from tests.fuzz.resource_shapes import JSON, prefetch_value


def _expected_count(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, list):
        return sum(_expected_count(item) for item in value)
    if isinstance(value, dict) and value.get("resourceType") == "Bundle":
        entries = value.get("entry")
        return len(entries) if isinstance(entries, list) else 0
    return 1


@given(st.one_of(JSON, prefetch_value("Procedure"), prefetch_value("Appointment")))
def test_every_entry_item_or_resource_comes_out_once(value: Any) -> None:
    assert len(list(resources_in(value))) == _expected_count(value)


@given(st.lists(JSON, max_size=6))
def test_a_bundle_yields_one_item_per_entry(entries: list[Any]) -> None:
    assert len(list(resources_in({"resourceType": "Bundle", "entry": entries}))) == len(entries)


@given(st.lists(st.one_of(JSON, prefetch_value("ServiceRequest")), max_size=6))
def test_indexing_any_resources_keeps_only_typed_resources_with_ids(values: list[Any]) -> None:
    index = index_by_reference(values)

    for reference, resource in index.items():
        assert reference == f"{resource['resourceType']}/{resource['id']}"


def test_lists_nested_deeper_than_the_recursion_limit_are_flattened() -> None:
    value: list[Any] = [{"resourceType": "Procedure"}]
    for _ in range(5_000):
        value = [value, None]

    assert list(resources_in(value)) == [{"resourceType": "Procedure"}]

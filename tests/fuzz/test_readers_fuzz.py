"""The readers on arbitrary resource shapes: nothing raises, and every item is accounted for.

Each item a reader is given ends up as exactly one of: a fact, an "other" procedure, a companion order, a skipped
note (SkippedResource), or a deliberate omission (an OperationOutcome, a Condition with no ICD-10-CM code or entered
in error). Nothing is dropped without a trace.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fhir_mappings.bundles import index_by_reference, resources_in
from fhir_mappings.facts import SkippedResource
from fhir_mappings.readers import (
    read_appointments,
    read_conditions,
    read_coverages,
    read_draft_orders,
    read_imaging_studies,
    read_procedures,
)
from tests.fuzz.resource_shapes import BASES, bundle_of, resources_like, single_mutations


def _outcomes(items: list[Any]) -> int:
    return sum(1 for item in items if isinstance(item, dict) and item.get("resourceType") == "OperationOutcome")


def _noted(skipped: list[SkippedResource]) -> int:
    """How many items were skipped, after checking each note says which item and why."""
    for note in skipped:
        assert note.source
        assert note.reason
    return len(skipped)


def _procedures(items: list[Any]) -> int:
    reading = read_procedures(items)
    return len(reading.performed.facts) + len(reading.other) + _noted(reading.performed.skipped)


def _draft_orders(items: list[Any]) -> int:
    injections, companions = read_draft_orders(items)
    assert all(order.units >= 1 for order in injections.facts)
    return len(injections.facts) + _noted(injections.skipped) + len(companions.facts)


def _imaging_studies(items: list[Any]) -> int:
    reading = read_imaging_studies(items)
    return len(reading.facts) + _noted(reading.skipped)


def _coverages(items: list[Any]) -> int:
    reading = read_coverages(items)
    return len(reading.facts) + _noted(reading.skipped)


def _appointments(items: list[Any], orders: list[Any] | None = None) -> int:
    reading = read_appointments(items, index_by_reference(orders or []))
    return len(reading.facts) + _noted(reading.skipped)


def _conditions(items: list[Any]) -> int:
    reading = read_conditions(items)
    return len(reading.facts) + _noted(reading.skipped)


# Readers that turn every item into a fact, an "other" or a note; OperationOutcome entries are ignored on purpose.
ACCOUNTED: dict[str, Callable[[list[Any]], int]] = {
    "Procedure": _procedures,
    "ImagingStudy": _imaging_studies,
    "Coverage": _coverages,
    "Appointment": _appointments,
}


def _items(resource_type: str) -> st.SearchStrategy[list[Any]]:
    return st.lists(resources_like(resource_type), max_size=8)


def _condition_left_out_on_purpose(item: Any) -> bool:
    return isinstance(item, dict) and item.get("resourceType") in ("Condition", "OperationOutcome")


@given(st.sampled_from(sorted(ACCOUNTED)).flatmap(lambda name: st.tuples(st.just(name), _items(name))))
def test_every_resource_becomes_a_fact_or_a_note(case: tuple[str, list[Any]]) -> None:
    resource_type, items = case

    assert ACCOUNTED[resource_type](items) + _outcomes(items) == len(items)


@given(_items("ServiceRequest"))
def test_every_draft_order_is_an_injection_a_companion_or_a_note(items: list[Any]) -> None:
    assert _draft_orders(items) == len(items)


@given(_items("Appointment"), st.lists(resources_like("ServiceRequest"), max_size=4))
def test_appointments_resolve_arbitrary_orders_without_losing_a_booking(items: list[Any], orders: list[Any]) -> None:
    assert _appointments(items, orders) + _outcomes(items) == len(items)


@given(_items("Condition"))
def test_every_condition_is_a_diagnosis_a_note_or_left_out_on_purpose(items: list[Any]) -> None:
    assert _conditions(items) <= len(items)
    for item in items:
        assert _conditions([item]) == 1 or _condition_left_out_on_purpose(item)


@given(bundle_of(_items("Procedure")))
def test_a_mutated_procedure_bundle_loses_no_entry(bundle: Any) -> None:
    items = list(resources_in(bundle))

    assert _procedures(items) + _outcomes(items) == len(items)


def test_every_field_of_every_realistic_resource_survives_every_odd_value() -> None:
    """A systematic sweep beside the random search: each node of each base resource broken in each odd way."""
    swept = 0
    for resource_type, count in {**ACCOUNTED, "ServiceRequest": _draft_orders}.items():
        for base in BASES[resource_type]:
            for variant in single_mutations(base):
                assert count([variant]) + _outcomes([variant]) == 1
                swept += 1
    for base in BASES["Condition"]:
        for variant in single_mutations(base):
            assert _conditions([variant]) == 1 or _condition_left_out_on_purpose(variant)
            swept += 1
    assert swept > 10_000

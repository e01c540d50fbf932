"""Reading a prefetch straight from the request's bytes gives exactly what reading the parsed JSON gave.

Requests arrive as bytes and their prefetch values stay raw (`msgspec.Raw`) until a reader decodes the fields it
needs; the parsed path (orjson, then the views) is still used for data fetched from a FHIR server, for the CLI, and
for every raw resource that does not fit its view. Both must agree on every fact and every skipped note, whatever
the resources look like.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import msgspec
import orjson
from hypothesis import assume, given
from hypothesis import strategies as st

from fhir_mappings.bundles import opened, resources_in, separate_included
from fhir_mappings.readers import (
    read_appointments,
    read_conditions,
    read_coverages,
    read_imaging_studies,
    read_procedures,
)
from tests.fuzz.resource_shapes import BASES, bundle_of, node_paths, replaced_at, resources_like, single_mutations

# Number texts JSON allows that parsers read differently: beyond a double (orjson refuses them, msgspec steps over
# them unread, the standard library makes them infinite), beyond 64 bits, negative zero, exponents.
NUMBER_TEXTS = (b"1e999", b"-1e999", b"1e-999", b"123456789012345678901234567890", b"-0", b"-0.0", b"1E2", b"2.5e0")
_SENTINEL = 987_654_321_987


def _raw(value: Any) -> msgspec.Raw | None:
    """`value` as a request body would carry it, or None when no JSON parser would accept its text (NaN, lone
    surrogates), which a request could never deliver to the readers."""
    text = json.dumps({"value": value}, allow_nan=True)
    try:
        orjson.loads(text)
        return msgspec.json.decode(text, type=dict[str, msgspec.Raw])["value"]
    except (orjson.JSONDecodeError, msgspec.DecodeError, RecursionError):
        return None


def _procedures(value: Any) -> Any:
    reading = read_procedures(resources_in(value))
    return reading.performed.facts, reading.performed.skipped, reading.other


def _conditions(value: Any) -> Any:
    reading = read_conditions(resources_in(value))
    return reading.facts, reading.skipped


def _imaging(value: Any) -> Any:
    reading = read_imaging_studies(resources_in(value))
    return reading.facts, reading.skipped


def _coverages(value: Any) -> Any:
    coverages, payors = separate_included(resources_in(value), {"Organization"})
    reading = read_coverages(coverages, payors)
    return reading.facts, reading.skipped


def _appointments(value: Any) -> Any:
    appointments, orders = separate_included(resources_in(value), {"ServiceRequest"})
    reading = read_appointments(appointments, orders)
    return reading.facts, reading.skipped


READERS: dict[str, Callable[[Any], Any]] = {
    "Procedure": _procedures,
    "Condition": _conditions,
    "ImagingStudy": _imaging,
    "Coverage": _coverages,
    "Appointment": _appointments,
}


def _read_both_ways(resource_type: str, value: Any) -> tuple[Any, Any]:
    raw = _raw(value)
    assume(raw is not None)
    return READERS[resource_type](opened(raw)), READERS[resource_type](orjson.loads(bytes(raw)))


def _bundles(resource_type: str) -> st.SearchStrategy[Any]:
    return bundle_of(st.lists(resources_like(resource_type), max_size=6))


@given(st.sampled_from(sorted(READERS)).flatmap(lambda name: st.tuples(st.just(name), _bundles(name))))
def test_a_bundle_read_from_its_bytes_gives_the_facts_and_notes_of_its_parsed_json(case: tuple[str, Any]) -> None:
    from_bytes, from_json = _read_both_ways(*case)

    assert from_bytes == from_json


def test_every_odd_value_in_every_realistic_resource_reads_the_same_from_bytes() -> None:
    swept = 0
    for resource_type, read in READERS.items():
        for base in BASES[resource_type]:
            for variant in single_mutations(base):
                raw = _raw({"resourceType": "Bundle", "entry": [{"resource": variant}, {"resource": base}]})
                if raw is None:
                    continue
                assert read(opened(raw)) == read(orjson.loads(bytes(raw)))
                swept += 1
    assert swept > 5_000


@st.composite
def _with_an_odd_number(draw: st.DrawFn) -> tuple[str, bytes]:
    resource_type = draw(st.sampled_from(sorted(READERS)))
    base = draw(st.sampled_from(BASES[resource_type]))
    resource = replaced_at(base, draw(st.sampled_from(list(node_paths(base)))), _SENTINEL)
    text = json.dumps({"resourceType": "Bundle", "entry": [{"resource": resource}, {"resource": base}]}).encode()
    return resource_type, text.replace(str(_SENTINEL).encode(), draw(st.sampled_from(NUMBER_TEXTS)))


def _parsed_whole(text: bytes) -> Any:
    """The body as the ordinary path reads it: orjson, and the standard library for numbers orjson refuses."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


@given(_with_an_odd_number())
def test_numbers_parsers_disagree_on_read_the_same_from_bytes(case: tuple[str, bytes]) -> None:
    resource_type, text = case
    raw = msgspec.json.decode(b'{"value": ' + text + b"}", type=dict[str, msgspec.Raw])["value"]

    assert READERS[resource_type](opened(raw)) == READERS[resource_type](_parsed_whole(text))


def test_an_included_payor_read_from_bytes_still_names_the_plan() -> None:
    [coverage] = BASES["Coverage"][:1]
    payor = {"resourceType": "Organization", "id": "molina", "name": "Molina Healthcare"}
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {"resource": {**coverage, "payor": [{"reference": "Organization/molina"}]}},
            {"resource": payor, "search": {"mode": "include"}},
        ],
    }
    raw = _raw(bundle)
    assert raw is not None

    [read] = _coverages(opened(raw))[0]

    assert "Molina Healthcare" in read.payor_names

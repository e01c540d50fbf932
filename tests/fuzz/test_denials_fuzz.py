"""Damaged remittances and claim files: every one is read or refused with a place named, never an unexpected error."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from plugin.denials.errors import MalformedFile
from plugin.denials.fhir_claims import read_fhir
from plugin.denials.lines import spinal_injection_codes
from plugin.denials.x12_835 import read_835
from tests.fuzz.resource_shapes import JSON, ODD_STRINGS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "denials"
CODES = spinal_injection_codes(frozenset({"76000", "77002", "77003", "77012", "72275"}))
REMITTANCE = (FIXTURES / "medicare-cgs.835").read_text()
SEGMENTS = REMITTANCE.split("~\n")
EOB_LINES = (FIXTURES / "commercial-eob.ndjson").read_text().splitlines()


def read_or_refuse_835(text: str) -> None:
    place = refusal(lambda: read_835(text, "fuzz.835", CODES))
    assert place is None or place.startswith("segment ")


def refusal(read: Callable[[], object]) -> str | None:
    """Where the file was refused; None when it was read."""
    try:
        read()
    except MalformedFile as refused:
        return refused.place
    return None


@settings(max_examples=100)
@given(st.integers(0, len(REMITTANCE)))
def test_a_remittance_cut_anywhere_is_refused_or_read(cut: int) -> None:
    read_or_refuse_835(REMITTANCE[:cut])


@settings(max_examples=150)
@given(st.integers(1, len(SEGMENTS) - 2), st.integers(0, 8), st.one_of(ODD_STRINGS, st.text(max_size=12)))
def test_a_remittance_with_one_element_replaced_is_refused_or_read(segment: int, element: int, value: str) -> None:
    parts = SEGMENTS[segment].split("*")
    parts[min(element, len(parts) - 1) or 1] = value.replace("~", "")
    damaged = [*SEGMENTS[:segment], "*".join(parts), *SEGMENTS[segment + 1 :]]
    read_or_refuse_835("~\n".join(damaged))


@settings(max_examples=100)
@given(st.integers(0, len(EOB_LINES) - 1), JSON)
def test_an_eob_file_with_one_line_replaced_is_refused_naming_it_or_read(line: int, value: object) -> None:
    lines = list(EOB_LINES)
    lines[line] = json.dumps(value)
    place = refusal(lambda: read_fhir("\n".join(lines), "fuzz.ndjson", CODES))
    assert place is None or place in {f"line {n}" for n in range(1, len(lines) + 1)} | {"resource"}

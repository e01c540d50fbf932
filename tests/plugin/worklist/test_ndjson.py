"""A Bulk export regrouped by patient on disk, whatever file, order and byte range its resources came in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from plugin.worklist.ndjson import (
    FileNote,
    NdjsonError,
    export_files,
    merge_notes,
    patients_in,
    ranges,
    spill,
    spill_groups,
)


def _write(path: Path, *lines: dict[str, Any] | str) -> None:
    path.write_bytes(
        b"".join((line.encode() if isinstance(line, str) else orjson.dumps(line)) + b"\n" for line in lines)
    )


def _of(patient: str, kind: str, id: str) -> dict[str, Any]:
    return {"resourceType": kind, "id": id, "subject": {"reference": f"Patient/{patient}"}}


def _regrouped(export: Path, scratch: Path, parts: int, spills: int = 4) -> tuple[dict[str, list[str]], list[FileNote]]:
    notes = []
    for index, run in enumerate(ranges(export_files(export), parts)):
        notes.extend(spill(run, scratch, f"w{index}", spills))
    grouped: dict[str, list[str]] = {}
    for group in spill_groups(scratch):
        for patient, lines in patients_in(group):
            grouped[patient] = sorted(orjson.loads(line)["id"] for line in lines)
    return grouped, merge_notes(notes)


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    (tmp_path / "spill").mkdir()
    return tmp_path / "spill"


@pytest.fixture
def export(tmp_path: Path) -> Path:
    (tmp_path / "export").mkdir()
    return tmp_path / "export"


@pytest.mark.parametrize("parts", [1, 2, 3, 7])
def test_resources_of_one_patient_come_together_from_every_file(export: Path, scratch: Path, parts: int) -> None:
    _write(
        export / "Procedure.ndjson", _of("b", "Procedure", "1"), _of("a", "Procedure", "2"), _of("b", "Procedure", "3")
    )
    _write(export / "Condition.ndjson", _of("a", "Condition", "4"))
    _write(
        export / "Coverage.ndjson", {"resourceType": "Coverage", "id": "5", "beneficiary": {"reference": "Patient/b"}}
    )
    _write(
        export / "Appointment.ndjson",
        {
            "resourceType": "Appointment",
            "id": "6",
            "participant": [{"actor": {"reference": "Practitioner/x"}}, {"actor": {"reference": "Patient/a"}}],
        },
    )

    grouped, notes = _regrouped(export, scratch, parts)

    assert grouped == {"a": ["2", "4", "6"], "b": ["1", "3", "5"]}
    assert notes == []


def test_lines_that_are_not_json_and_resources_without_a_patient_are_counted_and_skipped(
    export: Path, scratch: Path
) -> None:
    _write(
        export / "Procedure.ndjson",
        _of("a", "Procedure", "1"),
        "{not json",
        {"resourceType": "Procedure", "id": "2"},
        {"resourceType": "Procedure", "id": "3", "subject": "Patient/a"},
    )

    grouped, notes = _regrouped(export, scratch, parts=2)

    assert grouped == {"a": ["1"]}
    assert notes == [FileNote("Procedure.ndjson", malformed=1, unowned=2)]


def test_resource_types_the_worklist_does_not_read_are_left_out(export: Path, scratch: Path) -> None:
    _write(export / "Observation.ndjson", _of("a", "Observation", "1"))
    _write(export / "Procedure.ndjson", _of("a", "Procedure", "2"))

    grouped, _ = _regrouped(export, scratch, parts=1)

    assert grouped == {"a": ["2"]}


def test_only_pain_score_observations_are_kept(export: Path, scratch: Path) -> None:
    def coded(id: str, system: str, code: object) -> dict[str, Any]:
        return {**_of("a", "Observation", id), "code": {"coding": [{"system": system, "code": code}]}}

    _write(
        export / "Observation.ndjson",
        coded("pain", "http://loinc.org", "72514-3"),
        coded("pain-reported", "http://loinc.org", "38208-5"),
        coded("heart-rate", "http://loinc.org", "8867-4"),
        coded("odd", "http://loinc.org", ["72514-3"]),
        {**_of("a", "Observation", "broken"), "code": {"coding": "72514-3"}},
    )

    grouped, notes = _regrouped(export, scratch, parts=1)

    assert grouped == {"a": ["pain", "pain-reported"]}
    assert notes == []


def test_a_directory_without_ndjson_files_is_refused_with_its_name(export: Path) -> None:
    with pytest.raises(NdjsonError, match=r"no \*\.ndjson files"):
        export_files(export)

"""FHIR Bulk Data NDJSON, regrouped by patient on disk so no process holds more than a slice of the export.

A Bulk export writes one file per resource type, so a patient's resources are spread over every file. The export is
read once in byte ranges (one per process) and each line is appended, unchanged, to one of a few hundred spill files
chosen by a hash of its patient; a spill file holds whole patients and is small enough (~8 MB) to be grouped in
memory by the process that judges it. Memory is set by the spill size, not by the export's. A line that is not JSON,
and a resource that names no patient, is counted per file and skipped.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import msgspec

from fhir_mappings.care_history import LOINC, PAIN_SCORE_CODES
from fhir_mappings.code_systems import is_system

SPILL_BYTES = 8 * 2**20
_WANTED = frozenset(
    {"Procedure", "Condition", "ImagingStudy", "Coverage", "Appointment", "ServiceRequest", "Observation"}
)


class NdjsonError(Exception):
    """The directory holds no NDJSON files; the message names it."""


class _Reference(msgspec.Struct):
    reference: object = None


class _Participant(msgspec.Struct):
    actor: _Reference | None = None


class _Owner(msgspec.Struct, rename={"resource_type": "resourceType"}):
    """Only the fields that name a resource's patient: decoding skips the rest without building it."""

    resource_type: object = None
    subject: _Reference | None = None
    beneficiary: _Reference | None = None
    participant: list[_Participant] = []


class _Coding(msgspec.Struct):
    system: str | None = None
    code: object = None


class _Concept(msgspec.Struct):
    coding: list[_Coding] = []


class _Coded(msgspec.Struct):
    """An Observation's code, decoded only for Observations, so no other line pays for it."""

    code: _Concept | None = None


_OWNER = msgspec.json.Decoder(_Owner)
_CODED = msgspec.json.Decoder(_Coded)


@dataclass(frozen=True, slots=True)
class FileNote:
    """Lines of one file the worklist could not use."""

    file: str
    malformed: int
    unowned: int


@dataclass(frozen=True, slots=True)
class ByteRange:
    file: Path
    start: int
    end: int


def export_files(directory: Path) -> list[Path]:
    found = sorted(path for path in directory.glob("*.ndjson") if path.is_file())
    if not found:
        raise NdjsonError(f"{directory}: no *.ndjson files")
    return found


def spill_count(files: Sequence[Path]) -> int:
    total = sum(path.stat().st_size for path in files)
    return min(max(total // SPILL_BYTES, 16), 1024)


def ranges(files: Sequence[Path], parts: int) -> list[list[ByteRange]]:
    """The files, laid end to end, cut into `parts` runs of equal bytes; a range owns the lines that start in it."""
    sizes = [path.stat().st_size for path in files]
    total = sum(sizes)
    bounds = [total * part // parts for part in range(parts + 1)]
    runs: list[list[ByteRange]] = [[] for _ in range(parts)]
    offset = 0
    for path, size in zip(files, sizes, strict=True):
        for part in range(parts):
            low, high = max(bounds[part], offset), min(bounds[part + 1], offset + size)
            if low < high:
                runs[part].append(ByteRange(path, low - offset, high - offset))
        offset += size
    return runs


def patient_of(line: bytes) -> str | None:
    """The patient id a resource line belongs to; None for a resource the worklist does not read (another type, or an
    Observation that is not a pain score); "" when it names none. Raises msgspec.DecodeError for a line that is not
    JSON."""
    try:
        owner = _OWNER.decode(line)
    except msgspec.ValidationError:
        return ""  # JSON, but its subject or participants are not shaped as FHIR says
    if owner.resource_type not in _WANTED:
        return None
    if owner.resource_type == "Observation" and not _pain_score(line):
        return None  # an export's Observations are mostly vital signs and labs: only the pain scores are read
    references = [owner.subject, owner.beneficiary]
    if owner.resource_type == "Appointment":
        references = [participant.actor for participant in owner.participant]
    for reference in references:
        if reference is not None and isinstance(reference.reference, str):
            kind, _, patient = reference.reference.rpartition("/")
            if kind.endswith("Patient") and patient:
                return patient
    return ""


def _pain_score(line: bytes) -> bool:
    try:
        concept = _CODED.decode(line).code
    except msgspec.ValidationError:
        return False
    return concept is not None and any(
        is_system(coding.system, LOINC) and isinstance(coding.code, str) and coding.code in PAIN_SCORE_CODES
        for coding in concept.coding
    )


def spill(run: Sequence[ByteRange], directory: Path, tag: str, spills: int) -> list[FileNote]:
    """Appends each line of `run` to `directory/<spill>-<tag>.ndjson` as `patient TAB line`."""
    counts: dict[str, list[int]] = {}
    with ExitStack() as stack:
        outputs: dict[int, BinaryIO] = {}
        for part in run:
            note = counts.setdefault(part.file.name, [0, 0])
            for line in _lines(part):
                try:
                    patient = patient_of(line)
                except msgspec.DecodeError:
                    note[0] += 1
                    continue
                if patient is None:
                    continue
                if not patient:
                    note[1] += 1
                    continue
                key = patient.encode()
                number = zlib.crc32(key) % spills
                output = outputs.get(number)
                if output is None:
                    output = outputs[number] = stack.enter_context(
                        (directory / f"{number:04d}-{tag}.ndjson").open("ab")
                    )
                output.write(key + b"\t" + line + b"\n")
    return [FileNote(name, malformed, unowned) for name, (malformed, unowned) in counts.items() if malformed or unowned]


def _lines(part: ByteRange) -> Iterator[bytes]:
    """The non-blank lines that start in [start, end); the last one may run past `end`."""
    with part.file.open("rb") as handle:
        if part.start > 0:
            handle.seek(part.start - 1)
            if handle.read(1) != b"\n":
                handle.readline()  # the line under way belongs to the range before
        while handle.tell() < part.end:
            line = handle.readline()
            if not line:
                break
            line = line.strip()
            if line:
                yield line


def spill_groups(directory: Path) -> list[list[Path]]:
    """The spill files of each spill number, in number order."""
    groups: dict[str, list[Path]] = {}
    for path in sorted(directory.glob("*-*.ndjson")):
        groups.setdefault(path.name.split("-", 1)[0], []).append(path)
    return [groups[number] for number in sorted(groups)]


def patients_in(paths: Sequence[Path]) -> Iterator[tuple[str, list[bytes]]]:
    """(patient id, raw resource lines) for every patient of one spill, in patient id order."""
    grouped: dict[str, list[bytes]] = {}
    for path in paths:
        with path.open("rb") as handle:
            for row in handle:
                key, _, line = row.rstrip(b"\n").partition(b"\t")
                grouped.setdefault(key.decode(), []).append(line)
    for patient in sorted(grouped):
        yield patient, grouped[patient]


def merge_notes(notes: Sequence[FileNote]) -> list[FileNote]:
    merged: dict[str, tuple[int, int]] = {}
    for note in notes:
        malformed, unowned = merged.get(note.file, (0, 0))
        merged[note.file] = (malformed + note.malformed, unowned + note.unowned)
    return [FileNote(name, malformed, unowned) for name, (malformed, unowned) in sorted(merged.items())]

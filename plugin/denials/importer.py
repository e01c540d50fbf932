"""`denials import`: each file read whole (835 or FHIR, told apart by its first characters), then stored in one
transaction, so a file is either all in the database or not at all."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from plugin.denials.errors import MalformedFile
from plugin.denials.fhir_claims import read_fhir
from plugin.denials.lines import RemittanceLine
from plugin.denials.store import DenialStore
from plugin.denials.x12_835 import read_835


@dataclass(frozen=True, slots=True)
class ImportResult:
    file: str
    lines: int  # spinal-injection lines read from the file
    new_lines: int  # of which not stored before
    new_members: int


def read_file(path: Path, codes: frozenset[str]) -> tuple[list[RemittanceLine], dict[str, str]]:
    """The spinal-injection lines of one file and the member ids it maps to patients; MalformedFile if unreadable."""
    name = str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise MalformedFile(name, "file", f"cannot be read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise MalformedFile(name, f"byte {error.start}", "not UTF-8 text") from None
    if text.lstrip().startswith("ISA"):
        return read_835(text, name, codes), {}
    return read_fhir(text, name, codes)


def import_file(store: DenialStore, path: Path, codes: frozenset[str]) -> ImportResult:
    lines, member_patients = read_file(path, codes)
    new_lines, new_members = store.import_file(path.name, lines, member_patients)
    return ImportResult(str(path), len(lines), new_lines, new_members)

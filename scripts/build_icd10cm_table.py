#!/usr/bin/env python3
"""Build `fhir_mappings/data/icd10cm.json.gz`, the compact ICD-10-CM table the service loads at run time.

Run by a developer when a new ICD-10-CM release arrives (bump `simple-icd-10-cm`, run this, commit the output):

    .venv/bin/python scripts/build_icd10cm_table.py            # writes the table
    .venv/bin/python scripts/build_icd10cm_table.py --check    # exit 1 if the committed table is out of date

Only this script imports `simple_icd_10_cm` (it parses a 10 MB XML file: ~1.3 s and ~190 MB per process, too much for
each service worker). The output is deterministic: same release in, same bytes out (sorted keys, gzip mtime 0).

File layout (JSON, gzip):
  format      int, bumped when the layout changes (fhir_mappings/icd10cm.py checks it)
  release     "2026-04"-style label of the update; also fiscal_year, effective, valid_through, source
  codes       {"code": [...], "title": [...], "billable": [0/1, ...], "parent": [code or null, ...]}: parallel
              columns over every category, subcategory and code, in tabular order (the order of the Tabular List;
              a code's descendants follow it contiguously). Parent of a category is null: blocks and chapters are
              not codes.
  blocks      {block id: [title, chapter id]}; chapters: {chapter id: title}; category_block: {category: block id}
  excludes1   {code: [[note text, [[start, end], ...]], ...]}; block_excludes1 / chapter_excludes1 likewise.
              (start, end) covers, in tabular order, `start` through the last descendant of `end`; a single code
              or "M51.1-" is (code, code), i.e. the code and all its descendants. Notes that name no code
              ("bus", "... - see Alphabetical Index") are left out.
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import importlib.metadata
import importlib.util
import json
import re
import sys
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

FORMAT = 1
OUTPUT = Path(__file__).resolve().parent.parent / "fhir_mappings" / "data" / "icd10cm.json.gz"

# --- Excludes1 note parsing -----------------------------------------------------------------------------------------

_CODE = r"(?<![A-Za-z0-9])[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?(?![A-Za-z0-9.])"
# An item: a code or a range ("M50-M51", "S06.1- to S06.6-"), each end optionally "-" (= "and its subdivisions"),
# optionally qualified ("E08-E13 with .42", "M51.- with fifth character 4").
_ITEM = re.compile(
    rf"(?P<start>{_CODE})(?:-?\s*(?:-|\bto\b)\s*(?P<end>{_CODE}))?-?(?:\s*with\s+(?P<qualifier>[^,;()]*))?"
)
_PARENS = re.compile(r"\(([^()]*)\)?")
# Cross-references ("- see injury of joint by body region", "code to specified infection") name no excluded code.
_CROSS_REFERENCE = re.compile(r"\bsee\b|\bcode to\b|code to\b")

Predicate = Callable[[str, str], bool]  # (code without dot, title) -> matches


def _positions(first: int, value: str) -> Predicate:
    """Characters of the code (without its dot, 0-based index `first` on) equal `value`."""
    value = value.upper()
    return lambda plain, _title: plain[first : first + len(value)] == value and len(plain) >= first + len(value)


def _qualifier(text: str) -> Predicate | None:
    """The qualifiers ICD-10-CM writes after "with" in Excludes1 notes; None for one this script does not know."""
    q = " ".join(text.lower().split()).rstrip(" -")
    if m := re.fullmatch(r"(?:fifth|5th)[- ]characters?\s+\.?([0-9a-z])", q):  # "M51.- with fifth character 4"
        return _positions(4, m[1])
    if m := re.fullmatch(r"fifth to sixth characters\s+([0-9a-z]{2})", q):  # "F11-F19 with fifth to sixth ... 51"
        return _positions(4, m[1])
    if m := re.fullmatch(r"(?:7th|seventh) character\s+([a-z])", q):  # "S02.- with 7th character B"
        return _positions(6, m[1])
    if q == "open fracture 7th character":  # "S52.- with open fracture 7th character"
        return lambda plain, title: len(plain) == 7 and "open fracture" in title.lower()
    if m := re.fullmatch(r"final characters\s+-([0-9a-z]+)", q):  # "I69. with final characters -20": I69.x20
        return _positions(4, m[1])
    if m := re.fullmatch(r"\.([0-9a-z]+)-?", q):  # "E08-E13 with .42", ".61-": characters after the dot
        return _positions(3, m[1])
    if m := re.fullmatch(r"\.([0-9a-z]+)-\.([0-9a-z]+)", q):  # "E08-E13 with .51-.52"
        low, high = m[1].upper(), m[2].upper()
        return lambda plain, _title: len(plain) >= 3 + len(low) and low <= plain[3 : 3 + len(low)] <= high
    return None


def _normalise_note(text: str) -> str:
    # "D29.2.-" / "M51.-" mean "and subdivisions" like "D29.2-"; "I69." is "I69".
    return re.sub(r"(?<=[0-9A-Z])\.(?=-|\s|$)", "", text)


def _segments(note: str) -> list[str]:
    """The parts of a note that may name codes: its parentheses, or (without any) the note itself."""
    groups = [g for g in _PARENS.findall(note) if re.search(_CODE, _normalise_note(g))]
    if groups:
        return groups
    return [note]


class Table:
    def __init__(self, sicd: ModuleType) -> None:
        self.sicd = sicd
        self.codes: list[str] = []  # tabular order
        self.rows: list[list[Any]] = []
        self.position: dict[str, int] = {}
        self.subtree_end: list[int] = []
        self.unparsed_qualifiers: list[str] = []
        self.unresolved: list[str] = []
        self.approximate: list[str] = []

    # Positions in tabular order. A note may name a code this release does not have ("R10.1-R10.4-": there is no
    # R10.4 in ICD-10-CM); such an end is taken as the codes sorting within it, and reported.
    def resolve_start(self, code: str) -> int | None:
        if code in self.position:
            return self.position[code]
        self.approximate.append(code)
        after = [pos for pos, c in enumerate(self.codes) if c[:3] == code[:3] and c > code]
        return after[0] if after else None

    def resolve_end(self, code: str, first: int) -> int | None:
        pos = self.position.get(code)
        if pos is not None:
            return self.subtree_end[pos]
        self.approximate.append(code)
        last = None
        for pos in range(first, len(self.codes)):
            if self.codes[pos][: len(code)] > code:
                break
            last = self.subtree_end[pos]
        return last

    def ranges(self, note: str, owner: str) -> list[list[str]]:
        out: list[list[str]] = []
        for segment in _segments(note):
            for item in _ITEM.finditer(_normalise_note(_CROSS_REFERENCE.split(segment)[0])):
                start, end, qualifier = item["start"], item["end"] or item["start"], item["qualifier"]
                first = self.resolve_start(start)
                last = None if first is None else self.resolve_end(end, first)
                if first is None or last is None or first > last:
                    self.unresolved.append(f"{owner}: {item[0]!r} in {note!r}")
                    continue
                if qualifier is None or not qualifier.strip():
                    out.append([self.codes[first], end if end in self.position else self.codes[last]])
                    continue
                predicate = _qualifier(qualifier)
                if predicate is None:
                    self.unparsed_qualifiers.append(f"{owner}: {note!r}")
                    continue
                out.extend(self._runs(first, last, predicate))
        return _dedupe(out)

    def _runs(self, first: int, last: int, predicate: Predicate) -> list[list[str]]:
        """Maximal runs (tabular order) of codes in first..last matching the predicate, as (start, end) pairs."""
        runs: list[list[str]] = []
        run_start: int | None = None
        for pos in range(first, last + 2):
            matches = pos <= last and predicate(self.codes[pos].replace(".", ""), self.rows[pos][1])
            if matches and run_start is None:
                run_start = pos
            elif not matches and run_start is not None:
                end = pos - 1
                # `end` must cover exactly the run: the last code of a run has no unmatched descendants.
                assert self.subtree_end[end] == end or self.subtree_end[end] < pos, self.codes[end]
                runs.append([self.codes[run_start], self.codes[end]])
                run_start = None
        return runs


def _dedupe(pairs: Iterable[list[str]]) -> list[list[str]]:
    seen: list[list[str]] = []
    for pair in pairs:
        if pair not in seen:
            seen.append(pair)
    return seen


# --- building ---------------------------------------------------------------------------------------------------


def _import_simple_icd_10_cm() -> ModuleType:
    with warnings.catch_warnings():
        # simple_icd_10_cm 1.5.0 reads its data with importlib.resources.read_text (deprecated in 3.11).
        warnings.simplefilter("ignore", DeprecationWarning)
        importlib.import_module("simple_icd_10_cm")
    return sys.modules["simple_icd_10_cm.simple_icd_10_cm"]


def _release(sicd: ModuleType) -> dict[str, str]:
    spec = importlib.util.find_spec("simple_icd_10_cm")
    if spec is None or spec.origin is None:
        raise SystemExit("simple-icd-10-cm is not installed")
    data_dir = Path(spec.origin).parent / "data"
    tabular = sorted(data_dir.glob("icd10c-tabular-*.xml"))
    if len(tabular) != 1:
        raise SystemExit(f"expected one tabular XML file in {data_dir}, found {tabular}")
    m = re.fullmatch(r"icd10c-tabular-([A-Za-z]+)-(\d+)-(\d{4})\.xml", tabular[0].name)
    if not m:
        raise SystemExit(f"cannot read the release date from {tabular[0].name}")
    months = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
              "november", "december"]  # fmt: skip
    month = months.index(m[1].lower()) + 1
    year = int(m[3])
    head = tabular[0].read_text("utf-8")[:500]
    version = re.search(r"<version>(\d{4})</version>", head)
    fiscal_year = int(version[1]) if version else (year + 1 if month >= 10 else year)
    return {
        "release": f"{year:04d}-{month:02d}",
        "fiscal_year": f"FY{fiscal_year}",
        "effective": f"{year:04d}-{month:02d}-{int(m[2]):02d}",
        # The ICD-10-CM fiscal year ends September 30; the next release takes over on October 1.
        "valid_through": f"{fiscal_year}-09-30",
        "source": f"CMS/NCHS ICD-10-CM tabular list {tabular[0].name}, via simple-icd-10-cm "
        f"{importlib.metadata.version('simple-icd-10-cm')}",
    }


def build() -> tuple[dict[str, Any], Table]:
    sicd = _import_simple_icd_10_cm()
    table = Table(sicd)
    chapters: dict[str, str] = {}
    blocks: dict[str, list[str]] = {}
    category_block: dict[str, str] = {}
    chapter_notes: dict[str, list[str]] = {}
    block_notes: dict[str, list[str]] = {}

    # Walk the tree (public API) in tabular order. A block holding a single category has the category's name
    # (e.g. "M99"), so blocks are visited with prioritize_blocks=True and codes without.
    def visit_code(code: str, parent: str | None) -> None:
        children = sicd.get_children(code)
        table.position[code] = len(table.codes)
        table.codes.append(code)
        table.rows.append([code, sicd.get_description(code), 0 if children else 1, parent])
        for child in children:
            visit_code(child, code)

    for chapter in sorted((c for c in set(sicd.get_all_codes()) if sicd.is_chapter(c)), key=int):
        chapters[chapter] = sicd.get_description(chapter)
        chapter_notes[chapter] = sicd.get_excludes1(chapter)
        for block in sicd.get_children(chapter):
            blocks[block] = [sicd.get_description(block, prioritize_blocks=True), chapter]
            block_notes[block] = sicd.get_excludes1(block, prioritize_blocks=True)
            if sicd.is_category(block) and sicd.get_parent(block) == block:  # single-category block
                categories = [block]
            else:
                categories = sicd.get_children(block, prioritize_blocks=True)
            for category in categories:
                assert sicd.is_category(category), category
                category_block[category] = block
                visit_code(category, None)

    # subtree ends; and a check that a code's descendants are exactly the codes that start with it
    table.subtree_end = list(range(len(table.codes)))
    parent_pos = [table.position[row[3]] if row[3] else -1 for row in table.rows]
    for pos in range(len(table.codes) - 1, -1, -1):
        if parent_pos[pos] >= 0:
            table.subtree_end[parent_pos[pos]] = max(table.subtree_end[parent_pos[pos]], table.subtree_end[pos])
    for pos, code in enumerate(table.codes):
        end = table.subtree_end[pos]
        assert all(c.startswith(code) for c in table.codes[pos + 1 : end + 1]), code
        assert end + 1 >= len(table.codes) or not table.codes[end + 1].startswith(code), code
        assert (table.rows[pos][2] == 1) == (end == pos), code

    def notes(owner: str, texts: list[str]) -> list[list[Any]]:
        parsed = [[text, table.ranges(text, owner)] for text in texts]
        return [entry for entry in parsed if entry[1]]

    excludes1 = {code: n for code in table.codes if (n := notes(code, sicd.get_excludes1(code)))}
    block_excludes1 = {b: n for b, texts in block_notes.items() if (n := notes(b, texts))}
    chapter_excludes1 = {c: n for c, texts in chapter_notes.items() if (n := notes(c, texts))}

    document: dict[str, Any] = {
        "format": FORMAT,
        **_release(sicd),
        "counts": {
            "codes": len(table.codes),
            "billable": sum(row[2] for row in table.rows),
            "blocks": len(blocks),
            "chapters": len(chapters),
        },
        # columns, not rows: the loader keeps `code` and `title` as they are parsed and drops `parent` in one piece
        "codes": {
            "code": table.codes,
            "title": [row[1] for row in table.rows],
            "billable": [row[2] for row in table.rows],
            "parent": [row[3] for row in table.rows],
        },
        "chapters": chapters,
        "blocks": blocks,
        "category_block": category_block,
        "excludes1": excludes1,
        "block_excludes1": block_excludes1,
        "chapter_excludes1": chapter_excludes1,
    }
    return document, table


def serialise(document: dict[str, Any]) -> bytes:
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    # mtime=0 and no file name in the header: the same table gives the same bytes.
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if the output file differs from a fresh build")
    parser.add_argument("-v", "--verbose", action="store_true", help="list Excludes1 items that were not parsed")
    args = parser.parse_args(argv)

    document, table = build()
    data = serialise(document)
    notes = sum(len(v) for v in document["excludes1"].values())
    pairs = sum(len(n[1]) for v in document["excludes1"].values() for n in v)
    print(
        f"ICD-10-CM {document['release']} ({document['fiscal_year']}): {document['counts']['codes']} codes, "
        f"{document['counts']['billable']} billable; Excludes1: {notes} notes with codes → {pairs} ranges on codes, "
        f"{len(document['block_excludes1'])} blocks, {len(document['chapter_excludes1'])} chapters; "
        f"codes not in the release {table.approximate}, unresolved items {len(table.unresolved)}, "
        f"unknown qualifiers {len(table.unparsed_qualifiers)}; "
        f"{len(data)} bytes gzip",
        file=sys.stderr,
    )
    if args.verbose:
        for line in table.unresolved + table.unparsed_qualifiers:
            print("  " + line, file=sys.stderr)
    if args.check:
        current = args.output.read_bytes() if args.output.exists() else b""
        if current != data:
            print(f"{args.output} is out of date: run scripts/build_icd10cm_table.py", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date", file=sys.stderr)
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

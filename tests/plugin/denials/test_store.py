"""The denials tables on SQLite and PostgreSQL: a line is stored once, whoever imports it and however often."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from plugin.denials.importer import read_file
from plugin.denials.lines import spinal_injection_codes
from plugin.denials.store import DenialStore

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "denials"
CODES = spinal_injection_codes(frozenset({"76000", "77002", "77003", "77012", "72275"}))


def test_lines_read_back_as_they_were_imported(store_url: str) -> None:
    lines, _ = read_file(FIXTURES / "medicare-jf.835", CODES)
    with DenialStore(store_url) as store:
        store.import_file("medicare-jf.835", lines, {})
        assert store.lines() == sorted(lines, key=lambda line: line.service_date)


def test_two_imports_of_one_file_at_once_store_each_line_once(store_url: str) -> None:
    lines, members = read_file(FIXTURES / "medicare-jf.835", CODES)
    with DenialStore(store_url) as store, ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: store.import_file("medicare-jf.835", lines, members), range(4)))
        assert sum(new for new, _ in results) == len(lines)
        assert store.count() == len(lines)


def test_a_member_id_keeps_the_first_patient_it_was_given(store_url: str) -> None:
    with DenialStore(store_url) as store:
        store.import_file("a.ndjson", [], {"SYNM0000001": "Patient/p1"})
        assert store.import_file("b.ndjson", [], {"SYNM0000001": "Patient/p9"}) == (0, 0)
        assert store.member_patients() == {"SYNM0000001": "Patient/p1"}

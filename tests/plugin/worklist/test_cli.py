"""`epidural-cds worklist --ndjson`: a generated population in, rows with open findings out, in every format."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import orjson
import pytest

from bench.population import write_population
from plugin.command_line.main import main

TODAY = date(2026, 12, 1)


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("population")
    write_population(directory, patients=40, today=TODAY, seed=7)
    return directory


def _worklist(population: Path, tmp_path: Path, *options: str) -> str:
    out = tmp_path / "worklist.out"
    code = main(
        ["worklist", "--ndjson", str(population), "--as-of", TODAY.isoformat(), "--from", "2025-12-01",
         "--days", "60", "--output", str(out), *options]
    )  # fmt: skip
    assert code == 0
    return out.read_text()


def test_json_lines_name_each_injection_and_its_open_findings(population: Path, tmp_path: Path) -> None:
    rows = [orjson.loads(line) for line in _worklist(population, tmp_path, "--json", "--workers", "1").splitlines()]

    assert rows
    assert {row["kind"] for row in rows} <= {"performed", "booking"}
    for row in rows:
        assert row["findings"], "only rows with something open are listed without --all"
        assert date.fromisoformat(row["on"]) >= date(2025, 12, 1)
        assert row["resource"].startswith(("Procedure/", "Appointment/"))


def test_two_worker_processes_give_the_same_worklist_as_one(population: Path, tmp_path: Path) -> None:
    one = _worklist(population, tmp_path, "--json", "--workers", "1")
    two = _worklist(population, tmp_path, "--json", "--workers", "2")

    assert one == two


def test_all_lists_injections_with_nothing_open_too(population: Path, tmp_path: Path) -> None:
    some = _worklist(population, tmp_path, "--json", "--workers", "1").splitlines()
    every = _worklist(population, tmp_path, "--json", "--all", "--workers", "1").splitlines()

    assert set(some) <= set(every)
    assert all(orjson.loads(line)["kind"] == "performed" for line in set(every) - set(some))


def test_csv_has_one_line_per_row_with_its_rules(population: Path, tmp_path: Path) -> None:
    lines = list(csv.DictReader(io.StringIO(_worklist(population, tmp_path, "--csv", "--workers", "1"))))
    rows = [orjson.loads(line) for line in _worklist(population, tmp_path, "--json", "--workers", "1").splitlines()]

    assert len(lines) == len(rows)
    assert lines[0]["rules"] == " | ".join(finding["rule"] for finding in rows[0]["findings"])


def test_the_table_puts_each_finding_under_its_injection(population: Path, tmp_path: Path) -> None:
    text = _worklist(population, tmp_path, "--workers", "1")

    header, first, finding = text.splitlines()[:3]
    assert header.split()[:3] == ["date", "kind", "patient"]
    assert first.split()[1] in {"performed", "booking"}
    assert finding.startswith("    ")
    assert finding.split()[0] in {"INFO", "WARNING", "CRITICAL"}


def test_a_fhir_server_needs_a_patient_list_or_group(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worklist", "--fhir-server", "http://127.0.0.1:9/fhir"]) == 2
    assert "--patients FILE or --group ID" in capsys.readouterr().err


def test_an_empty_directory_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worklist", "--ndjson", str(tmp_path)]) == 2
    assert "no *.ndjson files" in capsys.readouterr().err

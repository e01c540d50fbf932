"""`epidural-cds worklist --fhir-server` against a real FHIR server: a patient list or a Group's members."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from plugin.command_line.main import main
from plugin.sandbox import resources as fx
from tests.integration.fhir_server import load_resources, owned_by

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def clinic(fhir_base_url: str) -> tuple[str, str, str]:
    """Two patients: one with an injection last week and no archived images; one with three sessions in four
    months and a fourth booked next week. The Group names both."""
    tag = uuid.uuid4().hex[:8]
    unimaged, busy = f"wl-{tag}-a", f"wl-{tag}-b"
    resources = [{"resourceType": "Patient", "id": patient} for patient in (unimaged, busy)]
    resources.append(owned_by(fx.procedure("esi", "62323", "2026-11-24T10:00:00Z", encounter="Encounter/e1"), unimaged))
    resources.extend(
        owned_by(fx.procedure(f"esi-{n}", "62323", f"{day}T10:00:00Z"), busy)
        for n, day in enumerate(("2026-08-03", "2026-09-14", "2026-10-26"))
    )
    resources.append(owned_by(fx.appointment("appt", "62323", "2026-12-08T09:00:00Z"), busy))
    resources.append(
        {
            "resourceType": "Group",
            "id": f"wl-{tag}",
            "type": "person",
            "actual": True,
            "member": [{"entity": {"reference": f"Patient/{patient}"}} for patient in (unimaged, busy)],
        }
    )
    load_resources(fhir_base_url, resources)
    return unimaged, busy, f"wl-{tag}"


def _rows(tmp_path: Path, *source: str) -> list[dict[str, Any]]:
    out = tmp_path / "worklist.jsonl"
    arguments = ["worklist", *source, "--as-of", "2026-12-01", "--from", "2026-11-01", "--json", "--output", str(out)]
    assert main(arguments) == 0
    return [orjson.loads(line) for line in out.read_text().splitlines()]


def test_a_groups_members_are_reviewed(fhir_base_url: str, clinic: tuple[str, str, str], tmp_path: Path) -> None:
    unimaged, busy, group = clinic

    rows = _rows(tmp_path, "--fhir-server", fhir_base_url, "--group", group)

    by_patient = {row["patient"]: row for row in rows}
    assert by_patient[unimaged]["kind"] == "performed"
    assert "imaging-evidence-missing" in {finding["rule"] for finding in by_patient[unimaged]["findings"]}
    assert by_patient[busy]["kind"] == "booking"
    assert by_patient[busy]["on"] == "2026-12-08"
    assert {finding["rule"] for finding in by_patient[busy]["findings"]} == {"frequency-limit-exceeded"}


def test_a_patient_list_is_reviewed_in_its_order(
    fhir_base_url: str, clinic: tuple[str, str, str], tmp_path: Path
) -> None:
    unimaged, busy, _ = clinic
    listing = tmp_path / "patients.txt"
    listing.write_text(f"{busy}\n\n{unimaged}\n")

    rows = _rows(tmp_path, "--fhir-server", fhir_base_url, "--patients", str(listing))

    assert [row["patient"] for row in rows] == [busy, unimaged]


def test_an_unknown_group_is_refused(fhir_base_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["worklist", "--fhir-server", fhir_base_url, "--group", "no-such-group", "--json"])

    assert code == 2
    assert "Group no-such-group" in capsys.readouterr().err

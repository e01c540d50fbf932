"""Denials replayed against a real FHIR server: a member id found through the EHR's Coverage, the denied injection
matched to its Procedure, and the hooks' rules run on the record as of the date of service."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from plugin.command_line.main import main
from plugin.denials.replay import Replayer

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "order-sign-limit-exceeded.json"
CGS_835 = REPO / "tests" / "fixtures" / "denials" / "medicare-cgs.835"


def load_patient(base_url: str, patient: str, member_id: str) -> None:
    """The example patient's four sessions of the last year, diagnosis and coverage, and the injection the payer
    later denied (62323 on 2026-12-03), under fresh ids."""
    prefetch = json.loads(EXAMPLE.read_text())["prefetch"]
    resources: list[dict[str, Any]] = [{"resourceType": "Patient", "id": patient}]
    for key in ("procedures", "conditions", "coverage"):
        resources += [entry["resource"] for entry in prefetch[key]["entry"]]
    denied = json.loads(json.dumps(resources[4]))  # the last session, esi-4
    denied["id"], denied["performedDateTime"] = "esi-5", "2026-12-03T09:00:00-05:00"
    resources.append(denied)
    text = json.dumps(resources).replace('"Patient/p1"', f'"Patient/{patient}"')
    loaded = json.loads(text)
    for resource in loaded[1:]:
        resource["id"] = f"{patient}-{resource['id']}"
        if resource["resourceType"] == "Coverage":
            resource["identifier"] = [{"value": member_id}]
    transaction = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}} for r in loaded
        ],
    }
    response = httpx.post(base_url, json=transaction, headers={"Content-Type": "application/fhir+json"}, timeout=30)
    assert response.status_code == 200, response.text


def remittance_for(member_id: str) -> str:
    """The CGS remittance turned into a frequency denial (CO-151 + N115) of that 62323, for this member."""
    return (
        CGS_835.read_text()
        .replace("SYNM0000008", member_id)
        .replace("SVC*HC:64480*400.00*0.00**2", "SVC*HC:62323*400.00*0.00**1")
        .replace("DTM*472*20261211", "DTM*472*20261203")
        .replace("LQ*HE*N362", "LQ*HE*N115")
    )


def test_a_member_id_is_found_through_the_ehrs_coverage(fhir_base_url: str) -> None:
    patient, member_id = f"den-{uuid.uuid4().hex[:10]}", f"SYNM{uuid.uuid4().hex[:8].upper()}"
    load_patient(fhir_base_url, patient, member_id)
    assert Replayer(fhir_base_url).patients_of([member_id]) == {member_id: f"Patient/{patient}"}


def test_the_report_counts_a_denial_the_replayed_rules_flag_as_preventable(
    fhir_base_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patient, member_id = f"den-{uuid.uuid4().hex[:10]}", f"SYNM{uuid.uuid4().hex[:8].upper()}"
    load_patient(fhir_base_url, patient, member_id)
    remittance = tmp_path / "remittance.835"
    remittance.write_text(remittance_for(member_id))
    url = f"sqlite:///{tmp_path / 'service.db'}"
    assert main(["denials", "import", str(remittance), "--db", url]) == 0
    capsys.readouterr()
    assert main(["denials", "report", "--db", url, "--fhir-server", fhir_base_url, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["families"] == [
        {
            "family": "frequency",
            "family_title": "Frequency",
            "payer": "SYNTHETIC MEDICARE CGS",
            "denials": 1,
            "preventable": 1,
            "denied_amount": "400.00",
            "preventable_amount": "400.00",
        }
    ]
    assert (report["patient_unknown"], report["injections_found"]) == (0, 1)


def test_a_denial_without_its_procedure_on_the_server_is_not_replayed(
    fhir_base_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    patient, member_id = f"den-{uuid.uuid4().hex[:10]}", f"SYNM{uuid.uuid4().hex[:8].upper()}"
    load_patient(fhir_base_url, patient, member_id)
    remittance = tmp_path / "remittance.835"
    remittance.write_text(remittance_for(member_id).replace("DTM*472*20261203", "DTM*472*20261204"))
    url = f"sqlite:///{tmp_path / 'service.db'}"
    assert main(["denials", "import", str(remittance), "--db", url]) == 0
    capsys.readouterr()
    assert main(["denials", "report", "--db", url, "--fhir-server", fhir_base_url, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["denials"], report["preventable"], report["injections_found"]) == (1, 0, 0)

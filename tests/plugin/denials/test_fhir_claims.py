"""FHIR ExplanationOfBenefit (CARIN Blue Button) and ClaimResponse: the same lines an 835 gives, from JSON or NDJSON."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from plugin.denials.errors import MalformedFile
from plugin.denials.fhir_claims import read_fhir
from plugin.denials.lines import Adjustment, spinal_injection_codes

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "denials"
CODES = spinal_injection_codes(frozenset({"76000", "77002", "77003", "77012", "72275"}))


def test_an_eob_denial_reason_is_read_from_the_carc_code_system() -> None:
    lines, _ = read_fhir((FIXTURES / "commercial-eob.ndjson").read_text(), "eob.ndjson", CODES)
    first = lines[0]
    assert (first.source, first.patient_reference, first.payer) == (
        "fhir-eob",
        "Patient/p7",
        "SYNTHETIC COMMERCIAL PLAN",
    )
    assert (first.service_date, first.cpt, first.billed, first.paid) == (
        date(2026, 12, 2),
        "62323",
        Decimal(900),
        Decimal(0),
    )
    assert first.adjustments == (Adjustment("CO", "197", Decimal(900)),)


def test_an_eob_item_that_is_not_a_spinal_injection_is_not_stored() -> None:
    lines, _ = read_fhir((FIXTURES / "commercial-eob.ndjson").read_text(), "eob.ndjson", CODES)
    assert [line.cpt for line in lines] == ["62323", "64483", "62323", "62323"]


def test_a_claim_response_takes_its_procedure_from_the_claim_it_answers() -> None:
    [line], _ = read_fhir((FIXTURES / "medicaid-claimresponse.json").read_text(), "cr.json", CODES)
    assert (line.source, line.cpt, line.service_date, line.billed) == (
        "fhir-claimresponse",
        "62321",
        date(2026, 12, 14),
        Decimal(800),
    )
    assert [a.carc for a in line.adjustments] == ["15"]


def test_coverages_map_member_ids_to_patients() -> None:
    _, members = read_fhir((FIXTURES / "coverages.ndjson").read_text(), "coverages.ndjson", CODES)
    assert members["SYNM0000001"] == "Patient/p1"


def test_a_cut_ndjson_line_is_refused_naming_the_line() -> None:
    with pytest.raises(MalformedFile) as refused:
        read_fhir((FIXTURES / "malformed" / "cut-line.ndjson").read_text(), "cut-line.ndjson", CODES)
    assert refused.value.place == "line 3"


def test_an_eob_item_without_a_procedure_is_refused_naming_the_line() -> None:
    resources = [json.loads(line) for line in (FIXTURES / "commercial-eob.ndjson").read_text().splitlines()]
    del resources[1]["item"][0]["productOrService"]
    text = "\n".join(json.dumps(resource) for resource in resources)
    with pytest.raises(MalformedFile) as refused:
        read_fhir(text, "eob.ndjson", CODES)
    assert refused.value.place == "line 2"
    assert "productOrService" in refused.value.problem


def test_a_bundle_entry_that_is_no_resource_is_refused_naming_the_entry() -> None:
    bundle = {"resourceType": "Bundle", "entry": [{"resource": {"id": "x"}}]}
    with pytest.raises(MalformedFile) as refused:
        read_fhir(json.dumps(bundle), "bundle.json", CODES)
    assert refused.value.place == "Bundle entry 1"

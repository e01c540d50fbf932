"""835 remittances: every spinal-injection line with what the payer said about it; a bad file refused with its place."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from plugin.denials.errors import MalformedFile
from plugin.denials.lines import Adjustment, RemittanceLine, spinal_injection_codes
from plugin.denials.x12_835 import read_835

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "denials"
CODES = spinal_injection_codes(frozenset({"76000", "77002", "77003", "77012", "72275"}))


def read(name: str) -> list[RemittanceLine]:
    path = FIXTURES / name
    return read_835(path.read_text(), name, CODES)


def test_a_line_keeps_code_date_amounts_reasons_and_the_policy_the_payer_named() -> None:
    first = read("medicare-jf.835")[0]
    assert (first.payer, first.member_id, first.service_date, first.cpt) == (
        "SYNTHETIC MEDICARE JF",
        "SYNM0000001",
        date(2026, 12, 3),
        "62323",
    )
    assert (first.billed, first.paid, first.units) == (Decimal("900.00"), Decimal("0.00"), Decimal(1))
    assert first.adjustments == (Adjustment("CO", "151", Decimal("900.00")),)
    assert first.rarcs == ("N115",)
    assert first.policy == "L39240"


def test_modifiers_and_units_come_from_the_procedure_composite() -> None:
    line = next(line for line in read("medicare-jf.835") if line.cpt == "64484")
    assert line.modifiers == ("RT",)
    assert line.units == Decimal(3)
    assert line.adjustments == (Adjustment("CO", "45", Decimal("40.00")), Adjustment("CO", "96", Decimal("400.00")))


def test_guidance_codes_are_kept_and_other_services_are_not() -> None:
    codes = {line.cpt for line in read("medicare-jf.835")}
    assert "77003" in codes
    text = (FIXTURES / "medicare-jf.835").read_text().replace("HC:64483:LT", "HC:99213")
    assert "99213" not in {line.cpt for line in read_835(text, "office.835", CODES)}


def test_an_invalid_amount_is_refused_naming_the_segment() -> None:
    with pytest.raises(MalformedFile) as refused:
        read("malformed/bad-amount.835")
    assert refused.value.file == "malformed/bad-amount.835"
    assert refused.value.place == "segment 15 (SVC)"
    assert "line_item_charge_amount" in refused.value.problem


def test_a_file_that_stops_is_refused() -> None:
    with pytest.raises(MalformedFile, match="ends before its SE segment"):
        read("malformed/truncated.835")


def test_a_wrong_segment_count_is_refused_at_the_se_segment() -> None:
    text = (FIXTURES / "medicare-cgs.835").read_text().replace("SE*18*0102", "SE*17*0102")
    with pytest.raises(MalformedFile) as refused:
        read_835(text, "count.835", CODES)
    assert refused.value.place.endswith("(SE)")


def test_an_unbalanced_claim_is_refused_at_its_clp_segment() -> None:
    text = (FIXTURES / "medicare-cgs.835").read_text().replace("CAS*CO*151*400.00", "CAS*CO*151*300.00")
    with pytest.raises(MalformedFile) as refused:
        read_835(text, "balance.835", CODES)
    assert refused.value.place.endswith("(CLP)")


def test_another_transaction_set_is_refused() -> None:
    text = (FIXTURES / "medicare-cgs.835").read_text().replace("ST*835*", "ST*837*")
    with pytest.raises(MalformedFile, match="not an 835"):
        read_835(text, "claim.837", CODES)

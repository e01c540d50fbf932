"""A denial meets the cards issued for its patient inside the window around its date of service, of its family only."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from plugin.denials.card_ledger import IssuedCard
from plugin.denials.classification import load_classification
from plugin.denials.lines import Adjustment, RemittanceLine
from plugin.denials.matching import UNCLASSIFIED, match_lines

SERVED = date(2026, 12, 3)


def line(*adjustments: Adjustment, paid: str = "0.00", rarcs: tuple[str, ...] = ()) -> RemittanceLine:
    return RemittanceLine(
        source="x12-835",
        payer="SYNTHETIC MEDICARE JF",
        claim_id="C1",
        claim_status="1",
        line_number=1,
        patient_reference=None,
        member_id="SYNM0000001",
        service_date=SERVED,
        cpt="62323",
        modifiers=(),
        units=Decimal(1),
        billed=Decimal("900.00"),
        paid=Decimal(paid),
        adjustments=adjustments,
        rarcs=rarcs,
        policy=None,
    )


def card(rule: str, days_from_service: int, patient: str = "Patient/p1") -> IssuedCard:
    return IssuedCard(
        f"card-{rule}-{days_from_service}", "epidural-order-sign", rule, patient, SERVED + timedelta(days_from_service)
    )


FREQUENCY_DENIAL = line(Adjustment("CO", "151", Decimal("900.00")), rarcs=("N115",))
MEMBERS = {"SYNM0000001": "Patient/p1"}


def matched_cards(issued: list[IssuedCard]) -> list[str]:
    [matched] = match_lines([FREQUENCY_DENIAL], load_classification(), issued, {}, MEMBERS)
    return [c.card_uuid for c in matched.cards]


def test_a_card_of_the_family_for_the_patient_inside_the_window_is_matched() -> None:
    assert matched_cards([card("frequency-limit-exceeded", -90), card("frequency-limit-exceeded", 30)]) == [
        "card-frequency-limit-exceeded--90",
        "card-frequency-limit-exceeded-30",
    ]


def test_a_card_outside_the_window_is_not_matched() -> None:
    assert matched_cards([card("frequency-limit-exceeded", -91), card("frequency-limit-exceeded", 31)]) == []


def test_a_card_of_another_family_or_patient_is_not_matched() -> None:
    assert matched_cards([card("diagnosis-missing", -3), card("frequency-limit-exceeded", -3, "Patient/p2")]) == []


def test_the_denied_amount_leaves_out_the_contractual_write_off() -> None:
    partial = line(
        Adjustment("CO", "45", Decimal("40.00")),
        Adjustment("CO", "96", Decimal("400.00")),
        paid="460.00",
        rarcs=("N362",),
    )
    [matched] = match_lines([partial], load_classification(), [], {}, MEMBERS)
    assert (matched.family, matched.denied_amount) == ("levels-units", Decimal("400.00"))


def test_an_unpaid_line_no_mapping_explains_is_an_unclassified_denial() -> None:
    [matched] = match_lines([line(Adjustment("CO", "27", Decimal("900.00")))], load_classification(), [], {}, MEMBERS)
    assert (matched.family, matched.denied_amount) == (UNCLASSIFIED, Decimal("900.00"))


def test_a_paid_line_is_no_denial() -> None:
    [matched] = match_lines(
        [line(Adjustment("CO", "45", Decimal("80.00")), paid="820.00")], load_classification(), [], {}, MEMBERS
    )
    assert not matched.denied

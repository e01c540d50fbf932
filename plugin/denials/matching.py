"""Would a card have prevented it? Each remittance line beside the cards issued for its patient around its date of
service, what the clinician did with them, and (given a FHIR source) the rules replayed as of that date.

A line's patient is the reference its source names, or the patient its member id was mapped to (Coverage resources
imported beside the claims, or found on the FHIR server). A card is about a line when it was issued for that patient
inside the classification's card window around the date of service and its rule belongs to the line's family.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from plugin.denials.card_ledger import IssuedCard
from plugin.denials.classification import Classification, payer_side
from plugin.denials.lines import RemittanceLine

UNCLASSIFIED = "unclassified"
Outcome = Literal["accepted", "overridden"]


@dataclass(frozen=True, slots=True)
class CardOutcome:
    card_uuid: str
    rule_id: str
    issued_on: date
    outcome: Outcome | None  # None: no feedback came back for the card
    reason: str | None  # the override reason's display (or code)


@dataclass(frozen=True, slots=True)
class Replay:
    """What replaying the rules on a line's FHIR record found."""

    injection: str | None  # the performed injection the line was matched to ("Procedure/…"); None: not found
    rules: tuple[str, ...]  # the rule ids that fire as of the date of service


@dataclass(frozen=True, slots=True)
class MatchedLine:
    line: RemittanceLine
    patient: str | None
    family: str | None  # the denial's rule family; UNCLASSIFIED for an unpaid line no mapping explains; None if paid
    denied_amount: Decimal
    cards: tuple[CardOutcome, ...]  # of the family for a denial; every card in the window for a paid line
    injection: str | None  # the performed injection a replay matched the line to
    replayed_rules: tuple[str, ...]  # rules of the family that fire when replayed as of the date of service

    @property
    def denied(self) -> bool:
        return self.family is not None

    @property
    def preventable(self) -> bool:
        """The service flags it: a card of its family was issued, or the replay fires one of its rules."""
        return self.denied and bool(self.cards or self.replayed_rules)


def match_lines(
    lines: Sequence[RemittanceLine],
    classification: Classification,
    issued: Sequence[IssuedCard],
    feedback: Mapping[str, tuple[str, str | None]],
    member_patients: Mapping[str, str],
    replayed: Mapping[str, Replay] | None = None,
) -> list[MatchedLine]:
    """`replayed` maps a line's key to what replaying the rules on its patient's record found."""
    window = classification.card_window
    by_patient: dict[str, list[IssuedCard]] = {}
    for card in issued:
        by_patient.setdefault(card.patient_id, []).append(card)
    matched = []
    for line in lines:
        patient = line.patient_reference or (member_patients.get(line.member_id) if line.member_id else None)
        verdict = classification.classify(line.adjustments, line.rarcs)
        family = verdict.family if verdict else _unexplained(line)
        rules = set(classification.families[family].rules) if family and family != UNCLASSIFIED else set()
        start = line.service_date - timedelta(days=window.days_before)
        end = line.service_date + timedelta(days=window.days_after)
        nearby = [card for card in by_patient.get(patient or "", []) if start <= card.issued_on <= end]
        relevant = [card for card in nearby if card.rule_id in rules] if family else nearby
        replay = (replayed or {}).get(line.key, Replay(None, ()))
        matched.append(
            MatchedLine(
                line=line,
                patient=patient,
                family=family,
                denied_amount=_denied_amount(line, classification) if family else Decimal(0),
                cards=tuple(_outcome(card, feedback.get(card.card_uuid)) for card in relevant),
                injection=replay.injection,
                replayed_rules=tuple(r for r in replay.rules if r in rules),
            )
        )
    return matched


def _unexplained(line: RemittanceLine) -> str | None:
    """An unpaid line with a payer-side adjustment that no mapping explains is still a denial, of no known family."""
    unpaid = line.paid == 0 and line.billed > 0
    return UNCLASSIFIED if unpaid and any(payer_side(a) for a in line.adjustments) else None


def _denied_amount(line: RemittanceLine, classification: Classification) -> Decimal:
    """What the denial reasons took off the line: adjustments that are denials on their own, not contractual
    write-offs or the patient's share; all that was not paid when no reason is known."""
    amount = sum(
        (a.amount for a in line.adjustments if classification.classify((a,), line.rarcs) is not None), Decimal(0)
    )
    return amount if amount > 0 else line.billed - line.paid


def _outcome(card: IssuedCard, feedback: tuple[str, str | None] | None) -> CardOutcome:
    outcome: Outcome | None = None
    reason = None
    if feedback is not None:
        outcome = "accepted" if feedback[0] == "accepted" else "overridden"
        reason = feedback[1] if outcome == "overridden" else None
    return CardOutcome(card.card_uuid, card.rule_id, card.issued_on, outcome, reason)

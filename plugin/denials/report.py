"""The denials report as typed rows: per rule family and payer, per rule, and per month (for charts). The terminal,
CSV and JSON outputs and the browser workspace all read these.

Query API (for the workspace): `denial_report(url, since=..., fhir_server=...)` → `DenialReport`, whose `families`,
`rules` and `months` are tuples of frozen rows with Decimal amounts; `matched_lines(url, ...)` → the `MatchedLine`s
under it (one per remittance line, with its patient, family, cards and their outcomes).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from plugin.denials.card_ledger import CardLedger
from plugin.denials.classification import Classification, load_classification
from plugin.denials.matching import UNCLASSIFIED, MatchedLine, match_lines
from plugin.denials.replay import Replayer
from plugin.denials.store import DenialStore

UNCLASSIFIED_TITLE = "Not classified"


@dataclass(frozen=True, slots=True)
class FamilyPayerRow:
    family: str
    family_title: str
    payer: str
    denials: int
    preventable: int  # denials a card of the family was issued for, or the replay flags
    denied_amount: Decimal
    preventable_amount: Decimal


@dataclass(frozen=True, slots=True)
class ReasonCount:
    reason: str
    count: int


@dataclass(frozen=True, slots=True)
class RuleRow:
    rule_id: str
    overridden_then_denied: int  # cards of the rule overridden, the line then denied in the rule's family
    denied_amount: Decimal
    override_reasons: tuple[ReasonCount, ...]  # most frequent first
    accepted_then_paid: int  # cards of the rule accepted, the line then paid
    paid_amount: Decimal


@dataclass(frozen=True, slots=True)
class MonthRow:
    month: str  # "2026-11", of the date of service
    family: str
    payer: str
    denials: int
    denied_amount: Decimal


@dataclass(frozen=True, slots=True)
class DenialReport:
    since: date | None
    lines: int
    denials: int
    preventable: int
    denied_amount: Decimal
    preventable_amount: Decimal
    patient_unknown: int  # denials whose patient neither the source nor a member id names
    injections_found: int | None  # denials matched to their performed injection on the FHIR server; None: no server
    families: tuple[FamilyPayerRow, ...]
    rules: tuple[RuleRow, ...]
    months: tuple[MonthRow, ...]


def denial_report(
    url: str,
    *,
    since: date | None = None,
    fhir_server: str | None = None,
    policy_dir: Path | None = None,
    classification: Classification | None = None,
) -> DenialReport:
    """The report over the service database at `url`; with `fhir_server`, member ids are looked up there too and the
    rules are replayed on each denied line's record as of its date of service."""
    rules = classification or load_classification()
    matched = matched_lines(url, since=since, fhir_server=fhir_server, policy_dir=policy_dir, classification=rules)
    return summarize(matched, rules, since, replayed=fhir_server is not None)


def matched_lines(
    url: str,
    *,
    since: date | None = None,
    fhir_server: str | None = None,
    policy_dir: Path | None = None,
    classification: Classification | None = None,
) -> list[MatchedLine]:
    """Every stored line (dates of service from `since`) with its patient, family, denied amount, the cards about it
    and what the replay found: the rows under the report, for a drill-down or a patient's timeline."""
    rules = classification or load_classification()
    with DenialStore(url) as store:
        lines = store.lines(since)
        member_patients = store.member_patients()
        if fhir_server is not None:
            replayer = Replayer(fhir_server, policy_dir)
            member_patients |= replayer.patients_of([line.member_id for line in lines if line.member_id])
        ledger = CardLedger(url)
        try:
            patients = {line.patient_reference or member_patients.get(line.member_id or "") for line in lines}
            issued = ledger.issued([p for p in patients if p])
        finally:
            ledger.close()
        feedback = store.feedback([card.card_uuid for card in issued])
    replayed = None
    if fhir_server is not None:
        denied = [m for m in match_lines(lines, rules, (), {}, member_patients) if m.denied and m.patient]
        replayed = replayer.replay(denied)
    return match_lines(lines, rules, issued, feedback, member_patients, replayed)


def summarize(
    matched: Sequence[MatchedLine], classification: Classification, since: date | None, *, replayed: bool = False
) -> DenialReport:
    denials = [m for m in matched if m.denied]
    return DenialReport(
        since=since,
        lines=len(matched),
        denials=len(denials),
        preventable=sum(1 for m in denials if m.preventable),
        denied_amount=sum((m.denied_amount for m in denials), Decimal(0)),
        preventable_amount=sum((m.denied_amount for m in denials if m.preventable), Decimal(0)),
        patient_unknown=sum(1 for m in denials if m.patient is None),
        injections_found=sum(1 for m in denials if m.injection) if replayed else None,
        families=_families(denials, classification),
        rules=_rules(matched),
        months=_months(denials),
    )


def family_title(family: str, classification: Classification) -> str:
    known = classification.families.get(family)
    return known.title if known else UNCLASSIFIED_TITLE


def _families(denials: Sequence[MatchedLine], classification: Classification) -> tuple[FamilyPayerRow, ...]:
    groups: dict[tuple[str, str], list[MatchedLine]] = defaultdict(list)
    for m in denials:
        groups[(m.family or UNCLASSIFIED, m.line.payer)].append(m)
    order = {family: i for i, family in enumerate(classification.families)}
    return tuple(
        FamilyPayerRow(
            family=family,
            family_title=family_title(family, classification),
            payer=payer,
            denials=len(group),
            preventable=sum(1 for m in group if m.preventable),
            denied_amount=sum((m.denied_amount for m in group), Decimal(0)),
            preventable_amount=sum((m.denied_amount for m in group if m.preventable), Decimal(0)),
        )
        for (family, payer), group in sorted(
            groups.items(), key=lambda item: (order.get(item[0][0], len(order)), item[0][1])
        )
    )


def _rules(matched: Sequence[MatchedLine]) -> tuple[RuleRow, ...]:
    """Per rule, each card counted once however many lines of its patient and window it meets."""
    overridden: dict[str, dict[str, tuple[str | None, Decimal]]] = defaultdict(dict)
    accepted: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for m in matched:
        for card in m.cards:
            if m.denied and card.outcome == "overridden":
                reason, amount = overridden[card.rule_id].get(card.card_uuid, (card.reason, Decimal(0)))
                overridden[card.rule_id][card.card_uuid] = (reason, amount + m.denied_amount)
            elif not m.denied and card.outcome == "accepted":
                accepted[card.rule_id][card.card_uuid] = (
                    accepted[card.rule_id].get(card.card_uuid, Decimal(0)) + m.line.paid
                )
    rows = []
    for rule_id in sorted(set(overridden) | set(accepted)):
        reasons = Counter(reason or "(no reason given)" for reason, _ in overridden[rule_id].values())
        rows.append(
            RuleRow(
                rule_id=rule_id,
                overridden_then_denied=len(overridden[rule_id]),
                denied_amount=sum((amount for _, amount in overridden[rule_id].values()), Decimal(0)),
                override_reasons=tuple(
                    ReasonCount(r, n) for r, n in sorted(reasons.items(), key=lambda i: (-i[1], i[0]))
                ),
                accepted_then_paid=len(accepted[rule_id]),
                paid_amount=sum(accepted[rule_id].values(), Decimal(0)),
            )
        )
    return tuple(rows)


def _months(denials: Sequence[MatchedLine]) -> tuple[MonthRow, ...]:
    groups: dict[tuple[str, str, str], list[MatchedLine]] = defaultdict(list)
    for m in denials:
        groups[(m.line.service_date.strftime("%Y-%m"), m.family or UNCLASSIFIED, m.line.payer)].append(m)
    return tuple(
        MonthRow(month, family, payer, len(group), sum((m.denied_amount for m in group), Decimal(0)))
        for (month, family, payer), group in sorted(groups.items())
    )

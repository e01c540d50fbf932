"""What one hook call puts in front of the rules: the record, the orders or bookings being decided, the encounter."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from fhir_mappings.facts import BookedSession, ClinicalRecord, CompanionOrder, InjectionOrder, PerformedInjection
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.findings import Finding


@dataclass(frozen=True, slots=True)
class HookFacts:
    record: ClinicalRecord
    orders: tuple[InjectionOrder, ...] = ()
    companions: tuple[CompanionOrder, ...] = ()
    proposed: tuple[BookedSession, ...] = ()
    performed_here: tuple[PerformedInjection, ...] = ()
    encounter: str | None = None
    conditions_known: bool = True
    imaging_known: bool = True


Rule = Callable[[HookFacts, AppliedPolicy, date], Iterable[Finding]]

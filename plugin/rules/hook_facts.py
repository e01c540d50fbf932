"""What one hook call puts in front of the rules: the record, the orders or bookings being decided, the encounter."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar, cast

from fhir_mappings.care_history import CareHistory
from fhir_mappings.facts import (
    BookedSession,
    ClinicalRecord,
    CompanionOrder,
    InjectionOrder,
    PerformedInjection,
    ServicePlace,
)
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.findings import Finding

T = TypeVar("T")


@dataclass(slots=True)
class HookFacts:
    """Built once per call and not changed afterwards. Not a frozen dataclass, because it is not immutable: `derived`
    keeps what the rules derive from it, so the rules of one call share that work."""

    record: ClinicalRecord
    orders: tuple[InjectionOrder, ...] = ()
    companions: tuple[CompanionOrder, ...] = ()
    proposed: tuple[BookedSession, ...] = ()
    performed_here: tuple[PerformedInjection, ...] = ()
    encounter: str | None = None
    place: ServicePlace | None = None
    """Where the service is furnished, as far as the encounter, appointment or order in the data says."""
    conditions_known: bool = True
    imaging_known: bool = True
    care: CareHistory = field(default_factory=CareHistory)
    _derived: dict[str, tuple[tuple[object, ...], object]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def derived(self, name: str, inputs: tuple[object, ...], compute: Callable[[], T]) -> T:
        """`compute()`, which derives `name` from these facts and `inputs`, run once for as long as the inputs are the
        same: several rules of one call read the same derived facts (the session history, the diagnosis subjects), and
        deriving them again for each rule was most of a call's work on a long history. Whatever it returns is shared,
        so callers must not change it."""
        known = self._derived.get(name)
        if known is not None and known[0] == inputs:
            return cast(T, known[1])
        value = compute()
        self._derived[name] = (inputs, value)
        return value


Rule = Callable[[HookFacts, AppliedPolicy, date], Iterable[Finding]]

"""The coded injections a code check judges: the draft orders of an order hook, or the injections performed in the
encounter at discharge, each with its CPT lines, modifiers, date and what its words say.

A draft order can be recoded by a card's fix; a performed injection cannot (the claim, not a draft, is what changes),
so its cards only name the right code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from fhir_mappings.facts import StatedIntent
from fhir_mappings.spine import InjectionCode, injection_codes
from plugin.rules.hook_facts import HookFacts


@dataclass(frozen=True, slots=True)
class CodedInjection:
    source: str
    entry: InjectionCode
    """The line's code: its primary injection code, or its add-on code when it has no primary."""
    lines: tuple[tuple[InjectionCode, int], ...]
    """Every injection code on it, with its units."""
    modifiers: tuple[str, ...]
    intent: StatedIntent
    on: date
    draft: bool

    @property
    def primary(self) -> InjectionCode:
        """An add-on code's primary, whose approach and region it shares; any other code itself."""
        primary = injection_codes().get(self.entry.add_on_to)
        return primary if primary is not None else self.entry

    @property
    def where(self) -> str:
        return "the order" if self.draft else "the procedure record"

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(entry.code for entry, _ in self.lines)


def coded_injections(facts: HookFacts, as_of: date) -> tuple[CodedInjection, ...]:
    """The draft orders with a known injection code (on their requested date, else `as_of`) and the completed
    injections performed in the encounter; read once per call for all the code checks."""
    return facts.derived("coded-injections", (as_of,), lambda: _coded_injections(facts, as_of))


def _coded_injections(facts: HookFacts, as_of: date) -> tuple[CodedInjection, ...]:
    table = injection_codes()
    judged: list[CodedInjection] = []
    for order in facts.orders:
        entry = table.get(order.code)
        if entry is None:
            continue
        # The order's quantity is the units of its own code; any other injection code on it is one more line.
        lines = [(entry, order.units)]
        lines.extend((other, 1) for other in _entries(order.codes) if other.code != entry.code)
        judged.append(
            CodedInjection(
                order.source, entry, tuple(lines), order.modifiers, order.intent, order.occurrence or as_of, True
            )
        )
    for injection in facts.performed_here:
        entry = table.get(injection.code)
        if entry is None or not injection.counts_as_performed:
            continue
        # A Procedure keeps one code; its units count every injection code it carried (64483 with 64484 is 2).
        judged.append(
            CodedInjection(
                injection.source,
                entry,
                ((entry, injection.units),),
                injection.modifiers,
                injection.intent,
                injection.performed_on,
                False,
            )
        )
    return tuple(judged)


def _entries(codes: Iterable[str]) -> Iterator[InjectionCode]:
    table = injection_codes()
    for code in dict.fromkeys(codes):
        entry = table.get(code)
        if entry is not None:
            yield entry


def by_session(injections: Iterable[CodedInjection]) -> dict[date, list[CodedInjection]]:
    """Injections grouped by calendar date: all injections of one date are one session."""
    sessions: dict[date, list[CodedInjection]] = {}
    for injection in injections:
        sessions.setdefault(injection.on, []).append(injection)
    return sessions

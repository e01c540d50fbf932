"""What is an injection session, and which pool it counts in: by its code, by the site's appointment types, or by
its words.

Each order, appointment or performed injection is read the strongest way it allows, in this order:
1. its CPT code (an appointment's own, or that of the order it is based on);
2. for an appointment, the site's map of local appointment and service types (`session-types` policy data);
3. its words ("Lumbar ESI L5-S1 under fluoroscopy"): the codes those words could be, by approach, region, guidance
   and catheter use where stated. A session read from words is `inferred`: its cards are checks, never critical.
Perioperative and labour epidural catheters are not ESI sessions under any policy and are never counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from fhir_mappings.facts import BookedSession, Modality, StatedIntent
from fhir_mappings.intent import names_this_injection
from fhir_mappings.phrases import Phrases, phrases
from fhir_mappings.spine import Approach, InjectionCode, SpinalRegion, injection_codes
from plugin.policies.schema import AppointmentType, Frequency, SessionTypes

Pool = SpinalRegion | None
"""The group a session counts in: its region for per-region policies, None for policies counting all regions."""

_SINGLE_SHOT = (Approach.INTERLAMINAR, Approach.TRANSFORAMINAL)
_GUIDED = frozenset({Modality.FLUOROSCOPY, Modality.CT})


@dataclass(frozen=True, slots=True)
class Counted:
    """How a session counts: in which pool, and whether it rests on words alone."""

    pool: Pool
    region: SpinalRegion | None
    inferred: bool
    unplaced: bool = False
    """Counted by a per-region policy, but its words name no region: judged against each region, never recorded."""


@cache
def _normalised(text: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


@cache
def _phrases(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """Whole-word, case-insensitive matching of `words`; compiled once per list, not once per hook call."""
    ordered = sorted(words, key=len, reverse=True)
    if not ordered:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(word) for word in ordered) + r")(?![\w-])", re.IGNORECASE)


@cache
def _visit_phrases(words: tuple[str, ...]) -> Phrases:
    return phrases(words)


def codes_for(intent: StatedIntent) -> tuple[InjectionCode, ...]:
    """The primary injection codes an uncoded order's words could stand for: every code that agrees with what the
    words state (approach, guidance, catheter), in the region they name, or in either region when they name none.
    Words that say nothing of a catheter are a single shot; a neurolytic injection is no ESI."""
    if intent.neurolytic:
        return ()
    regions = {level.billing_region for level in intent.levels} or set(intent.body_site_regions)
    imaging: bool | None = None
    if intent.guidance & _GUIDED:
        imaging = True
    elif intent.without_guidance or intent.guidance:
        imaging = False
    approaches = (intent.approach,) if intent.approach in _SINGLE_SHOT else _SINGLE_SHOT
    return tuple(
        entry
        for entry in injection_codes().codes.values()
        if entry.add_on_to is None
        and entry.approach in approaches
        and (not regions or entry.region in regions)
        and (imaging is None or entry.imaging is imaging)
        and entry.catheter is bool(intent.catheter)
    )


class SessionReader:
    """Reads orders, appointments and performed injections as sessions under one policy's frequency rules."""

    def __init__(self, frequency: Frequency, types: SessionTypes | None) -> None:
        self.frequency = frequency
        self._counted = frozenset(frequency.counted_codes)
        appointment_types = types.appointment_types if types is not None else []
        self._by_code: dict[tuple[str | None, str], AppointmentType] = {}
        self._by_text: dict[str, AppointmentType] = {}
        for entry in appointment_types:
            if entry.code is not None:
                self._by_code.setdefault((entry.system, entry.code.strip()), entry)
            elif entry.text is not None:
                self._by_text.setdefault(_normalised(entry.text), entry)
        self._code_regions: dict[str, SpinalRegion] = {}
        self._catheter_codes = frozenset(entry.code for entry in injection_codes().codes.values() if entry.catheter)
        self._visit_words = _visit_phrases(tuple(types.visit_words)) if types is not None else None
        not_sessions = types.not_sessions if types is not None else None
        self._not_session_words = _phrases(tuple(not_sessions.phrases)) if not_sessions is not None else None
        self._not_session_reasons = tuple(not_sessions.reason_code_prefixes) if not_sessions is not None else ()

    def counts(self, code: str | None) -> bool:
        return code is not None and code in self._counted

    def is_catheter(self, code: str | None, intent: StatedIntent) -> bool:
        return bool(intent.catheter) or code in self._catheter_codes

    def is_not_a_session(
        self, codes: Iterable[str], words: str, reason_codes: Iterable[str], *, catheter: bool
    ) -> bool:
        """A perioperative or labour epidural: said in its words, or a catheter for a postoperative or obstetric
        reason."""
        if self._not_session_words is not None and self._not_session_words.search(words):
            return True
        is_catheter = catheter or any(code in self._catheter_codes for code in codes)
        return is_catheter and any(code.startswith(self._not_session_reasons) for code in reason_codes if code)

    def coded(self, code: str | None, intent: StatedIntent) -> Counted | None:
        """A session by its code: None when the policy does not count the code or its pool cannot be told."""
        if code is None or code not in self._counted:
            return None
        # A history repeats a few codes thousands of times: each code's region is looked up once per call.
        region = self._code_regions.get(code)
        if region is None:
            entry = injection_codes().get(code)
            region = entry.region if entry is not None else None
            if region is None:
                return self._in_pool(_one_region(intent), inferred=False)
            self._code_regions[code] = region
        return self._in_pool(region, inferred=False)

    def worded(self, intent: StatedIntent) -> Counted | None:
        """A session read from words: counted when the policy counts some code the words could stand for."""
        candidates = [entry for entry in codes_for(intent) if entry.code in self._counted]
        if not candidates:
            return None
        regions = {entry.region for entry in candidates}
        region = regions.pop() if len(regions) == 1 else _one_region(intent)
        return self._in_pool(region, inferred=True)

    def order(self, code: str | None, intent: StatedIntent) -> Counted | None:
        return self.coded(code, intent) if code is not None else self.worded(intent)

    def booking(self, booking: BookedSession) -> Counted | None:
        """By the appointment's codes, else its local type, else (for an injection visit) its words."""
        counted_code = next((code for code in booking.codes if self.counts(code)), None)
        if counted_code is not None:
            return self.coded(counted_code, booking.intent)
        if any(injection_codes().get(code) is not None for code in booking.codes):
            return None
        local = self.appointment_type(booking)
        if local is not None:
            return self._typed(local, booking.intent)
        return self.named(booking.intent, booking.text)

    def named(self, intent: StatedIntent, words: str) -> Counted | None:
        """A visit or a performed procedure known only by its words, when they state an approach or name an injection
        as done or booked ("Lumbar ESI L4-5 interlaminar under fluoro"); words that only mention one in the history,
        denied or hedged ("hx of ESI", "no epidural", "possible ESI") say no session took place."""
        if intent.approach is not None or (
            self._visit_words is not None and names_this_injection(words, self._visit_words)
        ):
            return self.worded(intent)
        return None

    def booking_code(self, booking: BookedSession) -> str | None:
        """The counted code an appointment is booked for, by its codes or its local type; None when only words
        say what it is."""
        counted_code = next((code for code in booking.codes if self.counts(code)), None)
        if counted_code is not None:
            return counted_code
        local = self.appointment_type(booking)
        if local is None:
            return None
        return next((code for code in local.procedure_codes if self.counts(code)), None)

    def appointment_type(self, booking: BookedSession) -> AppointmentType | None:
        for system, code in booking.type_codes:
            entry = self._by_code.get((system, code.strip())) or self._by_code.get((None, code.strip()))
            if entry is not None:
                return entry
        for text in booking.type_texts:
            entry = self._by_text.get(_normalised(text))
            if entry is not None:
                return entry
        return None

    def _typed(self, local: AppointmentType, intent: StatedIntent) -> Counted | None:
        if local.procedure_codes:
            code = next((code for code in local.procedure_codes if self.counts(code)), None)
            return self.coded(code, intent) if code is not None else None
        region = SpinalRegion(local.region) if local.region is not None else None
        regional = StatedIntent(body_site_regions=frozenset({region}) if region is not None else frozenset())
        candidates = [entry for entry in codes_for(regional) if entry.code in self._counted]
        if not candidates:
            return None
        return self._in_pool(region, inferred=False)

    def _in_pool(self, region: SpinalRegion | None, *, inferred: bool) -> Counted | None:
        if self.frequency.scope != "combined" and region is None:
            return _UNPLACED if inferred else None
        return _COUNTED[(self.frequency.scope == "combined", region, inferred)]


# Every way a session can count, made once: a history of thousands of sessions shares these few.
_COUNTED = {
    (combined, region, inferred): Counted(None if combined else region, region, inferred)
    for combined in (False, True)
    for region in (*SpinalRegion, None)
    for inferred in (False, True)
}

_UNPLACED = Counted(None, None, inferred=True, unplaced=True)


def _one_region(intent: StatedIntent) -> SpinalRegion | None:
    regions = {level.billing_region for level in intent.levels} or set(intent.body_site_regions)
    return regions.pop() if len(regions) == 1 else None

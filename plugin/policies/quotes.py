"""Every number of a payer policy with the payer's words for it: what `policies list` shows and `policies check` audits.

A number is a cap, a level limit, an interval, a relief threshold, a duration or a prior-authorization rule; each names
the quote it rests on, or None when the file gives none (which `policies check` reports, and a rule treats as
unverified).
"""

from __future__ import annotations

from dataclasses import dataclass

from plugin.policies.schema import PayerPolicy, Quote


@dataclass(frozen=True, slots=True)
class QuotedNumber:
    field: str
    what: str
    source: Quote | None

    @property
    def verified(self) -> bool:
        return self.source is not None and self.source.verified


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def quoted_numbers(policy: PayerPolicy) -> list[QuotedNumber]:
    numbers: list[QuotedNumber] = []
    for position, limit in enumerate(policy.frequency.limits):
        caps = [
            _plural(cap, noun)
            for cap, noun in ((limit.max_sessions, "session"), (limit.max_injections, "injection"))
            if cap is not None
        ]
        what = f"{' / '.join(caps)} per {limit.months} months"
        numbers.append(QuotedNumber(f"frequency.limits.{position}", what, limit.source))
    limits = policy.session_limits
    if limits is not None:
        parts = [
            f"{words} {value}"
            for words, value in (
                ("regions per session", limits.max_regions),
                ("transforaminal levels", limits.max_transforaminal_levels),
                ("interlaminar levels", limits.max_interlaminar_levels),
            )
            if value is not None
        ]
        numbers.append(QuotedNumber("session_limits", ", ".join(parts), limits.source))
    for position, interval in enumerate(policy.intervals):
        phase = "" if interval.phase == "any" else f" ({interval.phase} phase)"
        what = f"at least {_plural(interval.days, 'day')} between sessions{phase}"
        numbers.append(QuotedNumber(f"intervals.{position}", what, interval.source))
    repeat = policy.repeat
    if repeat is not None:
        what = (
            f"repeat after {_plural(repeat.initial_sessions, 'initial session')}: "
            f"at least {repeat.relief_percent}% relief for {_plural(repeat.weeks, 'week')}"
        )
        numbers.append(QuotedNumber("repeat", what, repeat.source))
    care = policy.conservative_care
    if care is not None:
        numbers.append(
            QuotedNumber("conservative_care", f"{_plural(care.weeks, 'week')} of conservative care", care.source)
        )
    imaging = policy.diagnostic_imaging
    if imaging is not None:
        what = f"{'/'.join(imaging.modalities)} within {imaging.months} months"
        numbers.append(QuotedNumber("diagnostic_imaging", what, imaging.source))
    for position, requirement in enumerate(policy.prior_authorizations):
        where = f" in {', '.join(requirement.states)}" if requirement.states else ""
        what = f"prior authorization ({requirement.program}) from session {requirement.from_session}{where}"
        numbers.append(QuotedNumber(f"prior_authorizations.{position}", what, requirement.source))
    return numbers

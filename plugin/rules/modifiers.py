"""Modifiers: the ones the coding conventions forbid on a code (50, RT, LT on interlaminar codes), and a bilateral
interlaminar injection where the payer's session limits do not allow one.

Modifiers are read from CPT/HCPCS modifier codings, modifier extensions and code text such as "62323-50". A
bilateral modifier already reported is one card; the payer's bilateral rule adds its own card only when the words
alone say bilateral. Words that only mention "bilateral" (bilateral leg pain, not clearly the injection) give a check,
never a statement that the order is bilateral.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from fhir_mappings.spine import Approach
from plugin.policies.schema import ModifierRestriction
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.coded_injections import CodedInjection, coded_injections
from plugin.rules.findings import Finding, RuleId, Severity
from plugin.rules.hook_facts import HookFacts


def invalid_modifiers(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> Iterator[Finding]:
    """`modifier-invalid` for each draft injection order, or each injection performed in the encounter."""
    for injection in coded_injections(facts, as_of):
        forbidden = [
            finding
            for restriction in policy.conventions.modifier_restrictions
            if (finding := _forbidden(injection, restriction, policy)) is not None
        ]
        yield from forbidden
        if not forbidden:
            yield from _bilateral_interlaminar(injection, policy)


def _forbidden(injection: CodedInjection, restriction: ModifierRestriction, policy: AppliedPolicy) -> Finding | None:
    codes = [code for code in injection.codes if code in restriction.codes]
    modifiers = [modifier for modifier in injection.modifiers if modifier in restriction.forbidden]
    if not codes or not modifiers:
        return None
    entry = next(entry for entry, _ in injection.lines if entry.code == codes[0])
    named = "/".join(modifiers)
    plural = "s" if len(modifiers) > 1 else ""
    action = f"report one unit without {'them' if plural else 'it'}"
    if not injection.draft:
        action += " on the claim"
    return Finding(
        rule=RuleId.MODIFIER_INVALID,
        severity=Severity.WARNING,
        summary=f"Modifier{plural} {named} not allowed on {entry.code}: {action}",
        detail=(
            f"{injection.where.capitalize()} reports {entry.code} ({entry.display}) with "
            f"modifier{plural} {named}. {restriction.reason.capitalize()}.\n\n{restriction.citation}."
        ),
        subject=injection.source,
        citing=policy.conventions_citing,
    )


def _bilateral_interlaminar(injection: CodedInjection, policy: AppliedPolicy) -> Iterator[Finding]:
    payer = policy.payer
    limits = payer.session_limits
    if limits is None or limits.bilateral_interlaminar or not injection.intent.bilateral:
        return
    if (
        injection.primary.approach is not Approach.INTERLAMINAR
        or injection.entry.code not in payer.frequency.counted_codes
    ):
        return
    where, code = injection.where.capitalize(), injection.entry.code
    if injection.intent.supports_fix("bilateral"):
        summary = f"{where} says bilateral, but the policy allows no bilateral {code}"
        said = f"{where} says **bilateral** for {code} ({injection.entry.display})."
    else:
        summary = f"{where} mentions bilateral: check that the {code} is one midline injection"
        said = (
            f"{where} mentions **bilateral**, perhaps of the symptoms rather than of the {code} "
            f"({injection.entry.display}). Check that the injection is one midline injection."
        )
    yield Finding(
        rule=RuleId.MODIFIER_INVALID,
        severity=Severity.WARNING,
        summary=summary,
        detail=(
            f"{said} **{payer.title}** does not allow a bilateral interlaminar or caudal injection: the injection "
            f"reaches the midline epidural space, one unit, no bilateral modifier.\n\n{limits.citation}."
            + policy.caveat
        ),
        subject=injection.source,
        citing=policy.citing,
    )

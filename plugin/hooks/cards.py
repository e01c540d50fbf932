"""The one place Findings become CDS Hooks cards, with their sources, links, override reasons and suggestions.

Card uuids carry their rule: a version-8 UUID (RFC 9562) whose first four bytes are a digest of the rule id. Feedback
names only the card uuid, and this lets any worker tell which rule a clinician accepted or overrode without keeping
state between the card and its feedback.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cds_hooks.models import Action, Card, Coding, Link, Source, Suggestion
from fhir_mappings.order_edits import recoded, with_reason
from plugin.rules.findings import Finding, Fix, Problem, Recode, RemoveOrder, RuleId, SetReason, Severity

RULE_SYSTEM = "https://epidural-cds.org/fhir/CodeSystem/rule"
OVERRIDE_REASON_SYSTEM = "https://epidural-cds.org/fhir/CodeSystem/override-reason"
SOURCE_LABEL = "epidural-cds"

_RULE_TITLES: dict[RuleId, str] = {
    RuleId.FREQUENCY_LIMIT_EXCEEDED: "Frequency limit exceeded",
    RuleId.FREQUENCY_LIMIT_REACHED: "Frequency limit reached",
    RuleId.FREQUENCY_EXEMPT: "Exempt from frequency limits",
    RuleId.FREQUENCY_BUDGET: "Injection session budget",
    RuleId.LEVELS_EXCEEDED: "Too many levels or regions in one session",
    RuleId.CODE_APPROACH_MISMATCH: "Code does not match the approach",
    RuleId.CODE_REGION_MISMATCH: "Code does not match the spinal region",
    RuleId.CODE_IMAGING_MISMATCH: "Code does not match imaging guidance",
    RuleId.CODE_CATHETER_MISMATCH: "Code does not match catheter use",
    RuleId.CODE_NEUROLYTIC: "Neurolytic substance needs a neurolytic code",
    RuleId.IMAGING_GUIDANCE_BUNDLED: "Imaging guidance is bundled",
    RuleId.IMAGING_REQUIRED: "Payer requires imaging guidance",
    RuleId.IMAGING_EVIDENCE_MISSING: "Imaging evidence missing",
    RuleId.DIAGNOSIS_MISSING: "Diagnosis missing",
    RuleId.DIAGNOSIS_INVALID: "Diagnosis code not valid",
    RuleId.DIAGNOSIS_NONSPECIFIC: "Non-specific diagnosis",
    RuleId.DIAGNOSIS_CONFLICT: "Conflicting diagnoses",
    RuleId.DIAGNOSIS_NOT_COVERED: "Diagnosis not covered",
    RuleId.MODIFIER_INVALID: "Modifier not allowed",
    RuleId.DOCUMENTATION_INCOMPLETE: "Documentation incomplete",
    RuleId.PRIOR_AUTH_REQUIRED: "Prior authorization",
    RuleId.DATA_INCOMPLETE: "Some checks skipped",
    RuleId.INTERVAL_TOO_SHORT: "Too soon after the last session",
    RuleId.REPEAT_CRITERIA_UNMET: "Repeat injection without documented response",
    RuleId.CONSERVATIVE_CARE_UNDOCUMENTED: "Conservative care not documented",
    RuleId.DIAGNOSTIC_IMAGING_MISSING: "No recent MRI or CT",
}

# Reasons a clinician or coder can give for not following a card; (code, display).
_FREQUENCY_REASONS = (
    ("payer-exception", "Payer granted an exception"),
    ("medical-necessity", "Documented medical necessity"),
    ("history-miscounted", "A counted session was not an epidural steroid injection"),
)
_CODING_REASONS = (
    ("code-verified", "Code verified against the procedure note"),
    ("documentation-to-follow", "Documentation will be amended before submission"),
    ("payer-specific-rule", "This payer's own rule allows it"),
)
_DIAGNOSIS_REASONS = (
    ("diagnosis-verified", "Diagnosis verified by the clinician"),
    ("documentation-to-follow", "Documentation will be amended before submission"),
)
_OVERRIDE_REASONS: dict[RuleId, tuple[tuple[str, str], ...]] = {
    RuleId.FREQUENCY_LIMIT_EXCEEDED: _FREQUENCY_REASONS,
    RuleId.FREQUENCY_LIMIT_REACHED: _FREQUENCY_REASONS,
    RuleId.LEVELS_EXCEEDED: (("medical-necessity", "Documented medical necessity"), *_CODING_REASONS[1:]),
    RuleId.CODE_APPROACH_MISMATCH: _CODING_REASONS,
    RuleId.CODE_REGION_MISMATCH: _CODING_REASONS,
    RuleId.CODE_IMAGING_MISMATCH: _CODING_REASONS,
    RuleId.CODE_CATHETER_MISMATCH: _CODING_REASONS,
    RuleId.CODE_NEUROLYTIC: _CODING_REASONS,
    RuleId.IMAGING_GUIDANCE_BUNDLED: (("separate-procedure", "Guidance is for a separate, distinct procedure"),),
    RuleId.IMAGING_REQUIRED: (("contrast-contraindicated", "Contrast is contraindicated"), *_CODING_REASONS[2:]),
    RuleId.IMAGING_EVIDENCE_MISSING: (
        ("images-in-other-system", "Images are archived in another system"),
        ("documentation-to-follow", "Images will be attached before submission"),
    ),
    RuleId.DIAGNOSIS_MISSING: _DIAGNOSIS_REASONS,
    RuleId.DIAGNOSIS_INVALID: _DIAGNOSIS_REASONS,
    RuleId.DIAGNOSIS_NONSPECIFIC: _DIAGNOSIS_REASONS,
    RuleId.DIAGNOSIS_CONFLICT: _DIAGNOSIS_REASONS,
    RuleId.DIAGNOSIS_NOT_COVERED: (("medical-necessity", "Documented medical necessity"), *_DIAGNOSIS_REASONS),
    RuleId.MODIFIER_INVALID: _CODING_REASONS,
    RuleId.DOCUMENTATION_INCOMPLETE: (("documentation-to-follow", "Documentation will be amended before submission"),),
    RuleId.PRIOR_AUTH_REQUIRED: (("authorization-on-file", "Authorization is on file"),),
}


def _rule_tag(rule: str) -> bytes:
    return hashlib.sha256(rule.encode()).digest()[:4]


_RULE_BY_TAG = {_rule_tag(rule.value): rule for rule in RuleId}


def card_uuid(rule: RuleId) -> str:
    raw = bytearray(_rule_tag(rule.value) + os.urandom(12))
    raw[6] = (raw[6] & 0x0F) | 0x80  # version 8
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 9562 variant
    return str(uuid.UUID(bytes=bytes(raw)))


def rule_of_card(card: str) -> RuleId | None:
    """The rule a card uuid of ours was issued for; None for anything else."""
    try:
        parsed = uuid.UUID(card)
    except ValueError:
        return None
    if parsed.version != 8:
        return None
    return _RULE_BY_TAG.get(parsed.bytes[:4])


_PROBLEM_OF: dict[RuleId, Problem] = {
    RuleId.FREQUENCY_LIMIT_EXCEEDED: Problem.FREQUENCY,
    RuleId.FREQUENCY_LIMIT_REACHED: Problem.FREQUENCY,
    RuleId.FREQUENCY_EXEMPT: Problem.FREQUENCY,
    RuleId.LEVELS_EXCEEDED: Problem.SESSION_EXTENT,
    RuleId.CODE_APPROACH_MISMATCH: Problem.CODE,
    RuleId.CODE_REGION_MISMATCH: Problem.CODE,
    RuleId.CODE_IMAGING_MISMATCH: Problem.CODE,
    RuleId.CODE_CATHETER_MISMATCH: Problem.CODE,
    RuleId.CODE_NEUROLYTIC: Problem.CODE,
    RuleId.IMAGING_REQUIRED: Problem.CODE,
    RuleId.IMAGING_GUIDANCE_BUNDLED: Problem.BUNDLED_GUIDANCE,
    RuleId.IMAGING_EVIDENCE_MISSING: Problem.IMAGING_EVIDENCE,
    RuleId.DIAGNOSIS_MISSING: Problem.DIAGNOSIS,
    RuleId.DIAGNOSIS_INVALID: Problem.DIAGNOSIS,
    RuleId.DIAGNOSIS_NONSPECIFIC: Problem.DIAGNOSIS,
    RuleId.DIAGNOSIS_CONFLICT: Problem.DIAGNOSIS,
    RuleId.DIAGNOSIS_NOT_COVERED: Problem.DIAGNOSIS,
    RuleId.MODIFIER_INVALID: Problem.MODIFIER,
    RuleId.DOCUMENTATION_INCOMPLETE: Problem.DOCUMENTATION,
    RuleId.PRIOR_AUTH_REQUIRED: Problem.PRIOR_AUTHORIZATION,
}
_RANK = {rule: position for position, rule in enumerate(RuleId)}
_SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
SUMMARY_LIMIT = 139
TECHNICAL_PREFIX = "Record: "
"""The one line of a detail that may name FHIR resources, always its last: for the analyst who traces a card."""
_NAMED_ON_RECORD_LINE = 5  # a short line: the subject and the first few resources the card rests on


def problem_of(finding: Finding) -> Problem | RuleId:
    """The problem a finding is about; a rule this module does not know is a problem of its own."""
    if finding.problem is not None:
        return finding.problem
    return _PROBLEM_OF.get(finding.rule, finding.rule)


def render(findings: Iterable[Finding], drafts: Mapping[str, Mapping[str, Any]]) -> list[Card]:
    """Cards for `findings`, one per problem, most severe first; `drafts` are the request's draft orders by
    reference, for fixes."""
    groups = merged(findings)
    orders = _fixes_by_order(groups)
    cards = [_card(group, drafts, orders) for group in groups]
    return sorted(cards, key=lambda card: _SEVERITY_RANK[Severity(card.indicator)])


def merged(findings: Iterable[Finding]) -> list[list[Finding]]:
    """Findings grouped so that each group is one problem: the same problem of the same order (or of the same
    session, for a problem of a whole session), and any findings that say exactly the same thing. Each group leads
    with its most severe finding, then one with a fix, then the one whose rule comes first in the contract's list."""
    groups: dict[tuple[object, ...], list[Finding]] = {}
    for finding in findings:
        problem = problem_of(finding)
        if finding.session is not None:
            key: tuple[object, ...] = (problem, "session", finding.session)
        elif finding.subject is not None:
            key = (problem, "subject", finding.subject)
        else:
            key = (problem, "said", finding.summary, finding.detail)
        same = next(
            (
                group
                for group in groups.values()
                if group[0].rule is finding.rule
                and group[0].summary == finding.summary
                and group[0].detail == finding.detail
            ),
            None,
        )
        (same if same is not None else groups.setdefault(key, [])).append(finding)
    return [sorted(group, key=_precedence) for group in groups.values()]


def _precedence(finding: Finding) -> tuple[int, bool, int]:
    """The most severe first; then one with a fix, so the card's summary says what its suggestion does."""
    return _SEVERITY_RANK[finding.severity], not finding.fixes, _RANK.get(finding.rule, len(_RANK))


def card_summary(text: str) -> str:
    """`text` within the CDS Hooks limit (under 140 characters), cut at a word."""
    if len(text) <= SUMMARY_LIMIT:
        return text
    cut = text[: SUMMARY_LIMIT - 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return cut + "…"


def _detail(group: Sequence[Finding]) -> str:
    """Every paragraph of the group's details once, in order, then the technical line."""
    paragraphs: list[str] = []
    for finding in group:
        for paragraph in finding.detail.split("\n\n"):
            if paragraph.strip() and paragraph not in paragraphs:
                paragraphs.append(paragraph)
    named = list(
        dict.fromkeys(
            reference for finding in group for reference in (finding.subject, *finding.references) if reference
        )
    )
    if named:
        more = f" and {len(named) - _NAMED_ON_RECORD_LINE} more" if len(named) > _NAMED_ON_RECORD_LINE else ""
        paragraphs.append(TECHNICAL_PREFIX + ", ".join(named[:_NAMED_ON_RECORD_LINE]) + more)
    return "\n\n".join(paragraphs)


def _card(group: Sequence[Finding], drafts: Mapping[str, Mapping[str, Any]], orders: Mapping[str, _OrderFixes]) -> Card:
    lead = group[0]
    # Fixes come best first, so only the first suggestion is marked recommended.
    changes = list(dict.fromkeys(change for fix in _group_fixes(group) for change in orders[fix.order].with_(fix)))
    suggestions = [
        suggestion
        for position, change in enumerate(changes)
        if (suggestion := _suggestion(change, drafts, recommended=position == 0)) is not None
    ]
    citings = list({citing.url: citing for finding in group if (citing := finding.citing) is not None}.values())
    reasons = {code: display for finding in group for code, display in _OVERRIDE_REASONS.get(finding.rule, ())}
    return Card(
        uuid=card_uuid(lead.rule),
        summary=card_summary(lead.summary),
        detail=_detail(group),
        indicator=lead.severity.value,
        source=Source(
            label=SOURCE_LABEL,
            url=citings[0].url if citings else None,
            topic=Coding(system=RULE_SYSTEM, code=lead.rule.value, display=_RULE_TITLES[lead.rule]),
        ),
        suggestions=suggestions,
        selection_behavior="at-most-one" if suggestions else None,
        override_reasons=[
            Coding(system=OVERRIDE_REASON_SYSTEM, code=code, display=display) for code, display in reasons.items()
        ],
        links=[Link(label=citing.title, url=citing.url, type="absolute") for citing in citings],
    )


def _group_fixes(group: Sequence[Finding]) -> list[Fix]:
    """The group's fixes, best first: one edit per order (the leading finding's), so a card never offers two codes
    for one order, and each diagnosis once (diagnoses are alternatives to choose from)."""
    fixes: dict[tuple[object, ...], Fix] = {}
    for finding in group:
        for fix in finding.fixes:
            key = ("reason", fix.order, fix.code) if isinstance(fix, SetReason) else ("edit", fix.order)
            fixes.setdefault(key, fix)
    return list(fixes.values())


_Edit = Recode | RemoveOrder


@dataclass(frozen=True, slots=True)
class _Change:
    """What accepting one suggestion makes of one draft order: its edit (a recode or its removal), its diagnosis, or
    both. `lead` is the fix of the card the suggestion is on, which its label names first."""

    order: str
    lead: Fix
    edit: _Edit | None
    reason: SetReason | None


@dataclass
class _OrderFixes:
    """Every fix the cards of one request propose for one draft order. The EHR applies an accepted suggestion's
    `update` as the whole resource, so a suggestion that carried only its own card's fix would undo another card's
    accepted fix to the same order. So every suggestion writes the order as all its cards would leave it: a code card's
    recode comes with the diagnosis (one suggestion per diagnosis offered), a diagnosis comes with the recode, and
    any one accepted, or several in any order, gives a complete order (docs/card-text.md)."""

    edits: list[_Edit] = field(default_factory=list)
    reasons: list[SetReason] = field(default_factory=list)

    @property
    def edit(self) -> _Edit | None:
        """The order's one edit; None when there is none, or when cards disagree, since then neither is safe."""
        return self.edits[0] if len(self.edits) == 1 else None

    def with_(self, fix: Fix) -> list[_Change]:
        if isinstance(fix, SetReason):
            if isinstance(self.edit, RemoveOrder):
                return []  # the order is to be removed: a diagnosis for it would bring it back
            return [_Change(fix.order, fix, self.edit, fix)]
        if fix != self.edit:
            return []
        if isinstance(fix, RemoveOrder):
            return [_Change(fix.order, fix, fix, None)]
        choices: list[SetReason | None] = [*self.reasons] or [None]
        return [_Change(fix.order, fix, fix, reason) for reason in choices]


def _fixes_by_order(groups: Iterable[Sequence[Finding]]) -> dict[str, _OrderFixes]:
    orders: dict[str, _OrderFixes] = {}
    for group in groups:
        for fix in _group_fixes(group):
            fixes = orders.setdefault(fix.order, _OrderFixes())
            if isinstance(fix, SetReason):
                if all(reason.code != fix.code for reason in fixes.reasons):
                    fixes.reasons.append(fix)
            elif fix not in fixes.edits:
                fixes.edits.append(fix)
    return orders


_LABEL_LIMIT = 80


def _suggestion(change: _Change, drafts: Mapping[str, Mapping[str, Any]], *, recommended: bool) -> Suggestion | None:
    if isinstance(change.edit, RemoveOrder):
        if change.order not in drafts:
            return None
        label = change.edit.label
        return Suggestion(
            label=label,
            is_recommended=recommended,
            actions=[Action(type="delete", description=label, resource_id=change.order)],
        )
    draft = drafts.get(change.order)
    if draft is None:
        return None
    resource = dict(draft)
    described: list[str] = []
    recode, reason = change.edit, change.reason
    if recode is not None:
        resource = recoded(resource, recode.code, recode.display)
        described.append(f"recode the draft order as {recode.code} {recode.display}")
    if reason is not None:
        resource = with_reason(resource, reason.code, reason.display, reason.condition, reason.replaces)
        described.append(f"give it the diagnosis {reason.code} {reason.display}")
    if isinstance(change.lead, Recode):
        label = f"Change the order to {change.lead.code}" + (f" and use {reason.code}" if reason else "")
    else:
        assert reason is not None
        label = _label(
            f"Use {reason.code} {reason.display}", f", and change the order to {recode.code}" if recode else ""
        )
    description = "; ".join(described)
    return Suggestion(
        label=label,
        is_recommended=recommended,
        actions=[Action(type="update", description=description[0].upper() + description[1:], resource=resource)],
    )


def _label(lead: str, then: str) -> str:
    """`lead` cut at a word so that `then` still fits in a label."""
    room = _LABEL_LIMIT - len(then)
    if len(lead) > room:
        lead = lead[: room - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
    return lead + then

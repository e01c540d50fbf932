"""The one place Findings become CDS Hooks cards, with their sources, links, override reasons and suggestions.

Card uuids carry their rule: a version-8 UUID (RFC 9562) whose first four bytes are a digest of the rule id. Feedback
names only the card uuid, and this lets any worker tell which rule a clinician accepted or overrode without keeping
state between the card and its feedback.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from cds_hooks.models import Action, Card, Coding, Link, Source, Suggestion
from fhir_mappings.order_edits import recoded, with_reason
from plugin.rules.findings import Finding, Fix, Recode, RemoveOrder, RuleId, SetReason, Severity

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


def render(findings: Iterable[Finding], drafts: Mapping[str, Mapping[str, Any]]) -> list[Card]:
    """Cards for `findings`, most severe first; `drafts` are the request's draft orders by reference, for fixes."""
    order = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return [_card(finding, drafts) for finding in sorted(findings, key=lambda finding: order[finding.severity])]


def _card(finding: Finding, drafts: Mapping[str, Mapping[str, Any]]) -> Card:
    # Fixes come best first, so only the first suggestion is marked recommended.
    suggestions = [
        suggestion
        for position, fix in enumerate(finding.fixes)
        if (suggestion := _suggestion(fix, drafts, recommended=position == 0)) is not None
    ]
    links = []
    if finding.citing is not None:
        citing = finding.citing
        links.append(Link(label=f"{citing.title} ({citing.id} {citing.version})", url=citing.url, type="absolute"))
    return Card(
        uuid=card_uuid(finding.rule),
        summary=finding.summary,
        detail=finding.detail,
        indicator=finding.severity.value,
        source=Source(
            label=SOURCE_LABEL,
            url=finding.citing.url if finding.citing else None,
            topic=Coding(system=RULE_SYSTEM, code=finding.rule.value, display=_RULE_TITLES[finding.rule]),
        ),
        suggestions=suggestions,
        selection_behavior="at-most-one" if suggestions else None,
        override_reasons=[
            Coding(system=OVERRIDE_REASON_SYSTEM, code=code, display=display)
            for code, display in _OVERRIDE_REASONS.get(finding.rule, ())
        ],
        links=links,
    )


def _suggestion(fix: Fix, drafts: Mapping[str, Mapping[str, Any]], *, recommended: bool) -> Suggestion | None:
    if isinstance(fix, RemoveOrder):
        if fix.order not in drafts:
            return None
        return Suggestion(
            label=fix.label,
            is_recommended=recommended,
            actions=[Action(type="delete", description=fix.label, resource_id=fix.order)],
        )
    draft = drafts.get(fix.order)
    if draft is None:
        return None
    if isinstance(fix, Recode):
        label = f"Change the order to {fix.code}"
        resource = recoded(dict(draft), fix.code, fix.display)
        description = f"Recode the draft order as {fix.code} {fix.display}"
    else:
        assert isinstance(fix, SetReason)
        label = f"Use {fix.code} {fix.display}"[:80]
        resource = with_reason(dict(draft), fix.code, fix.display, fix.condition, fix.replaces)
        description = f"Give the draft order the diagnosis {fix.code} {fix.display}"
    return Suggestion(
        label=label,
        is_recommended=recommended,
        actions=[Action(type="update", description=description, resource=resource)],
    )

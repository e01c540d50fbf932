"""What a rule concludes, and the one-click fixes it proposes, before anything is shaped into a card."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RuleId(StrEnum):
    """The rule ids of the external contract; an id, once shipped, keeps its meaning."""

    FREQUENCY_LIMIT_EXCEEDED = "frequency-limit-exceeded"
    FREQUENCY_LIMIT_REACHED = "frequency-limit-reached"
    FREQUENCY_EXEMPT = "frequency-exempt"
    FREQUENCY_BUDGET = "frequency-budget"
    LEVELS_EXCEEDED = "levels-exceeded"
    CODE_APPROACH_MISMATCH = "code-approach-mismatch"
    CODE_REGION_MISMATCH = "code-region-mismatch"
    CODE_IMAGING_MISMATCH = "code-imaging-mismatch"
    CODE_CATHETER_MISMATCH = "code-catheter-mismatch"
    CODE_NEUROLYTIC = "code-neurolytic"
    IMAGING_GUIDANCE_BUNDLED = "imaging-guidance-bundled"
    IMAGING_REQUIRED = "imaging-required"
    IMAGING_EVIDENCE_MISSING = "imaging-evidence-missing"
    DIAGNOSIS_MISSING = "diagnosis-missing"
    DIAGNOSIS_INVALID = "diagnosis-invalid"
    DIAGNOSIS_NONSPECIFIC = "diagnosis-nonspecific"
    DIAGNOSIS_CONFLICT = "diagnosis-conflict"
    DIAGNOSIS_NOT_COVERED = "diagnosis-not-covered"
    MODIFIER_INVALID = "modifier-invalid"
    DOCUMENTATION_INCOMPLETE = "documentation-incomplete"
    PRIOR_AUTH_REQUIRED = "prior-auth-required"
    DATA_INCOMPLETE = "data-incomplete"
    INTERVAL_TOO_SHORT = "interval-too-short"
    REPEAT_CRITERIA_UNMET = "repeat-criteria-unmet"
    CONSERVATIVE_CARE_UNDOCUMENTED = "conservative-care-undocumented"
    DIAGNOSTIC_IMAGING_MISSING = "diagnostic-imaging-missing"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Citing:
    """The policy (or coding convention) a finding rests on, for the card's source and link."""

    id: str
    version: str
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Recode:
    """Replace the procedure code of a draft order, keeping everything else."""

    order: str
    code: str
    display: str


@dataclass(frozen=True, slots=True)
class RemoveOrder:
    order: str
    label: str


@dataclass(frozen=True, slots=True)
class SetReason:
    """Give a draft order this diagnosis as its reason (replacing `replaces`, when set)."""

    order: str
    code: str
    display: str
    condition: str | None = None
    replaces: str | None = None


Fix = Recode | RemoveOrder | SetReason


@dataclass(frozen=True, slots=True)
class Finding:
    rule: RuleId
    severity: Severity
    summary: str
    detail: str
    subject: str | None = None
    citing: Citing | None = None
    fixes: tuple[Fix, ...] = ()

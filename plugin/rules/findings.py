"""What a rule concludes, and the one-click fixes it proposes, before anything is shaped into a card."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
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


class Problem(StrEnum):
    """What a finding is a problem with. Rules may find one problem from two sides (M54.50 is both non-specific and
    not covered; an ultrasound-guided 62323 has the wrong code for the words and for the payer); `cards` gives each
    problem of one order, or of one session, a single card. A rule's problem is the default of its rule id
    (`cards.problem_of`); a finding names another only when it is about something else than its rule usually is."""

    CODE = "code"  # the injection code chosen for an order or a performed injection
    BUNDLED_GUIDANCE = "bundled-guidance"
    IMAGING_EVIDENCE = "imaging-evidence"
    DIAGNOSIS = "diagnosis"
    MODIFIER = "modifier"
    SESSION_EXTENT = "session-extent"  # levels and regions of one session
    FREQUENCY = "frequency"
    PRIOR_AUTHORIZATION = "prior-authorization"
    DOCUMENTATION = "documentation"


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
    """What a rule concludes. `summary` and `detail` are for a clinician: no FHIR ids or element paths, payer and
    policy titles rather than ids (docs/card-text.md); `cards` adds the one technical line naming `subject` and
    `references`. A summary longer than a card allows is shortened where the card is built."""

    rule: RuleId
    severity: Severity
    summary: str
    detail: str
    subject: str | None = None
    citing: Citing | None = None
    fixes: tuple[Fix, ...] = ()
    problem: Problem | None = None
    """The problem it is about, when not its rule's usual one."""
    session: date | None = None
    """For a problem of a whole session (its levels, its place in a frequency window, its prior authorization): the
    session's date, so findings about it from each of its order lines make one card."""
    references: tuple[str, ...] = ()
    """Other resources the finding rests on ("ImagingStudy/7"), named on the card's technical line after `subject`."""

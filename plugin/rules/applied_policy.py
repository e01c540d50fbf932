"""The policy a hook call is judged by, with why it was chosen: what every rule receives beside the facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from plugin.policies.schema import CodingConventions, PayerPolicy, Quote, SessionTypes
from plugin.policies.service_state import ServiceState
from plugin.rules.findings import Citing, Severity

_UNVERIFIED = (
    "The number this card rests on could not be checked against the payer's current text, so the card is at most a "
    "warning: confirm it with the plan."
)


@dataclass(frozen=True, slots=True)
class AppliedPolicy:
    payer: PayerPolicy
    conventions: CodingConventions
    why: str
    by_default: bool = False
    """The plan has no configured policy and the typical commercial rule stands in for it."""
    uncovered: bool = False
    """No active coverage is on record (self-pay, or a coverage the EHR did not send): the default stands in for no
    plan at all."""
    versions: tuple[PayerPolicy, ...] = ()
    """Every version of the policy, oldest first; empty when only `payer` is known."""
    service_state: ServiceState | None = None
    """Where the service is furnished (the coverage mapping's `service_state`, else the Location the hook's data
    names), when known."""
    chosen_in: ServiceState | None = None
    """The state whose mapping rule chose the policy, when a state decided it (a Medicare MAC's LCD)."""
    session_types: SessionTypes | None = None
    """The site's appointment types and what is never a session (the catalog's `session-types` file)."""

    def on(self, day: date) -> PayerPolicy:
        """The version in force on `day`, which judges a session on that day; `payer` when none covers it."""
        return next((policy for policy in self.versions if policy.effective.covers(day)), self.payer)

    @property
    def citing(self) -> Citing:
        return Citing(self.payer.id, self.payer.version, self.payer.title, str(self.payer.link.url))

    @property
    def conventions_citing(self) -> Citing:
        conventions = self.conventions
        return Citing(conventions.id, conventions.version, conventions.title, str(conventions.link.url))

    @property
    def rule_words(self) -> str:
        """Whose rule a card's summary states: the payer's, or the typical commercial rule's when it stands in for an
        unmapped plan, whose own rule is not known, or for a patient with no coverage."""
        return "the typical commercial rule" if self.by_default else "the payer"

    @property
    def named(self) -> str:
        """The payer policy as cards name it: its title, which carries the payer's own number."""
        return f"**{self.payer.title}**"

    def ceiling(self, severity: Severity, *sources: Quote | None) -> Severity:
        """`severity`, lowered to a warning when the policy stands in for an unmapped plan or a number it rests on is
        not verified: neither may block an order."""
        trusted = not self.by_default and all(source is not None and source.verified for source in sources)
        if trusted or severity is not Severity.CRITICAL:
            return severity
        return Severity.WARNING

    def grounds(self, source: Quote) -> str:
        """The paragraphs that end a card resting on one quoted number: the policy's words, whether they are verified,
        and the default-policy caveat."""
        return f"\n\nThe policy's words: \u201c{source.text}\u201d" + self.verification(source) + self.caveat

    def verification(self, *sources: Quote | None) -> str:
        """The line a card adds when a number it rests on is not verified."""
        if all(source is not None and source.verified for source in sources):
            return ""
        return "\n\n" + _UNVERIFIED

    @property
    def caveat(self) -> str:
        """Said on every card judged by the policy: which state chose it, when one did, so a coder can see why this
        MAC's LCD applies; and, for the default policy, that it is not the plan's own rule."""
        if self.chosen_in is not None:
            return f"\n\n{self.named} applies by state: {self.chosen_in.words}."
        if not self.by_default:
            return ""
        why = self.why[:1].upper() + self.why[1:]
        if self.uncovered:
            # No plan to map: the advice is to record the coverage if there is one, and only then to map its plan.
            return (
                f"\n\n{why}: this card applies the typical commercial rule, {self.payer.title}, as a benchmark, since "
                "no plan's own policy is known, and is never above a warning. If the patient has coverage, record it; "
                "if its plan is not in the coverage mapping of the policy directory (`policy_dir`), add a rule for its "
                "payer identifier or name. `epidural-cds policies explain` shows how a request was matched."
            )
        return (
            f"\n\n{why}: this card applies the typical commercial rule, {self.payer.title}, in place of the plan's own "
            "policy, and is never above a warning. To map the plan, add a rule for its payer identifier or name to the "
            "coverage mapping in the policy directory (`policy_dir`); `epidural-cds policies explain` shows how a "
            "request was matched."
        )

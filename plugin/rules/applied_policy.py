"""The policy a hook call is judged by, with why it was chosen: what every rule receives beside the facts."""

from __future__ import annotations

from dataclasses import dataclass

from plugin.policies.schema import CodingConventions, PayerPolicy, SessionTypes
from plugin.rules.findings import Citing


@dataclass(frozen=True, slots=True)
class AppliedPolicy:
    payer: PayerPolicy
    conventions: CodingConventions
    why: str
    session_types: SessionTypes | None = None
    """The site's appointment types and what is never a session (the catalog's `session-types` file)."""

    @property
    def citing(self) -> Citing:
        return Citing(self.payer.id, self.payer.version, self.payer.title, str(self.payer.link.url))

    @property
    def conventions_citing(self) -> Citing:
        conventions = self.conventions
        return Citing(conventions.id, conventions.version, conventions.title, str(conventions.link.url))

    @property
    def named(self) -> str:
        """The payer policy as cards name it: bold title, then id and version, so a reader can look it up."""
        payer = self.payer
        return f"**{payer.title}** ({payer.id} {payer.version})"

    @property
    def caveat(self) -> str:
        """Said on every card judged by the conservative default, so nobody mistakes it for the plan's own rule."""
        if not self.payer.conservative_default:
            return ""
        return (
            f"\n\nNo plan-specific policy is configured for this patient's coverage ({self.why}); this is the "
            "conservative default. Check the plan's own policy."
        )

"""The policy a hook call is judged by, with why it was chosen: what every rule receives beside the facts."""

from __future__ import annotations

from dataclasses import dataclass

from plugin.policies.schema import CodingConventions, PayerPolicy
from plugin.rules.findings import Citing


@dataclass(frozen=True, slots=True)
class AppliedPolicy:
    payer: PayerPolicy
    conventions: CodingConventions
    why: str

    @property
    def citing(self) -> Citing:
        return Citing(self.payer.id, self.payer.version, self.payer.title, str(self.payer.link.url))

    @property
    def conventions_citing(self) -> Citing:
        conventions = self.conventions
        return Citing(conventions.id, conventions.version, conventions.title, str(conventions.link.url))

    @property
    def named(self) -> str:
        """The payer policy as cards name it: its title, in bold; the card's link opens its source."""
        return f"**{self.payer.title}**"

    @property
    def caveat(self) -> str:
        """Said on every card judged by the conservative default, so nobody mistakes it for the plan's own rule."""
        if not self.payer.conservative_default:
            return ""
        why = self.why[:1].upper() + self.why[1:]
        return f"\n\n{why}: this card applies the conservative default. Check the plan's own policy."

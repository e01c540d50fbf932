"""(being written) Rules of the diagnosis family."""

from __future__ import annotations

from plugin.rules.hook_facts import Rule

ORDER_SELECT_RULES: tuple[Rule, ...] = ()
ORDER_SIGN_RULES: tuple[Rule, ...] = ()
DISCHARGE_RULES: tuple[Rule, ...] = ()

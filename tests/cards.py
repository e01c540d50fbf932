"""Reading the cards of a CDS Hooks response in tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def rule_ids(response: Mapping[str, Any]) -> list[str]:
    return sorted(card["source"]["topic"]["code"] for card in response["cards"])

"""Plain-text tables for the terminal: cards as a clinician would scan them."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence

from cds_hooks.models import CdsResponse


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max([len(header), *(len(row[i]) for row in rows)]) for i, header in enumerate(headers)]
    lines = ["  ".join(header.ljust(widths[i]) for i, header in enumerate(headers)).rstrip()]
    lines.append("  ".join("-" * width for width in widths))
    lines.extend("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows)
    return "\n".join(lines)


def cards_table(response: CdsResponse) -> str:
    if not response.cards:
        return "no cards: nothing to flag"
    width = max(shutil.get_terminal_size((120, 20)).columns - 40, 40)
    rows = []
    for card in response.cards:
        topic = card.source.topic.code if card.source.topic else ""
        fixes = "; ".join(suggestion.label for suggestion in card.suggestions)
        rows.append(
            [
                card.indicator.upper(),
                topic,
                textwrap.shorten(card.summary, width) + (f"  [fix: {fixes}]" if fixes else ""),
            ]
        )
    return table(["indicator", "rule", "summary"], rows) + f"\n\n{len(response.cards)} card(s)"

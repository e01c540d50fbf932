"""Plain-text tables for the terminal: cards as a clinician would scan them."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence

from cds_hooks.models import CdsResponse


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest line; a cell with several lines makes its row that tall."""
    widths = [
        max([len(header), *(len(line) for row in rows for line in row[i].splitlines())])
        for i, header in enumerate(headers)
    ]
    lines = ["  ".join(header.ljust(widths[i]) for i, header in enumerate(headers)).rstrip()]
    lines.append("  ".join("-" * width for width in widths))
    for row in rows:
        cells = [cell.splitlines() or [""] for cell in row]
        for height in range(max(len(cell) for cell in cells)):
            parts = (cell[height] if height < len(cell) else "" for cell in cells)
            lines.append("  ".join(part.ljust(widths[i]) for i, part in enumerate(parts)).rstrip())
    return "\n".join(lines)


def cards_table(response: CdsResponse) -> str:
    if not response.cards:
        return "no cards: nothing to flag"
    # Wrapped, never cut: a summary's end ("... next eligible date 2027-03-01") is often the part that matters.
    width = max(shutil.get_terminal_size((120, 20)).columns - 40, 40)
    rows = []
    for card in response.cards:
        topic = card.source.topic.code if card.source.topic else ""
        fixes = "; ".join(suggestion.label for suggestion in card.suggestions)
        text = card.summary + (f"  [fix: {fixes}]" if fixes else "")
        rows.append([card.indicator.upper(), topic, textwrap.fill(text, width, break_on_hyphens=False)])
    count = len(response.cards)
    return table(["indicator", "rule", "summary"], rows) + f"\n\n{count} card{'s' if count != 1 else ''}"

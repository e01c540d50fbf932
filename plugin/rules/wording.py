"""Small pieces of card wording that every rule family writes the same way (docs/card-text.md)."""

from __future__ import annotations


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`count` with the noun in the right number: "1 level", "2 levels", "0 stored images"."""
    return f"{count} {singular if count == 1 else plural_form or singular + 's'}"

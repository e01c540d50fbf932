"""The exceptions of `plugin.denials` (the tree is drawn in the package docstring)."""

from __future__ import annotations


class DenialsError(Exception):
    """Something about denials the operator must fix; the message says what."""


class MalformedFile(DenialsError):
    """A file that cannot be read whole; nothing of it is stored."""

    def __init__(self, file: str, place: str, problem: str) -> None:
        super().__init__(f"{file}: {place}: {problem}")
        self.file = file
        self.place = place
        self.problem = problem


class ClassificationError(DenialsError):
    """The denial classification file is invalid."""

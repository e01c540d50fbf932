"""Whole-word, case-insensitive matching of phrase lists, with a cheap test that most texts contain none of them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

# A phrase matches only where it is not inside a longer word: the characters of a word, for this purpose.
_RUN = re.compile(r"[\w-]+")


class Text:
    """A text with its lower-cased words, made once: every phrase list of the vocabulary looks at the same texts."""

    __slots__ = ("runs", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        # Non-ASCII text can match case-folded forms a lower() test misses, so it always goes to the regex.
        self.runs = frozenset(_RUN.findall(text.lower())) if text.isascii() else None


@dataclass(frozen=True, slots=True)
class Phrases:
    """The pattern starts with a look-behind, so the regex engine tries it at every position of the text; most texts
    contain none of the phrases. A phrase can only start where a word of the text starts, and its first word (up to
    the first character that is not a word character or '-') must then be that whole word: "s/p" needs the word "s",
    "fluoro" the word "fluoro". So for ASCII text one set test of first words against the text's words says exactly
    whether the pattern can match, at a fraction of the cost of running it.
    """

    pattern: re.Pattern[str]
    first_words: frozenset[str] | None  # None: some phrase is not plain ASCII, so every text goes to the regex

    def may_match(self, text: Text) -> bool:
        runs = text.runs
        return runs is None or self.first_words is None or not self.first_words.isdisjoint(runs)

    def search(self, text: Text) -> bool:
        return self.may_match(text) and self.pattern.search(text.text) is not None

    def spans(self, text: Text) -> Iterator[tuple[int, int]]:
        """Where the phrases occur, longest phrase first at each position, without overlaps."""
        if self.may_match(text):
            for match in self.pattern.finditer(text.text):
                yield match.span()


def phrases(words: Iterable[str]) -> Phrases:
    ordered = sorted(words, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w-])(?:" + _trie_pattern(ordered) + r")(?![\w-])", re.IGNORECASE)
    firsts = [_RUN.match(word.lower()) for word in ordered]
    # Non-ASCII phrases could match case-folded forms a lower() test misses, so they always go to the regex.
    plain = all(word.isascii() for word in ordered) and all(first is not None for first in firsts)
    return Phrases(pattern, frozenset(first.group() for first in firsts if first is not None) if plain else None)


Label = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class PhraseBook:
    """Many labelled phrase lists matched in one pass: a phrase in several lists carries all their labels. Where
    phrases overlap, the longest wins, as within one list ("no fluoroscopy" is not also "fluoroscopy")."""

    phrases: Phrases
    labels: dict[str, tuple[Label, ...]]

    def matches(self, text: Text) -> Iterator[tuple[int, int, tuple[Label, ...]]]:
        for start, end in self.phrases.spans(text):
            matched = text.text[start:end]
            yield start, end, self.labels.get(matched.lower()) or self._folded(matched)

    def _folded(self, matched: str) -> tuple[Label, ...]:
        """The labels of a match that lower() does not turn into its phrase ("ſ/p" for "s/p", as the regex folds)."""
        return next(
            labels for word, labels in self.labels.items() if re.fullmatch(re.escape(word), matched, re.IGNORECASE)
        )


def phrase_book(lists: Iterable[tuple[Label, Iterable[str]]]) -> PhraseBook:
    labels: dict[str, list[Label]] = {}
    for label, words in lists:
        for word in words:
            labels.setdefault(word.lower(), []).append(label)
    return PhraseBook(phrases(labels), {word: tuple(found) for word, found in labels.items()})


def _trie_pattern(words: Iterable[str]) -> str:
    """One alternation of `words` with shared prefixes factored out ("no|not|no fluoroscopy" becomes
    "no(?:t| fluoroscopy)?"): the regex engine then follows the one branch each next character allows instead of trying
    every phrase at every position (several hundred phrases made a plain alternation the reader's main cost). The
    longest phrase that ends at a word boundary still wins, as in an alternation sorted longest first: branches are
    tried before the end of a shorter phrase."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for character in word.lower():
            node = node.setdefault(character, {})
        node[""] = {}
    return _branches(trie)


def _branches(node: dict[str, Any]) -> str:
    alternatives = [re.escape(character) + _branches(child) for character, child in sorted(node.items()) if character]
    if not alternatives:
        return ""
    body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
    return f"(?:{body})?" if "" in node else body

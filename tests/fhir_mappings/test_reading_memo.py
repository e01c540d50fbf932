"""The memo of text readings: each distinct text read once per worker, never confused with another, bounded."""

from __future__ import annotations

from fhir_mappings.intent import read_intent
from fhir_mappings.reading_memo import ReadingMemo
from fhir_mappings.spine import Approach


class Counting:
    def __init__(self) -> None:
        self.reads: list[tuple[str, ...]] = []

    def reader(self, *parts: str) -> tuple[str, ...]:
        def read() -> tuple[str, ...]:
            self.reads.append(parts)
            return parts

        return read


def test_a_text_read_before_is_not_read_again() -> None:
    memo: ReadingMemo[tuple[str, ...]] = ReadingMemo()
    counting = Counting()
    first = memo.reading(("L4-5 TFESI", ""), counting.reader("L4-5 TFESI", ""))
    again = memo.reading(("L4-5 TFESI", ""), counting.reader("L4-5 TFESI", ""))
    assert first == again == ("L4-5 TFESI", "")
    assert counting.reads == [("L4-5 TFESI", "")]


def test_parts_split_differently_are_different_texts() -> None:
    memo: ReadingMemo[tuple[str, ...]] = ReadingMemo()
    counting = Counting()
    memo.reading(("ab", "c"), counting.reader("ab", "c"))
    assert memo.reading(("a", "bc"), counting.reader("a", "bc")) == ("a", "bc")
    assert memo.reading(("abc",), counting.reader("abc")) == ("abc",)
    assert len(counting.reads) == 3


def test_the_least_recently_used_reading_is_forgotten_first() -> None:
    memo: ReadingMemo[tuple[str, ...]] = ReadingMemo(capacity=2)
    counting = Counting()
    for text in ("first", "second", "first", "third"):
        memo.reading((text,), counting.reader(text))
    memo.reading(("first",), counting.reader("first"))  # used recently: kept
    memo.reading(("second",), counting.reader("second"))  # the oldest: forgotten when "third" came
    assert counting.reads == [("first",), ("second",), ("third",), ("second",)]


def test_texts_that_differ_only_in_a_body_site_coding_read_apart() -> None:
    words = "Transforaminal epidural steroid injection L5-S1 under fluoroscopy"
    one_side = read_intent(words, "", [("http://snomed.info/sct", "7771000")])
    both_sides = read_intent(words, "", [("http://snomed.info/sct", "51440002")])
    assert one_side.approach is both_sides.approach is Approach.TRANSFORAMINAL
    assert (one_side.bilateral, both_sides.bilateral) == (False, True)

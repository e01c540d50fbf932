"""Our context reader against medspaCy's ConText and negspacy on the labelled corpus: accuracy, latency, start-up, RSS.

    /tmp/ctx/bin/python -m bench.reader_context          # a venv with medspacy and negspacy: pip install medspacy

The three readers share everything but the judgement under test: the same vocabulary finds the same phrases (each
becomes a spaCy entity for the other two), and the same assembly turns what is kept into a StatedIntent. medspaCy's
ConText (its default rules) drops entities it finds negated, historical, hypothetical or about family; negspacy
(NegEx, clinical termset) drops negated ones; ours also reads the target (an IV catheter, a laminectomy's level). The
figures go in the README, "How text is read". Start-up and RSS are measured in a fresh process per reader.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from fhir_mappings import intent
from fhir_mappings.context import ABOUT_THE_INJECTION
from fhir_mappings.intent import TextReading, read_text
from fhir_mappings.phrases import Text
from tests.fhir_mappings.corpus_score import CARD_ATTRIBUTES, Phrase, as_labels, load, score

TextReader = Callable[[str, bool], TextReading]


def _phrase_spans(text: str) -> Iterator[tuple[int, int, tuple[tuple[Any, ...], ...]]]:
    """Every vocabulary phrase and level in `text`, as (start, end, ((attribute, value), ...))."""
    yield from intent._vocabulary().matches(Text(text))
    for match in intent._LEVEL.finditer(text):
        yield match.start(), match.end(), (("level", intent._level(match)),)


def _assemble(kept: list[tuple[Any, ...]], reason: bool, tells_history: bool) -> TextReading:
    found = intent._Found()
    for name, value in kept:
        if not reason or name == "pump_trial":
            found.add(str(name), value, ABOUT_THE_INJECTION)
    return TextReading(intent._intent(found, ()), tells_history)


def spacy_reader(kind: str) -> TextReader:
    """A reader that marks our phrases as entities of a blank English pipeline and lets `kind` judge them."""
    # Imported here: they are not the project's dependencies, and start-up is measured per reader.
    import spacy  # noqa: PLC0415
    from spacy.tokens import Span  # noqa: PLC0415
    from spacy.util import filter_spans  # noqa: PLC0415

    if kind == "medspacy":
        import medspacy  # noqa: PLC0415

        nlp = medspacy.load(medspacy_enable=["medspacy_pyrush", "medspacy_context"])
    else:
        from negspacy.negation import Negex  # noqa: PLC0415
        from negspacy.termsets import termset  # noqa: PLC0415

        assert Negex  # importing it registers the "negex" factory
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        nlp.add_pipe("negex", config={"neg_termset": termset("en_clinical").get_patterns()})
    labels: dict[str, tuple[tuple[Any, ...], ...]] = {}

    def read(text: str, reason: bool) -> TextReading:
        doc = nlp.make_doc(text)
        spans = []
        for start, end, found in _phrase_spans(text):
            label = "|".join(f"{name}:{value}" for name, value in found)
            labels[label] = found
            span = doc.char_span(start, end, label=label, alignment_mode="expand")
            if span is not None:
                spans.append(span)
        doc.ents = filter_spans(spans)
        for _, component in nlp.pipeline:
            doc = component(doc)
        kept: list[tuple[Any, ...]] = []
        history = False
        for ent in doc.ents:
            dropped = ent._.negex if kind == "negspacy" else _context_drops(ent)
            history = history or (kind == "medspacy" and ent._.is_historical)
            if not dropped:
                kept.extend(labels[ent.label_])
        assert all(isinstance(ent, Span) for ent in doc.ents)
        return _assemble(kept, reason, history)

    return read


def _context_drops(ent: Any) -> bool:
    return bool(ent._.is_negated or ent._.is_historical or ent._.is_hypothetical or ent._.is_family)


def ours() -> TextReader:
    def read(text: str, reason: bool) -> TextReading:
        return read_text("", reason_words=text) if reason else read_text(text)

    return read


def _reader(kind: str) -> TextReader:
    return ours() if kind == "ours" else spacy_reader(kind)


def measure(kind: str) -> dict[str, Any]:
    started = time.perf_counter()
    reader = _reader(kind)
    corpus = load()
    reader(corpus[0].text, False)
    start_up = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def read(phrase: Phrase) -> dict[str, frozenset[Any]]:
        return as_labels(reader(phrase.text, phrase.source == "reasons"))

    scores = score(corpus, read)
    timings = []
    for _ in range(3):
        for phrase in corpus:
            began = time.perf_counter()
            reader(phrase.text, phrase.source == "reasons")
            timings.append(time.perf_counter() - began)
    card = [scores[name] for name in CARD_ATTRIBUTES]
    return {
        "reader": kind,
        "start_up_s": round(start_up, 2),
        "max_rss_mb": round(rss, 1),
        "p50_us": round(statistics.median(timings) * 1e6, 1),
        "p95_us": round(statistics.quantiles(timings, n=20)[18] * 1e6, 1),
        "worst_card_precision": round(min(tally.precision for tally in card), 3),
        "worst_card_recall": round(min(tally.recall for tally in card), 3),
        "per_attribute": {name: [round(t.precision, 3), round(t.recall, 3)] for name, t in scores.items()},
    }


def main() -> None:
    if len(sys.argv) > 1:
        print(json.dumps(measure(sys.argv[1])))
        return
    for kind in ("ours", "medspacy", "negspacy"):
        # A fresh process each, so start-up includes every import and RSS is the reader's alone.
        command = [sys.executable, "-m", "bench.reader_context", kind]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        print(result.stdout.strip() or result.stderr.strip())


if __name__ == "__main__":
    main()

"""The worklist's work spread over processes: the export split into spills, then each spill's patients judged.

The rules are pure Python and hold the GIL, so the cores of a small host are used by processes. Each worker loads
the policies and the ICD-10-CM table once. Only a few spills are in flight at a time, so memory stays flat however
large the export; progress goes to stderr about once a second.
"""

from __future__ import annotations

import multiprocessing
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import TextIO, TypeVar

import orjson

from fhir_mappings import icd10cm
from plugin.policies.catalog import PolicyCatalog, load_catalog
from plugin.worklist.ndjson import (
    ByteRange,
    FileNote,
    export_files,
    merge_notes,
    patients_in,
    ranges,
    spill,
    spill_count,
    spill_groups,
)
from plugin.worklist.review import PatientReview, Period, may_have_rows, patient_data, review_patient

Item = TypeVar("Item")
Result = TypeVar("Result")
_worker_catalog: PolicyCatalog | None = None


def _start_worker(policy_dir: Path | None) -> None:
    global _worker_catalog  # noqa: PLW0603 - one catalog per worker process, loaded once by its initializer
    _worker_catalog = load_catalog(policy_dir)
    icd10cm.load()


def review_raw(patient: str, lines: Iterable[bytes], catalog: PolicyCatalog, period: Period) -> PatientReview:
    """One patient from its raw resource lines; a line that is not a JSON object is counted as skipped. A patient
    with nothing dated in the period or the booking horizon is not read further."""
    resources = []
    unreadable = 0
    for line in lines:
        try:
            resource = orjson.loads(line)
        except orjson.JSONDecodeError:
            unreadable += 1
            continue
        if isinstance(resource, dict):
            resources.append(resource)
        else:
            unreadable += 1
    if not may_have_rows(resources, period):
        return PatientReview(rows=(), injections=0, skipped=unreadable)
    review = review_patient(patient, patient_data(resources), catalog, period)
    if unreadable:
        return PatientReview(review.rows, review.injections, review.skipped + unreadable, review.failed_rules)
    return review


def _review_spill(paths: list[Path], period: Period) -> list[PatientReview]:
    assert _worker_catalog is not None, "the worker's initializer loads the catalog"
    reviews = [review_raw(patient, lines, _worker_catalog, period) for patient, lines in patients_in(paths)]
    for path in paths:
        path.unlink()
    return reviews


def _spill(run: list[ByteRange], directory: Path, tag: str, spills: int) -> list[FileNote]:
    return spill(run, directory, tag, spills)


@dataclass
class Progress:
    """Counts shown on stderr while the worklist runs, and the totals printed when it ends."""

    stream: TextIO | None = sys.stderr
    patients: int = 0
    injections: int = 0
    open_rows: int = 0
    skipped: int = 0
    failed_rules: set[str] = field(default_factory=set)
    started: float = field(default_factory=time.monotonic)
    _shown: float = field(default_factory=time.monotonic)

    def add(self, review: PatientReview) -> None:
        self.patients += 1
        self.injections += review.injections
        self.open_rows += sum(1 for row in review.rows if row.findings)
        self.skipped += review.skipped
        self.failed_rules.update(review.failed_rules)
        now = time.monotonic()
        if self.stream is not None and now - self._shown >= 1.0:
            self._shown = now
            self.stream.write(f"\r{self.line()}")
            self.stream.flush()

    def say(self, text: str) -> None:
        if self.stream is not None:
            self.stream.write(f"{text}\n")
            self.stream.flush()

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return (
            f"{self.patients:,} patients, {self.injections:,} injections reviewed, {self.open_rows:,} rows with "
            f"open findings ({self.patients / elapsed:,.0f} patients/s)"
        )

    def finish(self) -> None:
        if self.stream is not None:
            self.stream.write(f"\r{self.line()} in {time.monotonic() - self.started:.1f} s\n")
            self.stream.flush()


@dataclass
class ExportReview:
    """A Bulk export's patients judged by `workers` processes (in this one when `workers` is 1)."""

    directory: Path
    period: Period
    policy_dir: Path | None
    workers: int
    progress: Progress = field(default_factory=Progress)
    notes: list[FileNote] = field(default_factory=list)

    def reviews(self) -> Iterator[PatientReview]:
        files = export_files(self.directory)
        spills = spill_count(files)
        parts = max(self.workers, 1)
        with tempfile.TemporaryDirectory(prefix="worklist-spill-") as scratch:
            spill_dir = Path(scratch)
            with self._pool() as run:
                self.progress.say(f"splitting {len(files)} NDJSON files by patient into {spills} spills…")
                split = run(
                    _spill, [(part, spill_dir, f"w{index}", spills) for index, part in enumerate(ranges(files, parts))]
                )
                self.notes = merge_notes(list(chain.from_iterable(split)))
                self.progress.say(f"split in {time.monotonic() - self.progress.started:.1f} s; judging patients…")
                for reviews in run(_review_spill, [(group, self.period) for group in spill_groups(spill_dir)]):
                    yield from reviews

    def _pool(self) -> _Runner:
        return _Runner(self.workers, self.policy_dir)


class _Runner:
    """Runs a function over argument tuples, in order, in worker processes or (one worker) in this process."""

    def __init__(self, workers: int, policy_dir: Path | None) -> None:
        self.workers = workers
        self.policy_dir = policy_dir
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Callable[[Callable[..., Result], list[tuple[object, ...]]], Iterator[Result]]:
        if self.workers > 1:
            # Spawned, not forked: a worker must not inherit locks held by this process's threads.
            context = multiprocessing.get_context("spawn")
            self.pool = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_start_worker, initargs=(self.policy_dir,)
            )
        else:
            _start_worker(self.policy_dir)
        return self.run

    def __exit__(self, *_: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def run(self, function: Callable[..., Result], calls: list[tuple[object, ...]]) -> Iterator[Result]:
        if self.pool is None:
            for arguments in calls:
                yield function(*arguments)
            return
        in_flight: deque[Future[Result]] = deque()
        for arguments in calls:
            in_flight.append(self.pool.submit(function, *arguments))
            if len(in_flight) >= self.workers * 2:
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()

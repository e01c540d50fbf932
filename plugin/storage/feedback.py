"""Durable store for CDS Hooks 2.0 card feedback (``POST /cds-services/{id}/feedback``).

What is stored, and why
    One row per feedback entry an EHR sends: which service and card (``card`` uuid) it concerns, the
    ``outcome`` (``accepted`` / ``overridden``), the ``outcomeTimestamp``, the ids of accepted
    suggestions, the coded override reason (code, system, display), the clinician's free-text
    ``userComment``, the id of the rule that produced the card (when the service can tell it) and
    when we received it. The point is to learn which rules clinicians follow and which they
    override, and why: `FeedbackStore.report` gives per rule the accepted / overridden counts, the
    override rate and the most frequent override reasons, so that noisy rules can be fixed.

    ``userComment`` may hold PHI. It is stored (the EHR sent it on purpose) but never logged: this
    module logs counts only, `FeedbackRecord`'s repr leaves it out, the engine is created with
    ``hide_parameters=True`` so neither SQL logging nor database errors echo bound values, and the
    engine's logger drops SQLAlchemy's DEBUG records of result rows even when an operator turns SQL
    logging on. A SQLite file is created with mode 0600 inside a directory created with mode 0700.

Durability
    `FeedbackStore.record` writes all the records of one post in ONE transaction and returns only
    after the commit, so once the HTTP handler acknowledges a post the records are on disk:

    * SQLite: every connection runs ``PRAGMA journal_mode=WAL``, ``synchronous=FULL`` (the WAL is
      fsynced at every commit, so a committed post survives a process kill and a power cut) and
      ``busy_timeout=10000`` (writers from several worker processes wait for each other instead of
      failing). Write transactions start with ``BEGIN IMMEDIATE`` so they queue on the write lock
      up front rather than failing on a lock upgrade.
    * PostgreSQL: a commit is durable unless the session has ``synchronous_commit=off``; the store
      turns it back ``on`` for its own connections when the server default is ``off``.

Idempotency
    An EHR retries posts it thinks were lost, and several workers may receive the same post. The
    table has a unique constraint on (card_uuid, outcome, outcome_timestamp) and every insert is
    ``INSERT ... ON CONFLICT DO NOTHING``, so the same feedback is stored exactly once whatever the
    races; the first copy wins (a retry carrying a different comment does not overwrite it).
    Timestamps are stored as UTC ISO-8601 text with microseconds (``2026-11-27T10:00:00.000000Z``)
    on both backends, so one instant written with different UTC offsets is one key.

Threads and processes
    The store is synchronous and thread-safe: each call checks a connection out of the engine's
    pool for its own use (the HTTP handler calls it through ``anyio.to_thread.run_sync``). Several
    processes may open the same database. A store inherited through ``fork`` drops the parent's
    pooled connections in the child and opens its own.

URLs
    ``sqlite:///relative/path.db`` (relative to the working directory), ``sqlite:////abs/path.db``
    (the parent directory is created), or ``postgresql://user:pass@host:port/db`` (run on the
    psycopg 3 driver). Anything else is a `ValueError`.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal, get_args

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Dialect

from plugin.storage.database import WRITE_TRANSACTION, EngineStore, LazyTables, insert_new, open_engine

__all__ = [
    "FeedbackRecord",
    "FeedbackStore",
    "Outcome",
    "OverrideReasonCount",
    "RuleOutcomeSummary",
]

_log = logging.getLogger(__name__)

Outcome = Literal["accepted", "overridden"]
_OUTCOMES: Final = frozenset(get_args(Outcome))

_TRANSIENT_PG_SQLSTATES: Final = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure
_ENGINE_LOGGING_NAME: Final = "feedback"


class _NoResultRows(logging.Filter):
    """SQLAlchemy logs result rows at DEBUG (hide_parameters covers bound parameters only), and rows hold user
    comments: this filter drops them, so turning SQL logging on for diagnosis can never put a comment in the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO


# SQL statements are quiet unless an operator asks for them (set this logger to INFO).
_engine_logger = logging.getLogger(f"sqlalchemy.engine.Engine.{_ENGINE_LOGGING_NAME}")
_engine_logger.setLevel(logging.WARNING)
_engine_logger.addFilter(_NoResultRows())


# --------------------------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """One CDS Hooks feedback entry, as stored.

    Timestamps must be timezone-aware; they read back in UTC (equal to what was written).
    """

    service_id: str
    card_uuid: str
    outcome: Outcome
    outcome_timestamp: datetime
    accepted_suggestions: tuple[str, ...]
    override_reason_code: str | None
    override_reason_system: str | None
    override_reason_display: str | None
    user_comment: str | None = field(repr=False)  # may hold PHI: never in logs or reprs
    rule_id: str | None
    received_at: datetime

    def __post_init__(self) -> None:
        if not self.service_id:
            raise ValueError("FeedbackRecord.service_id must not be empty")
        if not self.card_uuid:
            raise ValueError("FeedbackRecord.card_uuid must not be empty")
        if self.outcome not in _OUTCOMES:
            raise ValueError(f"FeedbackRecord.outcome must be 'accepted' or 'overridden', not {self.outcome!r}")
        for name in ("outcome_timestamp", "received_at"):
            value = getattr(self, name)
            if not isinstance(value, datetime) or value.utcoffset() is None:
                raise ValueError(f"FeedbackRecord.{name} must be a timezone-aware datetime, not {value!r}")
            try:
                value.astimezone(UTC)  # stored as UTC text, so it must name a UTC instant
            except OverflowError:
                raise ValueError(f"FeedbackRecord.{name} is out of range: {value!r}") from None
        suggestions = tuple(self.accepted_suggestions)
        if not all(isinstance(s, str) for s in suggestions):
            raise ValueError("FeedbackRecord.accepted_suggestions must hold suggestion ids (str)")
        object.__setattr__(self, "accepted_suggestions", suggestions)  # a list would make the record unhashable


@dataclass(frozen=True, slots=True)
class OverrideReasonCount:
    """How often one coded override reason was given."""

    code: str
    system: str | None
    display: str | None
    count: int


@dataclass(frozen=True, slots=True)
class RuleOutcomeSummary:
    """Feedback outcomes of the cards of one rule (``rule_id`` None: cards the service could not attribute)."""

    rule_id: str | None
    accepted: int
    overridden: int
    override_rate: float  # overridden / (accepted + overridden)
    top_override_reasons: tuple[OverrideReasonCount, ...]  # most frequent coded reasons first

    @property
    def total(self) -> int:
        return self.accepted + self.overridden


# ---------------------------------------------------------------------------------------------- schema


def _utc_text(value: datetime) -> str:
    if value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: feedback timestamps must be timezone-aware")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


class _UtcText(sa.TypeDecorator[datetime]):
    """A timezone-aware datetime stored as fixed-width UTC ISO-8601 text: identical on every backend,
    sortable as text, and exact under the unique constraint."""

    impl = sa.String(32)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        return None if value is None else _utc_text(value)

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return datetime.fromisoformat(str(value)).astimezone(UTC)


class _JsonStrings(sa.TypeDecorator[tuple[str, ...]]):
    """A tuple of strings stored as JSON array text."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: tuple[str, ...] | None, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(list(value), ensure_ascii=False, separators=(",", ":"))

    def process_result_value(self, value: Any | None, dialect: Dialect) -> tuple[str, ...] | None:
        return None if value is None else tuple(str(s) for s in json.loads(value))


_metadata = sa.MetaData()

feedback_table: Final = sa.Table(
    "cds_feedback",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("service_id", sa.String, nullable=False),
    sa.Column("card_uuid", sa.String, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("outcome_timestamp", _UtcText, nullable=False),
    sa.Column("accepted_suggestions", _JsonStrings, nullable=False),
    sa.Column("override_reason_code", sa.String, nullable=True),
    sa.Column("override_reason_system", sa.String, nullable=True),
    sa.Column("override_reason_display", sa.Text, nullable=True),
    sa.Column("user_comment", sa.Text, nullable=True),
    sa.Column("rule_id", sa.String, nullable=True, index=True),
    sa.Column("received_at", _UtcText, nullable=False),
    sa.UniqueConstraint("card_uuid", "outcome", "outcome_timestamp", name="uq_cds_feedback_card_outcome_ts"),
    sa.CheckConstraint("outcome IN ('accepted', 'overridden')", name="ck_cds_feedback_outcome"),
)
_KEY: Final = (feedback_table.c.card_uuid, feedback_table.c.outcome, feedback_table.c.outcome_timestamp)
_RECORD_COLUMNS: Final = tuple(c for c in feedback_table.c if c.name != "id")


# ----------------------------------------------------------------------------------------------- store


class FeedbackStore(EngineStore):
    """Feedback records in SQLite or PostgreSQL. Thread-safe; share one instance per process."""

    def __init__(self, url: str) -> None:
        """Nothing is read or written yet: the table is created by the first call that uses the database."""
        self._engine, self._backend = open_engine(
            url, setting="feedback_db", logging_name=_ENGINE_LOGGING_NAME, synchronous="FULL"
        )
        self._tables = LazyTables(self._engine, self._backend, _metadata)
        self._closed = False

    # -- lifecycle

    def close(self) -> None:
        """Close the pooled connections. Idempotent; the store is unusable afterwards."""
        if not self._closed:
            self._closed = True
            super().close()

    @property
    def backend(self) -> Literal["sqlite", "postgresql"]:
        return self._backend

    def check(self) -> None:
        """Raise SQLAlchemy's error unless the database answers now."""
        self._tables.check()

    # -- writes

    def record(self, records: Sequence[FeedbackRecord]) -> int:
        """Store all `records` in one transaction; return how many were new (duplicates are ignored).

        Returns only after the commit: once this returns the records are durable. On an exception
        nothing of this call was stored, and calling again with the same records is safe.
        """
        if not records:
            return 0
        # One lock order for every writer: PostgreSQL transactions inserting overlapping keys cannot deadlock.
        rows = sorted(
            (self._row(r) for r in records),
            key=lambda row: (row["card_uuid"], row["outcome"], _utc_text(row["outcome_timestamp"])),
        )
        attempts = 3
        for attempt in range(1, attempts + 1):
            try:
                with self._transaction(write=True) as conn:
                    inserted = len(conn.execute(self._insert, rows).all())
            except exc.DBAPIError as error:
                sqlstate = getattr(error.orig, "sqlstate", None)
                if attempt < attempts and sqlstate in _TRANSIENT_PG_SQLSTATES:
                    _log.warning("feedback write hit %s; retry %d of %d", sqlstate, attempt, attempts - 1)
                    continue
                raise
            _log.debug("feedback: %d record(s) received, %d new", len(rows), inserted)
            return inserted
        raise AssertionError("unreachable")

    @staticmethod
    def _row(record: FeedbackRecord) -> dict[str, Any]:
        if not isinstance(record, FeedbackRecord):
            raise TypeError(f"FeedbackStore.record takes FeedbackRecord objects, not {type(record).__name__}")
        return {column.name: getattr(record, column.name) for column in _RECORD_COLUMNS}

    @functools.cached_property
    def _insert(self) -> sa.Executable:
        return insert_new(feedback_table, self._backend, [column.name for column in _KEY])

    # -- reads

    def count(self) -> int:
        """Number of stored feedback records."""
        with self._transaction() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(feedback_table)).scalar_one())

    def fetch(self, card_uuid: str | None = None) -> list[FeedbackRecord]:
        """Stored records (of one card, if given), oldest first."""
        query = sa.select(*_RECORD_COLUMNS).order_by(feedback_table.c.id)
        if card_uuid is not None:
            query = query.where(feedback_table.c.card_uuid == card_uuid)
        with self._transaction() as conn:
            return [FeedbackRecord(**row._asdict()) for row in conn.execute(query)]

    def report(self, top_reasons: int = 3) -> list[RuleOutcomeSummary]:
        """Per rule id: accepted and overridden counts, override rate and the `top_reasons` most frequent
        coded override reasons (ties by code). Rules in id order; unattributed feedback (rule_id None) last.

        Counts are of feedback entries (a card overridden and later accepted counts once in each column).
        """
        t = feedback_table
        outcomes = sa.select(t.c.rule_id, t.c.outcome, sa.func.count()).group_by(t.c.rule_id, t.c.outcome)
        reasons = (
            sa.select(
                t.c.rule_id,
                t.c.override_reason_code,
                t.c.override_reason_system,
                sa.func.max(t.c.override_reason_display),
                sa.func.count(),
            )
            .where(t.c.outcome == "overridden", t.c.override_reason_code.is_not(None))
            .group_by(t.c.rule_id, t.c.override_reason_code, t.c.override_reason_system)
        )
        with self._transaction(snapshot=True) as conn:
            outcome_rows = conn.execute(outcomes).all()
            reason_rows = conn.execute(reasons).all()

        counts: dict[str | None, dict[str, int]] = {}
        for rule_id, outcome, n in outcome_rows:
            counts.setdefault(rule_id, {"accepted": 0, "overridden": 0})[outcome] = int(n)
        reasons_by_rule: dict[str | None, list[OverrideReasonCount]] = {}
        for rule_id, code, system, display, n in reason_rows:
            reasons_by_rule.setdefault(rule_id, []).append(OverrideReasonCount(code, system, display, int(n)))

        summaries = []
        for rule_id in sorted(counts, key=lambda r: (r is None, r or "")):
            accepted, overridden = counts[rule_id]["accepted"], counts[rule_id]["overridden"]
            ranked = sorted(reasons_by_rule.get(rule_id, []), key=lambda r: (-r.count, r.code, r.system or ""))
            summaries.append(
                RuleOutcomeSummary(
                    rule_id=rule_id,
                    accepted=accepted,
                    overridden=overridden,
                    override_rate=overridden / (accepted + overridden),
                    top_override_reasons=tuple(ranked[: max(top_reasons, 0)]),
                )
            )
        return summaries

    # -- plumbing

    @contextmanager
    def _transaction(self, *, write: bool = False, snapshot: bool = False) -> Iterator[Connection]:
        """A connection of this thread's own inside one transaction, committed on success."""
        if self._closed:
            raise RuntimeError("FeedbackStore is closed")
        self._tables.ensure()
        with self._engine.connect() as conn:
            if write:
                conn.execution_options(**{WRITE_TRANSACTION: True})
            if snapshot and self._backend == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

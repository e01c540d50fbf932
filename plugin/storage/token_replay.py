"""Seen JWT ids, shared by every worker process and host, so a replayed token is refused wherever it lands.

A CDS Hooks token's `jti` may be used once. Each uvicorn worker is its own process, so a replay cache in memory lets
a token replayed to another worker through; the ids live in the service's database instead (SQLite by default, the
same PostgreSQL as feedback across hosts). An id is kept until its token could no longer pass the `exp` check, then
purged. On SQLite the ids live in a file of their own beside the feedback file (`feedback.db` →
`feedback-seen-tokens.db`): every authenticated call writes one, and must not queue behind a feedback post holding
the feedback file's write lock.

Every authenticated call writes one id, so the write is kept short (bench/RESULTS.md, "JWT overhead"): one
``INSERT ... ON CONFLICT DO NOTHING`` sent straight to the database driver, committed on its own, without
SQLAlchemy's statement machinery (which cost ~0.6 ms of the ~0.7 ms). On SQLite the insert (~0.1 ms) runs on the event
loop itself, on a connection that never waits for a lock: handing it to a thread cost more than the insert, and much
more on a busy machine, where the thread waits to be scheduled. When another process holds the write lock, or when
expired ids are due to be purged, the write goes to a worker thread that may wait (PostgreSQL always goes there).
A committed id is visible to every
other worker and host at once, so replay protection across them is whole. What is traded is durability against a
crash of the database itself: SQLite does not fsync each insert (``synchronous=NORMAL``) and PostgreSQL commits these
rows with ``synchronous_commit=off``; the ids written in the last moments before such a crash could be lost, which
reopens a window the tokens' expiry (at most minutes) closes anyway.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any, Final

import anyio.to_thread
import sqlalchemy as sa

from cds_hooks.errors import ServiceUnavailable
from plugin.serving import metrics
from plugin.storage.database import EngineStore, LazyTables, open_engine, own_sqlite_file, sqlite_file

logger = logging.getLogger(__name__)

_metadata = sa.MetaData()
seen_tokens: Final = sa.Table(
    "seen_tokens",
    _metadata,
    sa.Column("issuer", sa.String, primary_key=True),
    sa.Column("jti", sa.String, primary_key=True),
    sa.Column("deadline", sa.Float, nullable=False, index=True),
)
_PURGE_EVERY: Final = 500  # inserts between purges of expired ids: cheap with the deadline index
# Driver-level SQL, in each driver's parameter style.
_INSERT: Final = {
    "sqlite": "INSERT INTO seen_tokens (issuer, jti, deadline) VALUES (?, ?, ?) ON CONFLICT (issuer, jti) DO NOTHING",
    "postgresql": "INSERT INTO seen_tokens (issuer, jti, deadline) VALUES (%s, %s, %s) "
    "ON CONFLICT (issuer, jti) DO NOTHING",
}
_PURGE: Final = {
    "sqlite": "DELETE FROM seen_tokens WHERE deadline < ?",
    "postgresql": "DELETE FROM seen_tokens WHERE deadline < %s",
}


class TokenReplayStore(EngineStore):
    """A `cds_hooks.trust.ReplayGuard` backed by the service database. Thread-safe; one per process."""

    def __init__(self, url: str) -> None:
        own_url = own_sqlite_file(url, "seen-tokens")
        self._engine, self._backend = open_engine(
            own_url, setting="feedback_db", logging_name="tokens", synchronous="NORMAL"
        )
        self._tables = LazyTables(self._engine, self._backend, _metadata)
        self._driver_error: type[Exception] = self._engine.dialect.loaded_dbapi.Error
        self._inserts = 0
        self._sqlite_path = sqlite_file(own_url, "feedback_db")
        self._loop_connection: sqlite3.Connection | None = None

    def check(self) -> None:
        """Raise SQLAlchemy's error unless the database answers now."""
        self._tables.check()

    async def first_use(self, issuer: str, jti: str, deadline: float, now: float) -> bool:
        try:
            first = self._record_without_waiting(issuer, jti, deadline)
            if first is None:
                first = await anyio.to_thread.run_sync(self._record, issuer, jti, deadline, now)
            return first
        except (sa.exc.SQLAlchemyError, self._driver_error) as error:
            metrics.database_error("tokens", error)
            # Without the record of seen ids no token can be accepted safely; the EHR may retry the call.
            logger.error("seen token ids unavailable", extra={"error_type": type(error).__name__})
            raise ServiceUnavailable("the service cannot check tokens right now; retry later") from None

    def _record_without_waiting(self, issuer: str, jti: str, deadline: float) -> bool | None:
        """The insert on the event loop, for SQLite; None when it would have to wait (or purge), for `_record`."""
        if self._sqlite_path is None or not self._tables.created or (self._inserts + 1) % _PURGE_EVERY == 0:
            return None
        if self._loop_connection is None:
            connection = sqlite3.connect(self._sqlite_path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA busy_timeout = 0")
            connection.execute("PRAGMA synchronous = NORMAL")  # the file is already in WAL mode
            connection.execute("PRAGMA wal_autocheckpoint = 0")  # checkpoints (with their fsync) stay off the loop
            self._loop_connection = connection
        try:
            cursor = self._loop_connection.execute(_INSERT["sqlite"], (issuer, jti, deadline))
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                return None
            raise
        self._inserts += 1
        return cursor.rowcount == 1

    def _record(self, issuer: str, jti: str, deadline: float, now: float) -> bool:
        self._tables.ensure()
        self._inserts += 1
        purge = self._inserts % _PURGE_EVERY == 0
        connection = self._engine.raw_connection()  # pooled, set up by open_engine's connect hooks
        try:
            cursor: Any = connection.cursor()
            try:
                if purge and self._backend == "sqlite":
                    cursor.execute("BEGIN IMMEDIATE")  # one transaction for the purge and the insert
                if purge:
                    cursor.execute(_PURGE[self._backend], (now,))
                # An id seen before but now past its deadline is a token that would fail `exp` anyway.
                cursor.execute(_INSERT[self._backend], (issuer, jti, deadline))
                first: bool = cursor.rowcount == 1
            finally:
                cursor.close()
            connection.commit()
            return first
        finally:
            connection.close()  # back to the pool; a transaction left open is rolled back there

    def close(self) -> None:
        if self._loop_connection is not None:
            self._loop_connection.close()
            self._loop_connection = None
        super().close()

"""The service's own database (SQLite by default, PostgreSQL for several hosts): engines set up the same way for
every table that lives there.

SQLite connections run in WAL mode with a busy timeout, so several worker processes share one file; write
transactions start with ``BEGIN IMMEDIATE`` (execution option `WRITE_TRANSACTION`) so they queue on the write lock up
front. ``synchronous`` is chosen per store: FULL where an acknowledged write must survive a power cut (feedback),
NORMAL where losing the last moments of writes is harmless (seen token ids). PostgreSQL runs on psycopg 3 with
``synchronous_commit`` on for FULL and off for NORMAL (a commit is visible to every other session at once either
way; off only stops waiting for the WAL flush). Engines never echo bound parameters, and a process that forks drops
the connections it inherited. URLs: ``sqlite:///relative/path.db``, ``sqlite:////abs/path.db`` (the parent
directory is created 0700, the file 0600), ``postgresql://user:pass@host:port/db``; anything else is a `ValueError`.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal, Self, cast

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import URL, Connection, Engine, make_url

Backend = Literal["sqlite", "postgresql"]
Synchronous = Literal["FULL", "NORMAL"]

SQLITE_BUSY_TIMEOUT_MS: Final = 10_000
WRITE_TRANSACTION: Final = "epidural_cds_write"  # execution option: SQLite BEGIN IMMEDIATE
_DDL_LOCK_KEY: Final = 0x0E91_D0A1_FEED  # pg_advisory_xact_lock key serialising create_all across processes


class EngineStore:
    """A store of the service database owning its engine: `close()`, or leaving its `with` block, releases the pooled
    connections."""

    _engine: Engine

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc_value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class LazyTables:
    """Creates a store's tables on its first use rather than when it is built, so that a worker can start (and
    say it is not ready) while its database is down, and recover when the database comes back."""

    def __init__(self, engine: Engine, backend: Backend, metadata: sa.MetaData) -> None:
        self._engine = engine
        self._backend = backend
        self._metadata = metadata
        self._created = False
        self._lock = threading.Lock()

    @property
    def created(self) -> bool:
        return self._created

    def ensure(self) -> None:
        """Create the tables if this process has not yet; raises SQLAlchemy's errors while the database is down."""
        if self._created:
            return
        with self._lock:
            if not self._created:
                create_tables(self._engine, self._backend, self._metadata)
                self._created = True

    def check(self) -> None:
        """Raise unless the database answers now (and the tables exist)."""
        self.ensure()
        with self._engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))


def own_sqlite_file(url: str, name: str) -> str:
    """For a SQLite `url`, the URL of a file beside it named for `name`; any other URL as it is.

    SQLite has one write lock per file, so a table that must never wait behind another's long transactions (the seen
    token ids every authenticated call writes, behind a feedback post) lives in a file of its own. PostgreSQL locks
    rows, so there it shares the database.
    """
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database:
        return url
    path = Path(parsed.database)
    return parsed.set(database=str(path.with_name(f"{path.stem}-{name}{path.suffix}"))).render_as_string(
        hide_password=False
    )


def create_tables(engine: Engine, backend: Backend, metadata: sa.MetaData) -> None:
    """Create `metadata`'s tables and indexes if missing; safe when several processes start at once."""
    with engine.connect() as conn:
        conn.execution_options(**{WRITE_TRANSACTION: True})  # SQLite: BEGIN IMMEDIATE holds off other writers
        with conn.begin():
            if backend == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_DDL_LOCK_KEY)))
            metadata.create_all(conn)


def insert_new(table: sa.Table, backend: Backend, key: Sequence[str]) -> sa.Executable:
    """INSERT of rows whose `key` is not stored yet, returning the key of each row inserted (so `len(...all())` counts
    the new ones). Run it with the rows as parameters, never with them inside: SQLAlchemy then compiles it once and
    batches the rows into multi-row INSERTs ("insertmanyvalues"); built with `.values(rows)` it was compiled anew
    for every write, most of the time of a write (measured on feedback, remittances and the card ledger)."""
    insert = sqlite_dialect.insert(table) if backend == "sqlite" else pg_dialect.insert(table)
    returned = [table.c[name] for name in key]
    return cast(sa.Executable, insert.on_conflict_do_nothing(index_elements=list(key)).returning(*returned))


def open_engine(
    url: str, *, setting: str, logging_name: str, synchronous: Synchronous = "FULL"
) -> tuple[Engine, Backend]:
    """An engine for `url` (the value of the setting named `setting`, for messages), set up as the module docstring
    says, and which backend it is."""
    engine_url = _engine_url(url, setting)
    if engine_url.get_backend_name() == "sqlite":
        _prepare_sqlite_file(cast(str, engine_url.database))
        engine = sa.create_engine(engine_url, hide_parameters=True, logging_name=logging_name)
        event.listen(engine, "connect", functools.partial(_sqlite_on_connect, synchronous=synchronous))
        event.listen(engine, "begin", _sqlite_on_begin)
        backend: Backend = "sqlite"
    else:
        engine = sa.create_engine(
            engine_url,
            hide_parameters=True,
            logging_name=logging_name,
            pool_pre_ping=True,
            connect_args={"connect_timeout": 10, "application_name": f"epidural-cds-{logging_name}"},
        )
        event.listen(engine, "connect", functools.partial(_postgresql_on_connect, synchronous=synchronous))
        backend = "postgresql"
    _track_for_fork(engine)
    return engine, backend


def sqlite_file(url: str, setting: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL), so a read-only command can see it is missing without
    creating it; a `ValueError` for a URL that is neither."""
    parsed = _engine_url(url, setting)
    return Path(cast(str, parsed.database)) if parsed.get_backend_name() == "sqlite" else None


def _engine_url(url: str, setting: str) -> URL:
    """Parse and check a store URL; pin PostgreSQL to psycopg 3. Never echoes the URL (it may hold a password)."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        raise ValueError(
            f"{setting} is not a database URL: use sqlite:///path/to/feedback.db or postgresql://user:pass@host:port/db"
        ) from None
    scheme = parsed.drivername
    if scheme in ("sqlite", "sqlite+pysqlite"):
        if parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory":
            raise ValueError(f"{setting} names an in-memory SQLite database, which is not durable: give a file path")
        return parsed.set(drivername="sqlite+pysqlite")
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    raise ValueError(
        f"{setting} has an unsupported URL scheme {scheme!r}: use sqlite:///path/to/feedback.db "
        "or postgresql://user:pass@host:port/db"
    )


def _prepare_sqlite_file(database: str) -> None:
    """Create the parent directory (0700) and the database file (0600) so that PHI is private from the start."""
    path = Path(database)
    parent = path.parent
    if not parent.is_dir():
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.exists():
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker created it first
        return
    os.close(fd)
    dir_fd = os.open(parent, os.O_RDONLY)  # make the new directory entry itself durable
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any, *, synchronous: Synchronous) -> None:
    # The driver must not open transactions on its own: _sqlite_on_begin issues BEGIN (IMMEDIATE for
    # writes), which also makes DDL transactional. This is SQLAlchemy's documented pysqlite recipe.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        mode = _switch_to_wal(cursor)
        if mode.lower() != "wal":
            raise RuntimeError(
                f"SQLite refused WAL journal mode (got {mode!r}); the database must be on a local filesystem"
            )
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
    finally:
        cursor.close()


def _switch_to_wal(cursor: sqlite3.Cursor) -> str:
    """``PRAGMA journal_mode=WAL``, retried while locked: when several processes open a new database
    at once, the switch can fail at once with "database is locked" (SQLite does not always apply
    the busy handler to it). Gives up after the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    delay = 0.002
    while True:
        try:
            (mode,) = cursor.execute("PRAGMA journal_mode = WAL").fetchone()
            return str(mode)
        except sqlite3.OperationalError as error:
            code = getattr(error, "sqlite_errorcode", sqlite3.SQLITE_BUSY) & 0xFF
            if code not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _sqlite_on_begin(conn: Connection) -> None:
    mode = "IMMEDIATE" if conn.get_execution_options().get(WRITE_TRANSACTION) else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


def _postgresql_on_connect(dbapi_connection: Any, _record: Any, *, synchronous: Synchronous) -> None:
    with dbapi_connection.cursor() as cursor:
        if synchronous == "NORMAL":
            cursor.execute("SET SESSION synchronous_commit TO off")
        else:
            cursor.execute("SHOW synchronous_commit")
            (setting,) = cursor.fetchone()
            if setting == "off":  # 'local' and stronger already wait for the WAL flush; keep them
                cursor.execute("SET SESSION synchronous_commit TO on")
    dbapi_connection.commit()


_live_engines: weakref.WeakSet[Engine] = weakref.WeakSet()
_live_engines_lock = threading.Lock()


def _drop_inherited_connections() -> None:
    for engine in list(_live_engines):
        engine.dispose(close=False)  # the parent still owns those sockets / file handles


def _track_for_fork(engine: Engine) -> None:
    with _live_engines_lock:
        _live_engines.add(engine)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_inherited_connections)

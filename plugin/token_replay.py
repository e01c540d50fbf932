"""Seen JWT ids, shared by every worker process and host, so a replayed token is refused wherever it lands.

A CDS Hooks token's `jti` may be used once. Each uvicorn worker is its own process, so a replay cache in memory lets
a token replayed to another worker through; the ids live in the service's database instead (SQLite by default, the
same PostgreSQL as feedback across hosts). An id is kept until its token could no longer pass the `exp` check, then
purged. Losing the last writes to a power cut only reopens a window the token's expiry closes anyway, so the SQLite
table does not fsync each insert. On SQLite the ids live in a file of their own beside the feedback file
(`feedback.db` → `feedback-seen-tokens.db`): every authenticated call writes one, and must not queue behind a feedback
post holding the feedback file's write lock.
"""

from __future__ import annotations

import logging
from typing import Final

import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from cds_hooks.errors import ServiceUnavailable
from plugin.database import WRITE_TRANSACTION, create_tables, open_engine, own_sqlite_file

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


class TokenReplayStore:
    """A `cds_hooks.trust.ReplayGuard` backed by the service database. Thread-safe; one per process."""

    def __init__(self, url: str) -> None:
        self._engine, self._backend = open_engine(
            own_sqlite_file(url, "seen-tokens"), setting="feedback_db", logging_name="tokens", synchronous="NORMAL"
        )
        create_tables(self._engine, self._backend, _metadata)
        self._inserts = 0

    async def first_use(self, issuer: str, jti: str, deadline: float, now: float) -> bool:
        try:
            return await anyio.to_thread.run_sync(self._record, issuer, jti, deadline, now)
        except sa.exc.SQLAlchemyError as error:
            # Without the record of seen ids no token can be accepted safely; the EHR may retry the call.
            logger.error("seen token ids unavailable", extra={"error_type": type(error).__name__})
            raise ServiceUnavailable("the service cannot check tokens right now; retry later") from None

    def _record(self, issuer: str, jti: str, deadline: float, now: float) -> bool:
        dialect = sqlite_dialect if self._backend == "sqlite" else pg_dialect
        insert = (
            dialect.insert(seen_tokens)
            .values(issuer=issuer, jti=jti, deadline=deadline)
            .on_conflict_do_nothing(index_elements=[seen_tokens.c.issuer, seen_tokens.c.jti])
            .returning(seen_tokens.c.jti)
        )
        self._inserts += 1
        with self._engine.connect() as conn:
            conn.execution_options(**{WRITE_TRANSACTION: True})
            with conn.begin():
                if self._inserts % _PURGE_EVERY == 0:
                    conn.execute(sa.delete(seen_tokens).where(seen_tokens.c.deadline < now))
                # An id seen before but now past its deadline is a token that would fail `exp` anyway.
                return conn.execute(insert).first() is not None

    def close(self) -> None:
        self._engine.dispose()

"""Which cards were issued, for which patient and day: what a denial weeks later is matched against.

Feedback names only a card's uuid (and the rule it carries), never the patient or the date, so a denial could be
matched to a card only by rule and day: on a clinic's busy day that pairs a denial with other patients' cards. So
each card the service issues is written down here with the patient id from the hook's context and the day — in the
service database, which already holds PHI under its 0600 file; no log line carries the patient id.

The answer never waits for the write: the cards join a queue that one writer task per process empties in a worker
thread, waiting `LINGER_SECONDS` before each write so that every card queued meanwhile shares one transaction
(`drain` writes at once, at shutdown). Waiting for a SQLite commit on every hook call had tripled order-sign's
latency; writing after every call still cost each call ~0.8 ms of CPU that the next request waited for
(bench/README.md), and a busy worker now pays that once per interval. A failure to write costs a log line with the
error type only, never the clinician's cards; a queue beyond `QUEUE_LIMIT` cards (a database that stopped answering)
drops the oldest, which costs matches, never memory; a crash loses at most the last interval's cards.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import anyio.to_thread
import sqlalchemy as sa

from cds_hooks.endpoints import CdsService, HookHandler
from cds_hooks.models import CdsResponse, HookRequest
from plugin.denials.tables import cards_issued, metadata
from plugin.storage.database import WRITE_TRANSACTION, EngineStore, LazyTables, insert_new, open_engine

logger = logging.getLogger(__name__)

QUEUE_LIMIT = 50_000
LINGER_SECONDS = 0.5
_BATCH = 2_000


@dataclass(frozen=True, slots=True)
class IssuedCard:
    card_uuid: str
    service_id: str
    rule_id: str
    patient_id: str  # "Patient/123"
    issued_on: date


def patient_reference(patient_id: str) -> str:
    """The hook context's bare id as the reference a claim resource uses."""
    return patient_id if patient_id.startswith("Patient/") else f"Patient/{patient_id}"


class CardLedger(EngineStore):
    """The cards issued, in the service database. Thread-safe; one per process."""

    def __init__(self, url: str) -> None:
        # NORMAL: losing the last moments of this ledger in a power cut costs a match, never a clinician's answer.
        self._engine, self._backend = open_engine(
            url, setting="feedback_db", logging_name="card-ledger", synchronous="NORMAL"
        )
        # Created on first use: a worker must start (and say it is not ready) while its database is down.
        self._tables = LazyTables(self._engine, self._backend, metadata)
        self._queued: list[IssuedCard] = []
        self._writer: asyncio.Task[None] | None = None
        self._hurry = asyncio.Event()

    async def drain(self) -> None:
        """Write every card queued so far, without lingering, and wait until it is written (at shutdown)."""
        self._hurry.set()
        try:
            while self._writer is not None and not self._writer.done():
                await asyncio.shield(self._writer)
        finally:
            self._hurry.clear()

    def _queue(self, cards: Sequence[IssuedCard]) -> None:
        self._queued.extend(cards)
        dropped = len(self._queued) - QUEUE_LIMIT
        if dropped > 0:
            del self._queued[:dropped]
            logger.error("cards issued not recorded", extra={"cards": dropped, "error_type": "QueueFull"})
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_queued())

    async def _write_queued(self) -> None:
        while self._queued:
            # Before every write, not only the first: the calls answered while a write ran would otherwise be written
            # at once, and a busy worker would write every few milliseconds (measured: 20 writes a second).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hurry.wait(), LINGER_SECONDS)
            # At most _BATCH cards a transaction: SQLite's one write lock is never held long.
            batch, self._queued = self._queued[:_BATCH], self._queued[_BATCH:]
            try:
                await anyio.to_thread.run_sync(self.record, batch)
            except sa.exc.SQLAlchemyError as error:
                logger.error(
                    "cards issued not recorded", extra={"cards": len(batch), "error_type": type(error).__name__}
                )

    def record(self, cards: Sequence[IssuedCard]) -> int:
        """Store `cards` in one transaction; return how many were new."""
        if not cards:
            return 0
        # Sorted: concurrent PostgreSQL transactions inserting overlapping keys take their locks in one order.
        rows = [
            {
                "card_uuid": card.card_uuid,
                "service_id": card.service_id,
                "rule_id": card.rule_id,
                "patient_id": card.patient_id,
                "issued_on": card.issued_on,
            }
            for card in sorted(cards, key=lambda card: card.card_uuid)
        ]
        self._tables.ensure()
        with self._engine.connect() as conn:
            conn.execution_options(**{WRITE_TRANSACTION: True})
            with conn.begin():
                return len(conn.execute(self._insert, rows).all())

    @functools.cached_property
    def _insert(self) -> sa.Executable:
        return insert_new(cards_issued, self._backend, ["card_uuid"])

    def issued(self, patient_ids: Sequence[str]) -> list[IssuedCard]:
        """The cards issued for these patients, oldest day first."""
        if not patient_ids:
            return []
        query = (
            sa.select(cards_issued)
            .where(cards_issued.c.patient_id.in_(sorted(set(patient_ids))))
            .order_by(cards_issued.c.issued_on, cards_issued.c.card_uuid)
        )
        self._tables.ensure()
        with self._engine.connect() as conn, conn.begin():
            return [IssuedCard(**row._asdict()) for row in conn.execute(query)]

    def recording(self, services: Sequence[CdsService], today: Callable[[], date]) -> list[CdsService]:
        """`services` whose handlers also write down the cards they return."""
        return [CdsService(service.descriptor, self._recorded(service, today)) for service in services]

    def _recorded(self, service: CdsService, today: Callable[[], date]) -> HookHandler:
        handler = service.handler
        service_id = service.descriptor.id

        async def handle(request: HookRequest) -> CdsResponse:
            response = await handler(request)
            cards = [
                IssuedCard(
                    card.uuid, service_id, card.source.topic.code, patient_reference(request.patient_id), today()
                )
                for card in response.cards
                if card.source.topic is not None and card.source.topic.code
            ]
            if cards:
                self._queue(cards)
            return response

        return handle

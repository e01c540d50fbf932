"""The service writes down each card it issues with the patient and the day, and a failing write costs no card."""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from pathlib import Path

import anyio
import pytest
from fastapi.testclient import TestClient

from cds_hooks.endpoints import CdsService
from cds_hooks.models import CdsResponse, HookRequest, ServiceDescriptor
from plugin.denials import card_ledger
from plugin.denials.card_ledger import CardLedger, IssuedCard
from plugin.serving.app import create_app
from plugin.serving.settings import Settings

REPO = Path(__file__).resolve().parents[3]
DAY = date(2026, 11, 27)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_each_card_issued_is_recorded_with_its_rule_patient_and_day(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    request = json.loads((REPO / "examples" / "order-sign-limit-exceeded.json").read_text())
    with TestClient(create_app(Settings(feedback_db=url), auth=False, today=lambda: DAY)) as service:
        [card] = service.post("/cds-services/epidural-order-sign", json=request).json()["cards"]
    ledger = CardLedger(url)
    try:
        assert ledger.issued(["Patient/p1"]) == [
            IssuedCard(card["uuid"], "epidural-order-sign", "frequency-limit-exceeded", "Patient/p1", DAY)
        ]
    finally:
        ledger.close()


def test_a_card_recorded_twice_is_stored_once(tmp_path: Path) -> None:
    ledger = CardLedger(f"sqlite:///{tmp_path / 'service.db'}")
    card = IssuedCard(
        "0b7f4c1e-0000-8000-8000-000000000001", "epidural-order-sign", "levels-exceeded", "Patient/p2", DAY
    )
    try:
        assert ledger.record([card]) == 1
        assert ledger.record([card]) == 0
    finally:
        ledger.close()


@pytest.mark.anyio
async def test_the_cards_are_returned_when_the_ledger_cannot_be_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = CardLedger(f"sqlite:///{tmp_path / 'service.db'}")
    ledger.close()
    (tmp_path / "service.db").unlink()
    (tmp_path / "service.db").mkdir()  # where the database was, a directory: every write now fails
    request = HookRequest.model_validate(json.loads((REPO / "examples" / "order-sign-limit-exceeded.json").read_text()))
    answer = CdsResponse.model_validate(
        {
            "cards": [
                {"summary": "s", "indicator": "info", "source": {"label": "l", "topic": {"code": "levels-exceeded"}}}
            ]
        }
    )

    async def handler(_: HookRequest) -> CdsResponse:
        return answer

    descriptor = ServiceDescriptor(id="epidural-order-sign", hook="order-sign", title="t", description="d")
    [recorded] = ledger.recording([CdsService(descriptor, handler)], lambda: DAY)
    with caplog.at_level(logging.DEBUG):
        assert await recorded.handler(request) is answer
        await ledger.drain()
    assert "cards issued not recorded" in caplog.text
    logged = [str(value) for record in caplog.records for value in record.__dict__.values()]
    assert not any("Patient/p1" in value for value in logged)  # no patient id in the logs


def _one_card_per_call(ledger: CardLedger) -> Callable[[], Awaitable[CdsResponse]]:
    """A hook call through the ledger's recording, answering one card numbered 1, 2, 3... per call."""
    card = {"summary": "s", "indicator": "info", "source": {"label": "l", "topic": {"code": "levels-exceeded"}}}
    uuids = (f"00000000-0000-4000-8000-{n:012d}" for n in itertools.count(1))

    async def handler(_: HookRequest) -> CdsResponse:
        return CdsResponse.model_validate({"cards": [{**card, "uuid": next(uuids)}]})

    descriptor = ServiceDescriptor(id="epidural-order-sign", hook="order-sign", title="t", description="d")
    [recorded] = ledger.recording([CdsService(descriptor, handler)], lambda: DAY)
    request = HookRequest.model_validate(json.loads((REPO / "examples" / "order-sign-limit-exceeded.json").read_text()))
    return lambda: recorded.handler(request)


def _writes(ledger: CardLedger, monkeypatch: pytest.MonkeyPatch, go: threading.Event | None = None) -> list[int]:
    """The number of cards in each write of the ledger, as it happens; with `go`, each write waits for it first."""
    written: list[int] = []
    record = ledger.record

    def watched_record(cards: Sequence[IssuedCard]) -> int:
        if go is not None:
            go.wait(timeout=5)
        written.append(len(cards))
        return record(cards)

    monkeypatch.setattr(ledger, "record", watched_record)
    return written


@pytest.mark.anyio
async def test_the_answer_does_not_wait_for_the_ledger_and_every_queued_card_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = CardLedger(f"sqlite:///{tmp_path / 'service.db'}")
    writing = threading.Event()  # held: a database busy with another writer
    written = _writes(ledger, monkeypatch, writing)
    call = _one_card_per_call(ledger)
    try:
        for _ in range(3):
            await call()
        assert written == []  # all three answered while the first write is still held
        writing.set()
        await ledger.drain()
        assert sum(written) == 3
        assert len(written) <= 2  # the cards queued while one write ran share the next transaction
        assert [card.card_uuid for card in ledger.issued(["Patient/p1"])] == [
            f"00000000-0000-4000-8000-{n:012d}" for n in (1, 2, 3)
        ]
    finally:
        ledger.close()


@pytest.mark.anyio
async def test_the_calls_of_a_busy_moment_share_one_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = CardLedger(f"sqlite:///{tmp_path / 'service.db'}")
    written = _writes(ledger, monkeypatch)
    call = _one_card_per_call(ledger)
    try:
        for _ in range(10):
            await call()
            await anyio.sleep(0.01)  # calls a few milliseconds apart, as on a busy worker
        assert written == []  # still lingering for more
        await ledger.drain()
        assert written == [10]
    finally:
        ledger.close()


@pytest.mark.anyio
async def test_the_calls_answered_during_a_write_wait_for_the_next_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(card_ledger, "LINGER_SECONDS", 0.2)
    ledger = CardLedger(f"sqlite:///{tmp_path / 'service.db'}")
    writing = threading.Event()
    written = _writes(ledger, monkeypatch, writing)
    call = _one_card_per_call(ledger)
    try:
        await call()
        await anyio.sleep(0.3)  # the first write has begun, and is held
        await call()
        await call()
        writing.set()
        await anyio.sleep(0.1)
        assert written == [1]  # the two calls answered meanwhile wait for the next interval, not written at once
        await ledger.drain()
        assert written == [1, 2]
    finally:
        ledger.close()

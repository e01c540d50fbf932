"""The feedback store: durable, idempotent under retries and races, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest

from plugin.storage.feedback import (
    FeedbackRecord,
    FeedbackStore,
    OverrideReasonCount,
    RuleOutcomeSummary,
)

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
REASON_SYSTEM = "http://example.org/CodeSystem/override-reason"

PROCESSES = 4
POSTS_PER_PROCESS = 100  # 400 posts in all, each carrying 2 records
KEY_SPACE = 250  # distinct feedback keys the posts draw from: every key is posted 3 to 4 times
ACKS_BEFORE_KILL = 40


def feedback(
    card_uuid: str,
    outcome: str = "accepted",
    *,
    at: datetime = T0,
    rule_id: str | None = "R1",
    reason_code: str | None = None,
    comment: str | None = None,
    suggestions: tuple[str, ...] = (),
) -> FeedbackRecord:
    return FeedbackRecord(
        service_id="epidural-order-check",
        card_uuid=card_uuid,
        outcome=outcome,  # type: ignore[arg-type]
        outcome_timestamp=at,
        accepted_suggestions=suggestions,
        override_reason_code=reason_code,
        override_reason_system=REASON_SYSTEM if reason_code else None,
        override_reason_display=f"Reason {reason_code}" if reason_code else None,
        user_comment=comment,
        rule_id=rule_id,
        received_at=T0 + timedelta(seconds=5),
    )


def keyed_feedback(key: int) -> FeedbackRecord:
    """Feedback number `key`: the same key always yields the same (card, outcome, timestamp)."""
    return feedback(
        f"card-{key // 2:04d}",
        "overridden" if key % 2 else "accepted",
        at=T0 + timedelta(minutes=key),
        reason_code="not-indicated" if key % 2 else None,
        rule_id=f"R{key % 3}",
    )


def post_keys(process: int, post: int) -> list[int]:
    """The keys of one post: processes start 50 keys apart, so they keep posting each other's feedback."""
    first = (process * 50 + post) % KEY_SPACE
    return [first, (first + KEY_SPACE // 2) % KEY_SPACE]


# ---------------------------------------------------------------------------- child processes (spawned)


def post_from_worker_process(url: str, process: int, start: Any, results: Any) -> None:
    """Open the store when every process is ready (racing on schema creation too), then make this
    process's posts from 4 threads, like the HTTP handler's worker threads; report the new-record total."""
    try:
        start.wait(timeout=60)
        with FeedbackStore(url) as store, ThreadPoolExecutor(max_workers=4) as threads:
            new = sum(
                threads.map(
                    lambda post: store.record([keyed_feedback(k) for k in post_keys(process, post)]),
                    range(POSTS_PER_PROCESS),
                )
            )
        results.put((process, new, None))
    except BaseException:
        results.put((process, None, traceback.format_exc()))  # for the parent's assertion message
        raise


def write_until_killed(url: str, acks: Connection) -> None:
    """Record one feedback per post, forever; after each `record` returns, acknowledge its card uuid."""
    store = FeedbackStore(url)
    n = 0
    while True:
        record = feedback(f"durable-{n:06d}", at=T0 + timedelta(seconds=n), comment="x" * 200)
        store.record([record])
        acks.send(record.card_uuid)
        n += 1


# ------------------------------------------------------------------------------------------------ tests


def test_recorded_feedback_reads_back_equal(store_url: str) -> None:
    record = feedback(
        "7d5a1c2e-0000-4000-8000-000000000001",
        "overridden",
        at=datetime(2026, 11, 27, 10, 0, 0, 123456, tzinfo=UTC),
        reason_code="patient-declined",
        comment="Patientin lehnt ab — ändern später",
        suggestions=("s-1", "s-2"),
    )
    with FeedbackStore(store_url) as store:
        assert store.record([record]) == 1
    with FeedbackStore(store_url) as reopened:
        assert reopened.fetch() == [record]


def test_retried_post_is_stored_once_and_reports_no_new_records(store_url: str) -> None:
    post = [feedback("card-a"), feedback("card-b", "overridden", reason_code="other")]
    with FeedbackStore(store_url) as store:
        assert store.record(post) == 2
        assert store.record(post) == 0
        assert store.count() == 2


def test_same_instant_in_another_utc_offset_is_a_duplicate(store_url: str) -> None:
    plus_one = timezone(timedelta(hours=1))
    with FeedbackStore(store_url) as store:
        assert store.record([feedback("card-a", at=T0)]) == 1
        assert store.record([feedback("card-a", at=T0.astimezone(plus_one))]) == 0
        assert store.count() == 1


def test_duplicates_within_one_post_count_once(store_url: str) -> None:
    with FeedbackStore(store_url) as store:
        assert store.record([feedback("card-a"), feedback("card-a"), feedback("card-b")]) == 2
        assert store.count() == 2


def test_concurrent_posts_from_four_processes_store_each_feedback_exactly_once(store_url: str) -> None:
    expected_keys = {k for p in range(PROCESSES) for post in range(POSTS_PER_PROCESS) for k in post_keys(p, post)}
    assert len(expected_keys) == KEY_SPACE
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    workers = [
        ctx.Process(target=post_from_worker_process, args=(store_url, p, start, results)) for p in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    try:
        reports = [results.get(timeout=90) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
                worker.join()
        results.close()
        results.join_thread()

    failures = [error for _, _, error in reports if error]
    assert not failures, "\n".join(failures)
    assert sum(new for _, new, _ in reports) == KEY_SPACE  # every key reported new by exactly one post
    with FeedbackStore(store_url) as store:
        assert store.count() == KEY_SPACE
        stored = {(r.card_uuid, r.outcome, r.outcome_timestamp) for r in store.fetch()}
    assert stored == {(r.card_uuid, r.outcome, r.outcome_timestamp) for r in map(keyed_feedback, expected_keys)}


def test_feedback_acknowledged_before_sigkill_survives(store_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    writer = ctx.Process(target=write_until_killed, args=(store_url, sender))
    writer.start()
    sender.close()
    acknowledged: list[str] = []
    try:
        while len(acknowledged) < ACKS_BEFORE_KILL:
            assert receiver.poll(60), "the writer process stopped acknowledging"
            acknowledged.append(receiver.recv())
        assert writer.pid is not None
        os.kill(writer.pid, signal.SIGKILL)  # most likely in the middle of its next transaction
        writer.join(timeout=30)
        while receiver.poll(0):  # acknowledgements sent before it died count as well
            try:
                acknowledged.append(receiver.recv())
            except EOFError:
                break
    finally:
        if writer.is_alive():
            writer.kill()
            writer.join()
        receiver.close()

    assert writer.exitcode == -signal.SIGKILL
    with FeedbackStore(store_url) as reopened:
        stored = {r.card_uuid for r in reopened.fetch()}
    assert set(acknowledged) <= stored
    assert len(stored) - len(acknowledged) <= 1  # at most the one committed between its ack and the kill


def test_report_counts_outcomes_and_override_rate_per_rule(store_url: str) -> None:
    records = [
        *(feedback(f"r1-accepted-{i}", rule_id="R1") for i in range(3)),
        feedback("r1-overridden", "overridden", rule_id="R1", reason_code="not-indicated"),
        feedback("r2-accepted", rule_id="R2"),
        *(feedback(f"r2-overridden-{i}", "overridden", rule_id="R2", reason_code="not-indicated") for i in range(2)),
        feedback("r2-overridden-2", "overridden", rule_id="R2", reason_code="patient-declined"),
        feedback("unattributed", "overridden", rule_id=None),
    ]
    with FeedbackStore(store_url) as store:
        store.record(records)
        report = store.report()

    not_indicated = OverrideReasonCount("not-indicated", REASON_SYSTEM, "Reason not-indicated", 1)
    assert report == [
        RuleOutcomeSummary("R1", accepted=3, overridden=1, override_rate=0.25, top_override_reasons=(not_indicated,)),
        RuleOutcomeSummary(
            "R2",
            accepted=1,
            overridden=3,
            override_rate=0.75,
            top_override_reasons=(
                OverrideReasonCount("not-indicated", REASON_SYSTEM, "Reason not-indicated", 2),
                OverrideReasonCount("patient-declined", REASON_SYSTEM, "Reason patient-declined", 1),
            ),
        ),
        RuleOutcomeSummary(None, accepted=0, overridden=1, override_rate=1.0, top_override_reasons=()),
    ]


def test_report_ranks_override_reasons_by_frequency_then_code(store_url: str) -> None:
    counts = {"rare": 1, "most": 4, "tie-b": 2, "tie-a": 2}
    records = [
        feedback(f"{code}-{i}", "overridden", reason_code=code) for code, n in counts.items() for i in range(n)
    ] + [feedback("uncoded", "overridden")]
    with FeedbackStore(store_url) as store:
        store.record(records)
        (summary,) = store.report(top_reasons=3)

    assert [(r.code, r.count) for r in summary.top_override_reasons] == [("most", 4), ("tie-a", 2), ("tie-b", 2)]
    assert summary.overridden == 10


def test_sql_is_not_logged_by_default(store_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with FeedbackStore(store_url) as store:
        store.record([feedback("card-a", "accepted")])
    assert "INSERT" not in caplog.text


def test_user_comment_never_reaches_the_logs(store_url: str, caplog: pytest.LogCaptureFixture) -> None:
    secret = "PHI-7f3a: patient disclosed private history"
    caplog.set_level(logging.DEBUG)
    # An operator turning SQL logging all the way up for this store's engine.
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine.Engine.feedback")
    with FeedbackStore(store_url) as store:
        record = feedback("card-a", "overridden", reason_code="other", comment=secret)
        store.record([record])
        store.record([record])
        store.fetch()
    logging.getLogger("test").info("record: %r", record)

    assert "INSERT" in caplog.text  # the SQL itself was logged ...
    assert secret not in caplog.text  # ... but neither its parameters nor the record's repr show the comment


@pytest.mark.parametrize(
    "url",
    [
        "mysql://user:s3cr3t@localhost/feedback",
        "postgresql+psycopg2://user:s3cr3t@localhost/feedback",
        "https://example.org/feedback",
        "feedback.db",
        "sqlite://",
        "sqlite:///:memory:",
    ],
)
def test_unsupported_url_is_rejected_with_a_clear_message(url: str) -> None:
    with pytest.raises(ValueError, match=r"feedback_db") as raised:
        FeedbackStore(url)
    assert "s3cr3t" not in str(raised.value)  # credentials are not echoed


def test_naive_timestamp_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        feedback("card-a", at=datetime(2026, 11, 27, 10, 0))


def test_sqlite_parent_directory_is_created(tmp_path: Path) -> None:
    database = tmp_path / "var" / "lib" / "epidural-cds" / "feedback.db"
    with FeedbackStore(f"sqlite:///{database}") as store:
        assert store.record([feedback("card-a")]) == 1
    assert database.is_file()
    assert database.stat().st_mode & 0o077 == 0  # feedback may hold PHI: owner-only


def test_timestamp_before_the_first_utc_instant_is_refused() -> None:
    early = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    with pytest.raises(ValueError, match="out of range"):
        feedback("card-a", "accepted", at=early)

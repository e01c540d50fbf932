"""Soak test: the real service under steady mixed load, then SIGTERM with requests in flight.

    .venv/bin/python -m bench.soak [--seconds 60] [--concurrency 8] [--workers 2] [--port P]

Starts `epidural-cds serve --no-auth --workers N` on 127.0.0.1 with a fresh SQLite feedback store, sends the shipped
example hooks (examples/*.json) and feedback posts for cards it was given, at a steady concurrency, for `--seconds`.
It reports requests served, errors, latency percentiles, the workers' RSS at start, middle and end, and feedback
records acknowledged vs stored. Then it starts a burst of hook calls that wait on a slow loopback FHIR server,
sends SIGTERM while they are in flight, and checks every one of them is answered (graceful shutdown).

Exit status 0 only when there was no error, no feedback record was lost, memory stayed flat, and the shutdown was
graceful. All traffic stays on 127.0.0.1, and every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.processes import free_port, proc_status, worker_pids
from plugin.storage.feedback import FeedbackStore

ROOT = Path(__file__).resolve().parents[1]
FEEDBACK_SHARE = 0.2  # one call in five is a feedback post
BURST_FHIR_DELAY = 1.0  # seconds the slow FHIR server holds each search, so the burst is in flight at SIGTERM
STARTUP_SECONDS = 90.0
MIB = 1024 * 1024


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    error_samples: list[str] = field(default_factory=list)
    feedback_acknowledged: int = 0
    card_uuids: list[str] = field(default_factory=list)

    def error(self, kind: str, what: str) -> None:
        self.errors[kind] += 1
        if len(self.error_samples) < 10:
            self.error_samples.append(f"{kind}: {what}")


@dataclass(frozen=True)
class Hook:
    name: str
    service_id: str
    body: dict[str, Any]


def _examples() -> list[Hook]:
    hooks = []
    for path in sorted((ROOT / "examples").glob("*.json")):
        body = json.loads(path.read_text("utf-8"))
        body.pop("fhirServer", None)  # everything is prefetched: the steady load never leaves the machine
        hooks.append(Hook(path.stem, f"epidural-{body['hook']}", body))
    return hooks


def _rss_bytes(pid: int) -> int | None:
    kilobytes = proc_status(pid).get("VmRSS")
    return None if kilobytes is None else kilobytes * 1024


def _feedback_body(card: str, serial: int) -> dict[str, Any]:
    # A distinct timestamp per post: the store keeps one record per (card, outcome, timestamp).
    moment = datetime(2026, 11, 27, tzinfo=UTC) + timedelta(microseconds=serial)
    item: dict[str, Any] = {"card": card, "outcome": "overridden", "outcomeTimestamp": moment.isoformat()}
    if serial % 2:
        item["overrideReason"] = {"reason": {"code": "medical-necessity", "display": "Documented medical necessity"}}
    else:
        item["outcome"] = "accepted"
    return {"feedback": [item]}


class Soak:
    def __init__(self, arguments: argparse.Namespace, workdir: Path) -> None:
        self.arguments = arguments
        self.port = arguments.port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.feedback_url = f"sqlite:///{workdir / 'feedback.db'}"
        self.log_path = workdir / "service.log"
        self.hooks = _examples()
        self.tally = Tally()
        self.feedback_serial = itertools.count(1)
        self.server: subprocess.Popen[bytes] | None = None
        self.rss: dict[str, dict[int, int | None]] = {}
        self.problems: list[str] = []

    # -- the service

    def start_service(self) -> None:
        command = shutil.which("epidural-cds", path=str(Path(sys.executable).parent)) or shutil.which("epidural-cds")
        if command is None:
            raise SystemExit("soak: epidural-cds is not installed in this environment (make setup)")
        environment = {**os.environ, "EPIDURAL_CDS_FEEDBACK_DB": self.feedback_url}
        where = ["--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.arguments.workers)]
        with self.log_path.open("wb") as log:
            self.server = subprocess.Popen(
                [command, "serve", "--no-auth", *where],
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def wait_until_ready(self, client: httpx.AsyncClient) -> None:
        assert self.server is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise SystemExit(f"soak: the service exited during start-up\n{self._log_tail()}")
            try:
                if (await client.get("/readyz")).status_code == 200 and self._all_workers_up():
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
        raise SystemExit(f"soak: the service was not ready within {STARTUP_SECONDS:.0f} s\n{self._log_tail()}")

    def _all_workers_up(self) -> bool:
        assert self.server is not None
        return len(worker_pids(self.server.pid)) == int(self.arguments.workers)

    def measure_rss(self, moment: str) -> None:
        assert self.server is not None
        self.rss[moment] = {pid: _rss_bytes(pid) for pid in worker_pids(self.server.pid)}

    def stop_service(self) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait(timeout=10)

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text("utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # -- steady load

    async def call_hook(self, client: httpx.AsyncClient, hook: Hook, kind: str | None = None) -> None:
        kind = kind or hook.name
        started = time.perf_counter()
        try:
            response = await client.post(f"/cds-services/{hook.service_id}", json=hook.body)
        except httpx.HTTPError as error:
            self.tally.error(kind, type(error).__name__)
            return
        self.tally.latencies[kind].append(time.perf_counter() - started)
        if response.status_code != 200:
            self.tally.error(kind, f"HTTP {response.status_code}: {response.text[:200]}")
            return
        cards = response.json().get("cards")
        if not isinstance(cards, list):
            self.tally.error(kind, "no cards array")
            return
        self.tally.card_uuids.extend(card["uuid"] for card in cards[:2])
        del self.tally.card_uuids[:-1000]

    async def post_feedback(self, client: httpx.AsyncClient) -> None:
        hook = random.choice(self.hooks)
        card = random.choice(self.tally.card_uuids) if self.tally.card_uuids else str(uuid.uuid4())
        started = time.perf_counter()
        try:
            response = await client.post(
                f"/cds-services/{hook.service_id}/feedback", json=_feedback_body(card, next(self.feedback_serial))
            )
        except httpx.HTTPError as error:
            self.tally.error("feedback", type(error).__name__)
            return
        self.tally.latencies["feedback"].append(time.perf_counter() - started)
        if response.status_code == 200:
            self.tally.feedback_acknowledged += 1
        else:
            self.tally.error("feedback", f"HTTP {response.status_code}: {response.text[:200]}")

    async def steady_load(self, client: httpx.AsyncClient) -> None:
        seconds = self.arguments.seconds
        ends = time.monotonic() + seconds
        middle = time.monotonic() + seconds / 2

        async def caller(seed: int) -> None:
            chooser = random.Random(seed)
            while time.monotonic() < ends:
                if chooser.random() < FEEDBACK_SHARE:
                    await self.post_feedback(client)
                else:
                    await self.call_hook(client, chooser.choice(self.hooks))

        async def middle_measure() -> None:
            await asyncio.sleep(max(0.0, middle - time.monotonic()))
            self.measure_rss("middle")

        await asyncio.gather(middle_measure(), *(caller(seed) for seed in range(self.arguments.concurrency)))
        self.measure_rss("end")

    # -- graceful shutdown

    async def shutdown_with_requests_in_flight(self, client: httpx.AsyncClient) -> dict[str, Any]:
        """A burst of hook calls held by a slow FHIR server; SIGTERM once the service is working on all of them."""
        assert self.server is not None
        arrived = 0
        all_arrived = asyncio.Event()
        burst = max(4, self.arguments.concurrency)

        async def slow_fhir(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal arrived
            try:
                await reader.readuntil(b"\r\n\r\n")
                arrived += 1
                if arrived >= burst:
                    all_arrived.set()
                await asyncio.sleep(BURST_FHIR_DELAY)
                body = json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": []}).encode()
                head = f"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\nContent-Length: {len(body)}\r\n"
                writer.write(head.encode() + b"Connection: close\r\n\r\n" + body)
                await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        fhir = await asyncio.start_server(slow_fhir, "127.0.0.1", 0)
        fhir_port = fhir.sockets[0].getsockname()[1]
        template = next(hook for hook in self.hooks if hook.service_id == "epidural-order-sign")
        body = {**template.body, "fhirServer": f"http://127.0.0.1:{fhir_port}/fhir"}
        body["prefetch"] = {key: value for key, value in template.body["prefetch"].items() if key != "conditions"}
        held = Hook("in flight at SIGTERM", template.service_id, body)
        errors_before = sum(self.tally.errors.values())
        acknowledged_before = self.tally.feedback_acknowledged
        try:
            calls = [asyncio.create_task(self.call_hook(client, held, held.name)) for _ in range(burst)]
            try:
                await asyncio.wait_for(all_arrived.wait(), timeout=15)
            except TimeoutError:
                self.problems.append(f"only {arrived} of {burst} burst requests reached the FHIR server")
            # Feedback posts sent in the same instant as the signal must be answered and stored too.
            feedback = [asyncio.create_task(self.post_feedback(client)) for _ in range(4)]
            signalled = time.monotonic()
            self.server.send_signal(signal.SIGTERM)
            await asyncio.gather(*calls, *feedback)
            try:
                exit_code = await asyncio.to_thread(self.server.wait, 30)
            except subprocess.TimeoutExpired:
                exit_code = None
                self.problems.append("the service did not exit within 30 s of SIGTERM")
            stopped_after = time.monotonic() - signalled
        finally:
            fhir.close()
            await fhir.wait_closed()
        return {
            "in flight": burst,
            "answered": len(self.tally.latencies[held.name]),
            "errors": sum(self.tally.errors.values()) - errors_before,
            "feedback acknowledged": self.tally.feedback_acknowledged - acknowledged_before,
            "exit code": exit_code,
            "stopped after s": round(stopped_after, 2),
        }

    # -- the run

    async def run(self) -> dict[str, Any]:
        self.start_service()
        limits = httpx.Limits(max_connections=self.arguments.concurrency + 16)
        timeout = httpx.Timeout(30.0)
        async with httpx.AsyncClient(base_url=self.base, limits=limits, timeout=timeout, trust_env=False) as client:
            await self.wait_until_ready(client)
            await asyncio.sleep(1.0)  # let both workers settle after start-up before the first RSS reading
            self.measure_rss("start")
            started = time.monotonic()
            await self.steady_load(client)
            elapsed = time.monotonic() - started
            shutdown = await self.shutdown_with_requests_in_flight(client)
        with FeedbackStore(self.feedback_url) as store:
            stored = store.count()
        return {"elapsed": elapsed, "shutdown": shutdown, "stored": stored}


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _report(soak: Soak, outcome: dict[str, Any]) -> bool:
    tally, arguments = soak.tally, soak.arguments
    kinds = sorted(tally.latencies.keys() | tally.errors.keys())
    every = [latency for kind in kinds for latency in tally.latencies[kind]]
    served = len(every)
    errors = sum(tally.errors.values())
    print(
        f"\nsoak: {outcome['elapsed']:.0f} s steady load, concurrency {arguments.concurrency}, "
        f"{arguments.workers} workers, 127.0.0.1:{soak.port}"
    )
    print(f"\n{'requests':<30}{'served':>9}{'errors':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for kind, latencies in [*((kind, tally.latencies[kind]) for kind in kinds), ("all", every)]:
        failed = errors if kind == "all" else tally.errors[kind]
        if latencies:
            cells = "".join(f"{_percentile(latencies, q) * 1000:>9.1f}" for q in (0.5, 0.9, 0.99, 1.0))
        else:
            cells = f"{'-':>9}" * 4
        print(f"{kind:<30}{len(latencies):>9}{failed:>8}{cells}")
    shutdown = outcome["shutdown"]
    steady = served - shutdown["answered"] - shutdown["feedback acknowledged"]
    print(f"\nsteady throughput: {steady / max(outcome['elapsed'], 1e-9):.0f} requests/s")

    print(f"\n{'worker RSS (MiB)':<30}{'start':>9}{'middle':>9}{'end':>9}{'growth':>9}")
    start, middle, end = (soak.rss.get(moment, {}) for moment in ("start", "middle", "end"))
    rss_ok = bool(start) and set(start) == set(middle) == set(end)
    if not rss_ok:
        soak.problems.append(f"worker processes changed during the run: {sorted(start)} → {sorted(end)}")
    for pid in sorted(start):
        readings = [start.get(pid), middle.get(pid), end.get(pid)]
        cells = "".join(f"{value / MIB:>9.1f}" if value else f"{'-':>9}" for value in readings)
        growth = (readings[2] or 0) - (readings[1] or 0)
        print(f"{'pid ' + str(pid):<30}{cells}{growth / MIB:>+9.1f}")
        if growth > arguments.max_rss_growth_mb * MIB:
            soak.problems.append(f"worker {pid} grew {growth / MIB:.1f} MiB between the middle and the end")

    stored, acknowledged = outcome["stored"], tally.feedback_acknowledged
    print(f"\nfeedback records: acknowledged {acknowledged}, stored {stored}, lost {acknowledged - stored}")
    if stored != acknowledged:
        soak.problems.append(f"feedback: {acknowledged} acknowledged but {stored} stored")

    print("graceful shutdown: " + ", ".join(f"{key} {value}" for key, value in shutdown.items()))
    if shutdown["answered"] != shutdown["in flight"]:
        soak.problems.append(f"{shutdown['in flight'] - shutdown['answered']} in-flight request(s) were dropped")
    if shutdown["exit code"] != 0:
        soak.problems.append(f"the service exited with {shutdown['exit code']} after SIGTERM")
    if errors:
        soak.problems.append(f"{errors} request(s) failed: " + "; ".join(tally.error_samples))
    if served == 0:
        soak.problems.append("no request was served")

    for problem in soak.problems:
        print(f"FAIL: {problem}")
    print("result: " + ("FAIL" if soak.problems else "PASS"))
    return not soak.problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the steady load (default 60)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight at once (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (default 2)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument(
        "--max-rss-growth-mb", type=float, default=64.0, help="allowed RSS growth per worker, middle to end"
    )
    arguments = parser.parse_args(argv)
    if not 1 <= arguments.seconds <= 3600 or not 1 <= arguments.concurrency <= 256:
        parser.error("--seconds must be within 1..3600 and --concurrency within 1..256")
    with tempfile.TemporaryDirectory(prefix="epidural-cds-soak-") as workdir:
        soak = Soak(arguments, Path(workdir))
        try:
            outcome = asyncio.run(soak.run())
        finally:
            soak.stop_service()
        passed = _report(soak, outcome)
        if not passed:
            print("\nservice log (last lines):\n" + soak._log_tail())
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())

"""The shipped service as an operator runs it: several workers sharing keep-alive load, slow clients cut off,
metrics summed over the workers, and a worker that starts while its PostgreSQL is down."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from bench.processes import free_port, worker_pids
from tests.integration.local_process import REPO_ROOT, running_process
from tests.integration.service_process import SERVICE_COMMAND

pytestmark = pytest.mark.integration

EXAMPLE = REPO_ROOT / "examples" / "order-sign.json"
ORDER_SIGN = "/cds-services/epidural-order-sign"
POSTGRES_SCRIPT = REPO_ROOT / "scripts" / "postgres"


def _environment(**settings: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("EPIDURAL_CDS_")}
    env.update({f"EPIDURAL_CDS_{name.upper()}": value for name, value in settings.items()})
    return env


def _serve(stack: ExitStack, port: int, workers: int, ready: str = "/readyz", **settings: str) -> Path:
    """Start `epidural-cds serve --no-auth` and return its scratch directory (output.log is its log)."""
    settings.setdefault("feedback_db", f"sqlite:///{tempfile.mkdtemp(prefix='epidural-cds-db-')}/feedback.db")
    command = [str(SERVICE_COMMAND), "serve", "--no-auth", "--port", str(port), "--workers", str(workers)]
    return stack.enter_context(
        running_process(
            "epidural-cds", command, f"http://127.0.0.1:{port}{ready}", timeout=90, env=_environment(**settings)
        )
    )


def _supervisor_pid(port: int) -> int:
    for entry in Path("/proc").iterdir():
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in arguments and str(port).encode() in arguments:
            return int(entry.name)
    raise AssertionError(f"no service process for port {port}")


def _sockets(pid: int) -> set[str]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:"):
            found.add(target)
    return found


def test_keep_alive_connections_are_spread_over_every_worker() -> None:
    port = free_port()
    with ExitStack() as stack:
        _serve(stack, port, workers=2)
        workers = worker_pids(_supervisor_pid(port))
        assert len(workers) == 2
        before = {pid: _sockets(pid) for pid in workers}
        clients = [stack.enter_context(httpx.Client(trust_env=False, timeout=30)) for _ in range(16)]
        for client in clients:  # one kept-alive connection each, as an EHR keeps them
            assert client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        opened = {pid: len(_sockets(pid) - before[pid]) for pid in workers}
    # The kernel hashes each connection to one worker's socket: all 16 on one worker would be a 1 in 32,768 chance.
    assert all(count > 0 for count in opened.values()), opened
    assert sum(opened.values()) >= 16


def test_a_worker_that_dies_is_replaced_and_the_service_keeps_answering() -> None:
    port = free_port()
    with ExitStack() as stack:
        _serve(stack, port, workers=2)
        supervisor = _supervisor_pid(port)
        killed, survivor = worker_pids(supervisor)
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 60  # a bound on the wait, not an assertion on time
        while (workers := worker_pids(supervisor)) == [survivor] or killed in workers:
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        answers = [httpx.get(f"http://127.0.0.1:{port}/healthz", trust_env=False).status_code for _ in range(8)]
    assert killed not in workers
    assert len(workers) == 2
    assert answers == [200] * 8


def _raw_exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):  # the service closes the connection after its 408
            answer += chunk
    return answer


def test_a_half_sent_request_is_answered_408_and_closed() -> None:
    port = free_port()
    with ExitStack() as stack:
        _serve(stack, port, workers=1, header_timeout_seconds="1", body_timeout_seconds="1")
        headers_only = _raw_exchange(port, b"POST " + ORDER_SIGN.encode() + b" HTTP/1.1\r\nHost: cds\r\n")
        half_body = _raw_exchange(
            port,
            b"POST " + ORDER_SIGN.encode() + b" HTTP/1.1\r\nHost: cds\r\nContent-Type: application/json\r\n"
            b"Content-Length: 5000\r\n\r\n" + EXAMPLE.read_bytes()[:100],
        )
        # The service still answers whole requests.
        assert httpx.post(f"http://127.0.0.1:{port}{ORDER_SIGN}", content=EXAMPLE.read_bytes()).status_code == 200
    for answer in (headers_only, half_body):
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"connection: close" in head.lower()
        assert json.loads(body)["issue"][0]["code"] == "timeout"


def _metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    selector = f"{{{wanted}}}" if labels else ""
    pattern = re.compile(rf"^{re.escape(name + selector)} (\S+)$", re.MULTILINE)
    match = pattern.search(text)
    return float(match.group(1)) if match else 0.0


def test_metrics_count_every_workers_answers_without_a_token() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with ExitStack() as stack:
        _serve(stack, port, workers=2)
        calls = 12
        for _ in range(calls):  # a fresh connection each, so both workers answer some
            assert httpx.post(base + ORDER_SIGN, content=EXAMPLE.read_bytes(), trust_env=False).status_code == 200
        assert httpx.post(base + "/cds-services/no-such-service", content=b"{}", trust_env=False).status_code == 404
        feedback = {"feedback": [{"card": "a1b2", "outcome": "accepted", "outcomeTimestamp": "2026-11-27T10:00:00Z"}]}
        assert httpx.post(base + ORDER_SIGN + "/feedback", json=feedback, trust_env=False).status_code == 200
        scrapes = [httpx.get(base + "/metrics", trust_env=False) for _ in range(4)]
    for scrape in scrapes:
        assert scrape.status_code == 200
        assert scrape.headers["content-type"].startswith("text/plain")
        text = scrape.text
        count = "epidural_cds_request_duration_seconds_count"
        assert _metric(text, count, endpoint="hook", service="epidural-order-sign", status="200") == calls
        assert _metric(text, count, endpoint="hook", service="unknown", status="404") == 1
        assert _metric(text, "epidural_cds_feedback_writes_total", outcome="stored") == 1
        assert _metric(text, "epidural_cds_feedback_items_stored_total") == 1
        assert "no-such-service" not in text


@pytest.fixture
def stopped_postgres() -> Iterator[tuple[str, Path]]:
    """A PostgreSQL cluster created, then stopped: (its URL, its directory for scripts/postgres start)."""
    cluster = Path(tempfile.mkdtemp(prefix="epidural-cds-pg-"))
    port = free_port()
    started = subprocess.run(
        [str(POSTGRES_SCRIPT), "start", str(cluster), str(port)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 0, started.stderr
    subprocess.run([str(POSTGRES_SCRIPT), "stop", str(cluster)], check=True, capture_output=True, timeout=60)
    try:
        yield started.stdout.strip(), cluster
    finally:
        subprocess.run([str(POSTGRES_SCRIPT), "stop", str(cluster)], check=False, capture_output=True, timeout=60)
        shutil.rmtree(cluster, ignore_errors=True)


def test_a_worker_started_while_postgresql_is_down_is_not_ready_until_it_comes_back(
    stopped_postgres: tuple[str, Path],
) -> None:
    url, cluster = stopped_postgres
    postgres_port = url.rsplit(":", 1)[1].split("/")[0]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    feedback = {"feedback": [{"card": "c3d4", "outcome": "accepted", "outcomeTimestamp": "2026-11-27T10:00:00Z"}]}
    with ExitStack() as stack:
        scratch = _serve(stack, port, workers=2, ready="/healthz", feedback_db=url)
        down = httpx.get(base + "/readyz", trust_env=False)
        stored_while_down = httpx.post(base + ORDER_SIGN + "/feedback", json=feedback, trust_env=False)
        restart = [str(POSTGRES_SCRIPT), "start", str(cluster), postgres_port]
        subprocess.run(restart, check=True, capture_output=True, timeout=120)
        deadline = time.monotonic() + 30  # a bound on the wait, not an assertion on time
        while (ready := httpx.get(base + "/readyz", trust_env=False)).status_code != 200:
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        stored_after = httpx.post(base + ORDER_SIGN + "/feedback", json=feedback, trust_env=False)
        log = (scratch / "output.log").read_text()
    assert down.status_code == 503
    assert down.json()["issue"][0]["diagnostics"] == "the service database is unavailable"
    assert stored_while_down.status_code == 503
    assert ready.status_code == 200
    assert stored_after.status_code == 200
    # Every log line is one JSON object: no plain-text tracebacks (the --no-auth banner aside, written before).
    lines = [line for line in log.splitlines() if line and not line.startswith("!!")]
    for line in lines:
        json.loads(line)
    assert "Traceback" not in log

"""The benchmark: the real service process under load on loopback, against the floor of its own stack.

Run through `bench/run` (which installs wrk); see bench/README.md for what each section measures and why.
Every server it starts listens on 127.0.0.1 only and is stopped by process group when its section ends; every loop
is bounded by a duration or a count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from bench.patients import order_sign_request
from bench.processes import LOOPBACK, cpu_seconds, free_port, proc_status, worker_pids

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
VENV_BIN = ROOT / ".venv" / "bin"
ORDER_SIGN = "/cds-services/epidural-order-sign"
FLOOR = "/healthz"
BODY_FLOOR = "body floor"  # bench/floor_app.py: the same stack, receiving the same body and checking it is JSON
SCALE_SIZES = (100, 1_000, 10_000)
FHIR_DELAY = 0.05
FHIR_PAGE_SIZE = 20


@dataclass(frozen=True)
class Mode:
    name: str
    load_seconds: int
    warmup_seconds: int
    scale_repeats: int
    fetch_repeats: int
    startup_repeats: int
    inprocess_repeats: int


QUICK = Mode(
    "quick", load_seconds=1, warmup_seconds=1, scale_repeats=2, fetch_repeats=5, startup_repeats=1, inprocess_repeats=3
)
FULL = Mode(
    "full", load_seconds=10, warmup_seconds=2, scale_repeats=5, fetch_repeats=20, startup_repeats=3, inprocess_repeats=7
)


@dataclass(frozen=True)
class Load:
    """One wrk run: requests per second and latency percentiles in milliseconds."""

    requests: int
    rps: float
    p50: float
    p95: float
    p99: float
    errors: int


@dataclass
class Results:
    mode: Mode
    started: datetime
    load: dict[tuple[int, str, int], Load] = field(default_factory=dict)  # (workers, endpoint, concurrency)
    worker_cpu: dict[tuple[int, str, int], list[float]] = field(default_factory=dict)  # same keys → CPU-s per worker
    jwt: dict[str, Load] = field(default_factory=dict)  # "off" / "on" → order-sign, 1 worker, c=1
    startup: dict[int, list[float]] = field(default_factory=dict)  # workers → seconds to first order-sign answer
    startup_cpu: dict[int, list[float]] = field(default_factory=dict)  # workers → CPU seconds used by then
    memory: dict[int, dict[str, int]] = field(default_factory=dict)  # workers → process role → VmHWM kB
    scale: list[dict[str, Any]] = field(default_factory=list)
    inprocess: list[dict[str, Any]] = field(default_factory=list)
    fetch: dict[str, Any] = field(default_factory=dict)
    realistic_bytes: int = 0
    load_average: tuple[str, str] = ("", "")


# Without TCP_NODELAY, httpx writes a request's headers and body separately and the body's tail waits ~40 ms for a
# delayed ACK: a stall of the load generator, not of the service.
_NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


def http_client(timeout: float) -> httpx.Client:
    return httpx.Client(timeout=timeout, transport=httpx.HTTPTransport(socket_options=_NODELAY))


class Service:
    """A server process in its own process group on a free loopback port: by default `epidural-cds serve --no-auth`
    as shipped (`config`: with that configuration file instead of `--no-auth`); `app` serves another ASGI app of the
    bench exactly as the service is served (bench/serve_app.py)."""

    def __init__(
        self, workers: int, workdir: Path, src: Path | None, app: str | None = None, config: Path | None = None
    ) -> None:
        self.workers = workers
        self.config = config
        self.port = free_port()
        self.base = f"http://{LOOPBACK}:{self.port}"
        self._workdir = workdir
        self._src = src
        self._app = app
        self._process: subprocess.Popen[bytes] | None = None
        self.spawned_at = 0.0
        self.startup_cpu = 0.0  # CPU seconds of all its processes at the first answer

    def _command(self) -> list[str]:
        where = ["--host", LOOPBACK, "--port", str(self.port), "--workers", str(self.workers)]
        if self._app is not None:
            return [str(VENV_BIN / "python"), "-m", "bench.serve_app", self._app, str(self.port), str(self.workers)]
        auth = ["--config", str(self.config)] if self.config is not None else ["--no-auth"]
        # `python -m plugin`, not the console script: the script names this checkout's module path for `main`, which
        # a `--src` checkout from before plugin/ was grouped by role does not have.
        return [str(VENV_BIN / "python"), "-m", "plugin", "serve", *auth, *where]

    def start(self) -> None:
        env = {**os.environ, "EPIDURAL_CDS_FEEDBACK_DB": f"sqlite:///{self._workdir / 'fb.db'}"}
        env.pop("EPIDURAL_CDS_CONFIG", None)
        if self._src is not None:
            env["PYTHONPATH"] = str(self._src)
        if self._app is not None:
            env["PYTHONPATH"] = str(ROOT)
        log = (self._workdir / f"service-{self.port}.log").open("wb")
        self.spawned_at = time.perf_counter()
        self._process = subprocess.Popen(
            self._command(), env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self._workdir, start_new_session=True
        )
        log.close()

    def first_answer(self, body: bytes, timeout: float = 30.0, headers: dict[str, str] | None = None) -> float:
        """Seconds from spawning the process to its first 200 answer to an order-sign call (connects every 5 ms)."""
        assert self._process is not None
        deadline = time.perf_counter() + timeout
        with http_client(10) as client:
            while time.perf_counter() < deadline:
                if self._process.poll() is not None:
                    raise RuntimeError(f"the service exited ({self._process.returncode}); see {self._workdir}")
                try:
                    response = client.post(
                        self.base + ORDER_SIGN,
                        content=body,
                        headers={"Content-Type": "application/json", **(headers or {})},
                    )
                except httpx.TransportError:
                    time.sleep(0.005)
                    continue
                if response.status_code != 200:
                    raise RuntimeError(f"order-sign answered {response.status_code}: {response.text[:300]}")
                elapsed = time.perf_counter() - self.spawned_at
                pids = [self._process.pid, *worker_pids(self._process.pid)]
                self.startup_cpu = sum(cpu_seconds(pid) for pid in pids)
                return elapsed
        raise RuntimeError(f"the service did not answer within {timeout} s")

    def worker_pids(self) -> list[int]:
        assert self._process is not None
        return worker_pids(self._process.pid) if self.workers > 1 else [self._process.pid]

    def worker_cpu(self) -> list[float]:
        return [cpu_seconds(pid) for pid in self.worker_pids()]

    def memory(self) -> dict[str, int]:
        """Peak RSS (kB) of each worker, and of the supervisor when there is one."""
        assert self._process is not None
        roles = {f"worker {n + 1}": proc_status(pid)["VmHWM"] for n, pid in enumerate(self.worker_pids())}
        if self.workers > 1:
            roles["supervisor"] = proc_status(self._process.pid)["VmHWM"]
        return roles

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=10)


@contextmanager
def running(
    workers: int, workdir: Path, src: Path | None, body: bytes, app: str | None = None
) -> Iterator[tuple[Service, float]]:
    service = Service(workers, workdir, src, app)
    service.start()
    try:
        yield service, service.first_answer(body)
    finally:
        service.stop()


def wrk(
    url: str, connections: int, seconds: int, body_file: Path | None = None, tokens_file: Path | None = None
) -> Load:
    env = {**os.environ, "BENCH_BODY": str(body_file) if body_file else "", "BENCH_TOKENS": str(tokens_file or "")}
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(BENCH / "wrk.lua"), url]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next((row for row in completed.stdout.splitlines() if row.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    raw = json.loads(line.removeprefix("BENCH "))
    errors = sum(raw[key] for key in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts"))
    return Load(
        requests=raw["requests"],
        rps=raw["requests"] / (raw["duration_us"] / 1e6),
        p50=raw["p50"] / 1000,
        p95=raw["p95"] / 1000,
        p99=raw["p99"] / 1000,
        errors=errors,
    )


def measure_load(results: Results, workdir: Path, src: Path | None, realistic: Path, body: bytes) -> None:
    mode = results.mode
    for workers in (1, 2):
        with running(workers, workdir, src, body) as (service, first):
            results.startup.setdefault(workers, []).append(first)
            results.startup_cpu.setdefault(workers, []).append(service.startup_cpu)
            for endpoint, body_file in ((FLOOR, None), (ORDER_SIGN, realistic)):
                for connections in (1, 32):
                    url = service.base + endpoint
                    wrk(url, connections, mode.warmup_seconds, body_file)
                    cpu_before = service.worker_cpu()
                    load = wrk(url, connections, mode.load_seconds, body_file)
                    cpu_after = service.worker_cpu()
                    results.load[(workers, endpoint, connections)] = load
                    results.worker_cpu[(workers, endpoint, connections)] = [
                        after - before for before, after in zip(cpu_before, cpu_after, strict=True)
                    ]
                    progress(
                        f"  {workers} worker(s) {endpoint} c={connections}: {load.rps:,.0f} req/s, "
                        f"p50 {load.p50:.2f} ms"
                    )
            results.memory[workers] = service.memory()
        with running(workers, workdir, src, body, app="bench.floor_app:app") as (service, _):
            for connections in (1, 32):
                url = service.base + ORDER_SIGN
                wrk(url, connections, mode.warmup_seconds, realistic)
                cpu_before = service.worker_cpu()
                load = wrk(url, connections, mode.load_seconds, realistic)
                cpu_after = service.worker_cpu()
                results.load[(workers, BODY_FLOOR, connections)] = load
                results.worker_cpu[(workers, BODY_FLOOR, connections)] = [
                    after - before for before, after in zip(cpu_before, cpu_after, strict=True)
                ]
                progress(
                    f"  {workers} worker(s) body floor c={connections}: {load.rps:,.0f} req/s, p50 {load.p50:.2f} ms"
                )
    for _ in range(mode.startup_repeats - 1):
        for workers in (1, 2):
            with running(workers, workdir, src, body) as (service, first):
                results.startup[workers].append(first)
                results.startup_cpu[workers].append(service.startup_cpu)


def measure_scale(results: Results, workdir: Path, src: Path | None, bodies: dict[int, bytes], body: bytes) -> None:
    for size, scaled in bodies.items():
        with running(1, workdir, src, body) as (service, _):
            before = service.memory()["worker 1"]
            timings = []
            with http_client(60) as client:
                for _ in range(results.mode.scale_repeats):
                    started = time.perf_counter()
                    response = client.post(
                        service.base + ORDER_SIGN, content=scaled, headers={"Content-Type": "application/json"}
                    )
                    timings.append(time.perf_counter() - started)
                    response.raise_for_status()
            after = service.memory()["worker 1"]
        results.scale.append(
            {
                "procedures": size,
                "body_mb": len(scaled) / 1e6,
                "latency_ms": statistics.median(timings) * 1000,
                "best_ms": min(timings) * 1000,
                "hwm_before_mb": before / 1024,
                "hwm_after_mb": after / 1024,
            }
        )
        progress(f"  {size:,} procedures: {statistics.median(timings) * 1000:,.1f} ms, peak RSS {after / 1024:.0f} MB")


def measure_inprocess(results: Results, src: Path | None) -> None:
    for size in (60, *SCALE_SIZES):
        completed = subprocess.run(
            [
                str(VENV_BIN / "python"),
                "-m",
                "bench.inprocess",
                "--procedures",
                str(size),
                "--repeats",
                str(results.mode.inprocess_repeats),
                *(["--src", str(src)] if src is not None else []),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        row = json.loads(completed.stdout.strip().splitlines()[-1])
        results.inprocess.append(row)
        progress(
            f"  {size:,} procedures: handled in {row['handle_ms']:.2f} ms, json.loads {row['json_loads_ms']:.2f} ms"
        )


async def _chain(client: httpx.AsyncClient, url: str) -> tuple[float, int]:
    """Seconds to fetch a search and every next page, one after the other; and the number of pages."""
    started = time.perf_counter()
    pages = 0
    next_url: str | None = url
    while next_url is not None and pages < 50:
        response = await client.get(next_url)
        response.raise_for_status()
        pages += 1
        links = response.json().get("link", [])
        next_url = next((link["url"] for link in links if link.get("relation") == "next"), None)
    return time.perf_counter() - started, pages


# Requests per second one connection cannot exceed here, to size the token files (a token is used once).
_MAX_SEQUENTIAL_RPS = 1500


def measure_jwt(results: Results, workdir: Path, src: Path | None, realistic: Path, body: bytes) -> None:
    """order-sign at c=1 on one worker, without and then with JWT checks (inline ES256 key, seen ids in SQLite)."""
    mode = results.mode
    with running(1, workdir, src, body) as (service, _):
        wrk(service.base + ORDER_SIGN, 1, mode.warmup_seconds, realistic)
        results.jwt["off"] = wrk(service.base + ORDER_SIGN, 1, mode.load_seconds, realistic)
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "bench", "use": "sig"}
    service = Service(1, workdir, src, config=workdir / "auth.toml")
    url = service.base + ORDER_SIGN
    assert service.config is not None
    service.config.write_text(
        f'public_base_url = {json.dumps(service.base)}\n\n[[trusted_clients]]\nissuer = "https://ehr.bench"\n\n'
        "[[trusted_clients.jwks.keys]]\n" + "".join(f"{name} = {json.dumps(value)}\n" for name, value in jwk.items())
    )

    def tokens(count: int) -> list[str]:
        now = int(time.time())
        return [
            jwt.encode(
                {"iss": "https://ehr.bench", "aud": url, "exp": now + 600, "iat": now, "jti": os.urandom(12).hex()},
                key,
                algorithm="ES256",
                headers={"kid": "bench", "typ": "JWT"},
            )
            for _ in range(count)
        ]

    warmup, measured = workdir / "tokens-warmup.txt", workdir / "tokens.txt"
    warmup.write_text("\n".join(tokens(_MAX_SEQUENTIAL_RPS * mode.warmup_seconds)) + "\n")
    measured.write_text("\n".join(tokens(_MAX_SEQUENTIAL_RPS * mode.load_seconds)) + "\n")
    service.start()
    try:
        service.first_answer(body, headers={"Authorization": f"Bearer {tokens(1)[0]}"})
        wrk(url, 1, mode.warmup_seconds, realistic, warmup)
        results.jwt["on"] = wrk(url, 1, mode.load_seconds, realistic, measured)
    finally:
        service.stop()
    progress(
        f"  JWT off p50 {results.jwt['off'].p50:.2f} ms, on p50 {results.jwt['on'].p50:.2f} ms "
        f"({results.jwt['on'].errors} errors)"
    )


def measure_fetch(results: Results, workdir: Path, src: Path | None, body: bytes) -> None:
    port = free_port()
    fhir_base = f"http://{LOOPBACK}:{port}/fhir"
    log = (workdir / "slow-fhir.log").open("wb")
    server = subprocess.Popen(
        [
            str(VENV_BIN / "python"),
            "-m",
            "bench.slow_fhir",
            "--port",
            str(port),
            "--delay",
            str(FHIR_DELAY),
            "--page-size",
            str(FHIR_PAGE_SIZE),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    try:
        with http_client(10) as client:
            for _ in range(1000):
                try:
                    client.get(f"http://{LOOPBACK}:{port}/_stats")
                    break
                except httpx.TransportError:
                    time.sleep(0.01)
        patient = "bench-patient-1"
        queries = {
            "procedures": f"Procedure?patient={patient}&_count=100",
            "conditions": f"Condition?patient={patient}&_count=100",
            "imagingStudies": f"ImagingStudy?patient={patient}&_count=100",
            "coverage": f"Coverage?patient={patient}&_count=100",
            "appointments": f"Appointment?patient={patient}&_include=Appointment%3Abased-on&_count=100",
        }

        async def chains() -> dict[str, tuple[float, int]]:
            async with httpx.AsyncClient(
                timeout=10, transport=httpx.AsyncHTTPTransport(socket_options=_NODELAY)
            ) as client:
                measured: dict[str, list[tuple[float, int]]] = {key: [] for key in queries}
                for _ in range(3):
                    for key, query in queries.items():
                        measured[key].append(await _chain(client, f"{fhir_base}/{query}"))
                return {key: min(runs) for key, runs in measured.items()}

        chain = asyncio.run(chains())
        request = orjson.dumps(order_sign_request(date.today(), prefetch=False, fhir_server=fhir_base))
        with running(1, workdir, src, body) as (service, _), http_client(30) as client:
            served_before = client.get(f"http://{LOOPBACK}:{port}/_stats").json()["requests"]
            timings = []
            for _ in range(results.mode.fetch_repeats):
                started = time.perf_counter()
                response = client.post(
                    service.base + ORDER_SIGN, content=request, headers={"Content-Type": "application/json"}
                )
                timings.append(time.perf_counter() - started)
                response.raise_for_status()
            served = client.get(f"http://{LOOPBACK}:{port}/_stats").json()["requests"] - served_before
            cards = [card["source"]["topic"]["code"] for card in response.json()["cards"]]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    results.fetch = {
        "chains_ms": {key: seconds * 1000 for key, (seconds, _) in chain.items()},
        "pages": {key: pages for key, (_, pages) in chain.items()},
        "requests_per_call": served / results.mode.fetch_repeats,
        "latency_ms": statistics.median(timings) * 1000,
        "p95_ms": sorted(timings)[max(0, int(len(timings) * 0.95) - 1)] * 1000,
        "cards": cards,
    }
    progress(
        f"  no prefetch: {results.fetch['latency_ms']:.1f} ms; slowest chain "
        f"{max(results.fetch['chains_ms'].values()):.1f} ms"
    )


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------- report


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def machine() -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    versions = []
    for package in ("fastapi", "starlette", "uvicorn", "pydantic", "msgspec", "orjson", "httpx"):
        try:
            versions.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            versions.append(f"{package} ?")
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; RAM {memory_kb / 1024 / 1024:.1f} GiB",
        f"- OS: {platform.platform()}; Python {platform.python_version()}",
        f"- {', '.join(versions)}",
        f"- Load generator: {(wrk_version.stdout or wrk_version.stderr).splitlines()[0].split(' [')[0]}, "
        "1 thread, on the same cores as the service",
        f"- Code: commit {commit or '?'}{' with uncommitted changes' if dirty else ''}",
    ]


def report(results: Results) -> tuple[str, str]:
    """(console table, RESULTS.md text)."""
    load = results.load
    floor1, order1 = load[(1, FLOOR, 1)], load[(1, ORDER_SIGN, 1)]
    floor32w2, order32w2 = load[(2, FLOOR, 32)], load[(2, ORDER_SIGN, 32)]
    lines: list[str] = []

    lines += ["## 1-2. Floor and order-sign with full prefetch", ""]
    lines += [
        f"Realistic patient: 2 draft orders, 60 Procedures, 20 Conditions, 10 ImagingStudies, 2 Coverages, "
        f"5 Appointments (+1 included ServiceRequest); request body {results.realistic_bytes / 1024:.0f} KiB. "
        f"Each run {results.mode.load_seconds} s after a {results.mode.warmup_seconds} s warm-up.",
        "",
    ]
    names = {FLOOR: "floor: GET /healthz", BODY_FLOOR: "body floor: POST, JSON check only", ORDER_SIGN: "order-sign"}
    rows = []
    for workers in (1, 2):
        for connections in (1, 32):
            floor = load[(workers, FLOOR, connections)]
            for endpoint in (FLOOR, BODY_FLOOR, ORDER_SIGN):
                run = load.get((workers, endpoint, connections))
                if run is None:
                    continue
                versus = endpoint != FLOOR
                rows.append(
                    [
                        names[endpoint],
                        str(workers),
                        str(connections),
                        f"{run.rps:,.0f}",
                        f"{run.p50:.2f}",
                        f"{run.p95:.2f}",
                        f"{run.p99:.2f}",
                        f"{run.p50 / floor.p50:.1f}× / {run.p99 / floor.p99:.1f}×" if versus else "",
                        f"{run.rps / floor.rps:.0%}" if versus else "",
                        str(run.errors),
                    ]
                )
    lines += _table(
        [
            "endpoint",
            "workers",
            "concurrency",
            "req/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "p50 / p99 vs floor",
            "req/s vs floor",
            "errors",
        ],
        rows,
    )
    lines += [
        "",
        "The body floor is bench/floor_app.py on the same stack (uvicorn, FastAPI, CORS middleware): it receives the "
        "same order-sign body, checks it is a JSON object (msgspec, values left raw, as the service leaves its "
        "prefetch) and answers an empty card list. It is the least any endpoint taking this body can cost here.",
        "",
    ]

    lines += ["", "## 3. Scale: procedure history size (1 worker, fresh process per size)", ""]
    rows = []
    inproc = {row["procedures"]: row for row in results.inprocess}
    for row in results.scale:
        size = row["procedures"]
        measured = inproc.get(size, {})
        rows.append(
            [
                f"{size:,}",
                f"{row['body_mb']:.1f}",
                f"{row['latency_ms']:,.1f}",
                f"{row['latency_ms'] * 1000 / size:.0f}",
                f"{measured.get('handle_ms', 0):,.1f}",
                f"{measured.get('json_loads_ms', 0):,.1f}",
                f"{row['hwm_before_mb']:.0f} → {row['hwm_after_mb']:.0f}",
            ]
        )
    lines += _table(
        [
            "procedures",
            "body MB",
            "HTTP latency ms (median)",
            "µs per procedure",
            "in-process handling ms",
            "json.loads ms",
            "worker peak RSS MB (idle → after)",
        ],
        rows,
    )
    lines += [
        "",
        "In-process breakdown (best of "
        f"{results.mode.inprocess_repeats}, ms): the endpoint's steps on the same body, in one process.",
        "",
    ]
    rows = [
        [
            f"{row['procedures']:,}",
            f"{row['json_loads_ms']:.2f}",
            f"{row['orjson_loads_ms']:.2f}",
            f"{row['hook_request_ms']:.3f}",
            f"{row['read_record_ms']:.2f}",
            f"{row['rules_and_cards_ms']:.2f}",
            f"{row['serialise_ms']:.3f}",
            f"{row['handle_ms']:.2f}",
            f"{row['handle_ms'] / row['json_loads_ms']:.1f}×",
        ]
        for row in results.inprocess
    ]
    lines += _table(
        [
            "procedures",
            "json.loads",
            "orjson.loads",
            "HookRequest from the body",
            "readers (read_record)",
            "rules + cards",
            "serialise",
            "whole path",
            "whole path / json.loads",
        ],
        rows,
    )

    fetch = results.fetch
    slowest = max(fetch["chains_ms"].values())
    lines += [
        "",
        f"## 4. FHIR fetch path (no prefetch; server adds {FHIR_DELAY * 1000:.0f} ms per request, "
        f"pages of {FHIR_PAGE_SIZE})",
        "",
    ]
    lines += _table(
        ["query", "pages", "sequential chain ms"],
        [[key, str(fetch["pages"][key]), f"{ms:.1f}"] for key, ms in fetch["chains_ms"].items()],
    )
    lines += [
        "",
        f"order-sign without prefetch: median {fetch['latency_ms']:.1f} ms, p95 {fetch['p95_ms']:.1f} ms "
        f"over {results.mode.fetch_repeats} calls; {fetch['requests_per_call']:.0f} FHIR requests per call; "
        f"slowest chain {slowest:.1f} ms, all chains one after another "
        f"{sum(fetch['chains_ms'].values()):.1f} ms; cards: {', '.join(fetch['cards']) or 'none'}.",
    ]

    lines += ["", "## 5. Start-up and memory", ""]
    rows = []
    for workers, seconds in sorted(results.startup.items()):
        memory = results.memory.get(workers, {})
        rows.append(
            [
                str(workers),
                ", ".join(f"{s:.2f}" for s in seconds),
                ", ".join(f"{s:.2f}" for s in results.startup_cpu.get(workers, [])),
                ", ".join(f"{role} {kb / 1024:.0f}" for role, kb in memory.items()),
            ]
        )
    lines += _table(
        [
            "workers",
            "spawn → first order-sign answer, s",
            "CPU used by then (all processes), s",
            "peak RSS after the load runs, MB",
        ],
        rows,
    )

    lines += ["", "## 6. Load spread over 2 workers (keep-alive connections, CPU-s used by each during the run)", ""]
    lines += [
        "Each worker listens on its own SO_REUSEPORT socket (plugin/serving/server.py), the body floor is served the "
        "same way (bench/serve_app.py). With uvicorn's single shared socket, one worker took all keep-alive "
        "connections.",
        "",
    ]
    rows = []
    for (workers, endpoint, connections), seconds in sorted(results.worker_cpu.items()):
        if workers == 2:
            share = min(seconds) / sum(seconds) if sum(seconds) else 0.0
            label = names.get(endpoint, endpoint)
            rows.append([f"{label} c={connections}", " / ".join(f"{s:.2f}" for s in seconds), f"{share:.0%}"])
    lines += _table(["run", "CPU-s per worker", "least-loaded worker's share"], rows)

    jwt_off, jwt_on = results.jwt.get("off"), results.jwt.get("on")
    if jwt_off is not None and jwt_on is not None:
        lines += ["", "## 7. JWT overhead (order-sign, 1 worker, c=1, a fresh ES256 token per call)", ""]
        lines += _table(
            ["JWT checks", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"],
            [
                [name, f"{run.rps:,.0f}", f"{run.p50:.2f}", f"{run.p95:.2f}", f"{run.p99:.2f}", str(run.errors)]
                for name, run in (("off (--no-auth)", jwt_off), ("on (seen ids in SQLite)", jwt_on))
            ],
        )

    worker_peak = (
        max(kb for memory in results.memory.values() for role, kb in memory.items() if role.startswith("worker")) / 1024
    )
    ten_k = next((row for row in results.scale if row["procedures"] == 10_000), None)
    ten_k_in = inproc.get(10_000)
    body1, body32w2 = load[(1, BODY_FLOOR, 1)], load[(2, BODY_FLOOR, 32)]
    targets = [
        ("order-sign p50 ≤ 5× body floor (c=1)", f"{order1.p50 / body1.p50:.1f}×", order1.p50 <= 5 * body1.p50),
        ("order-sign p99 ≤ 5× body floor (c=1)", f"{order1.p99 / body1.p99:.1f}×", order1.p99 <= 5 * body1.p99),
        (
            "order-sign req/s ≥ 20% of body floor (c=32, 2 workers)",
            f"{order32w2.rps / body32w2.rps:.0%}",
            order32w2.rps >= 0.2 * body32w2.rps,
        ),
    ]
    spread = results.worker_cpu.get((2, ORDER_SIGN, 32))
    if spread and sum(spread):
        share = min(spread) / sum(spread)
        targets.append(("2 workers share order-sign c=32 (each ≥ 35% of CPU-s)", f"{share:.0%}", share >= 0.35))
    if jwt_off is not None and jwt_on is not None:
        overhead = jwt_on.p50 - jwt_off.p50
        targets.append(("JWT overhead < 1 ms p50 (c=1)", f"{overhead:.2f} ms", overhead < 1 and jwt_on.errors == 0))
    if ten_k and ten_k_in:
        loads = ten_k_in["json_loads_ms"]
        targets += [
            (
                "10k procedures < 10× json.loads (in-process)",
                f"{ten_k_in['handle_ms'] / loads:.1f}×",
                ten_k_in["handle_ms"] < 10 * loads,
            ),
            (
                "10k procedures < 10× json.loads (over HTTP)",
                f"{ten_k['latency_ms'] / loads:.1f}×",
                ten_k["latency_ms"] < 10 * loads,
            ),
        ]
    targets += [
        (
            "FHIR fetch path < 1.5× slowest chain",
            f"{fetch['latency_ms'] / slowest:.2f}×",
            fetch["latency_ms"] < 1.5 * slowest,
        ),
        *(
            (
                f"start-up < 2 s ({workers} worker{'s' if workers > 1 else ''}, slowest)",
                f"{max(runs):.2f} s",
                max(runs) < 2,
            )
            for workers, runs in sorted(results.startup.items())
        ),
        ("RSS per worker < 150 MB", f"{worker_peak:.0f} MB", worker_peak < 150),
    ]
    summary = _table(["target", "measured", "verdict"], [[name, value, _verdict(ok)] for name, value, ok in targets])
    summary += [
        "",
        "Against the bodiless floor (GET /healthz), for reference: order-sign "
        f"p50 {order1.p50 / floor1.p50:.1f}×, p99 {order1.p99 / floor1.p99:.1f}× (c=1); "
        f"throughput {order32w2.rps / floor32w2.rps:.0%} (c=32, 2 workers). "
        f"The body floor alone is {body1.p50 / floor1.p50:.1f}× the floor's p50 and "
        f"{body32w2.rps / floor32w2.rps:.0%} of its throughput.",
    ]

    console = "\n".join(["", "# Targets", *summary, "", *lines])
    document = "\n".join(
        [
            "# Benchmark results",
            "",
            f"Written by `bench/run{' --quick' if results.mode is QUICK else ''}` on "
            f"{results.started.strftime('%Y-%m-%d %H:%M UTC')} ({results.mode.name} mode). What each section measures "
            "and how: [bench/README.md](README.md).",
            "",
            *machine(),
            f"- Load average (1/5/15 min) before → after: {results.load_average[0]} → {results.load_average[1]} "
            "(other work on the machine skews absolute numbers; ratios are taken within one run)",
            "",
            "## Targets",
            "",
            *summary,
            "",
            *lines,
            "",
        ]
    )
    return console, document


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description="Benchmark the epidural-cds service.")
    parser.add_argument("--quick", action="store_true", help="short runs (under a minute)")
    parser.add_argument("--output", type=Path, default=BENCH / "RESULTS.md", help="where to write the results")
    parser.add_argument("--src", type=Path, help="measure another checkout's packages (put first on PYTHONPATH)")
    arguments = parser.parse_args(argv)
    mode = QUICK if arguments.quick else FULL
    src = arguments.src.resolve() if arguments.src else None
    results = Results(mode=mode, started=datetime.now(UTC))
    results.load_average = (" / ".join(Path("/proc/loadavg").read_text().split()[:3]), "")
    started = time.perf_counter()
    today = date.today()
    with tempfile.TemporaryDirectory(prefix="epidural-cds-bench-") as temporary:
        workdir = Path(temporary)
        body = orjson.dumps(order_sign_request(today))
        results.realistic_bytes = len(body)
        realistic = workdir / "order-sign.json"
        realistic.write_bytes(body)
        progress(f"bench ({mode.name}): floor and order-sign under load")
        measure_load(results, workdir, src, realistic, body)
        progress("bench: JWT overhead")
        measure_jwt(results, workdir, src, realistic, body)
        progress("bench: FHIR fetch path")
        measure_fetch(results, workdir, src, body)
        progress("bench: scale")
        measure_scale(results, workdir, src, {n: orjson.dumps(order_sign_request(today, n)) for n in SCALE_SIZES}, body)
        progress("bench: in-process")
        measure_inprocess(results, src)
    results.load_average = (results.load_average[0], " / ".join(Path("/proc/loadavg").read_text().split()[:3]))
    console, document = report(results)
    arguments.output.write_text(document, encoding="utf-8")
    print(console)
    print(f"\nwritten to {arguments.output} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

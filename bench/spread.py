"""How two workers share keep-alive load, one shared socket against a socket per worker:
python -m bench.spread [--connections N] [--seconds S].

Serves the body floor (bench/floor_app.py) with 2 workers twice, under `uvicorn --workers 2` (one socket, shared) and
through `plugin.serving.server` (bench/serve_app.py, a SO_REUSEPORT socket per worker), runs wrk with keep-alive
connections posting the order-sign body, and prints the CPU-seconds each worker used during the run.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import httpx
import orjson

from bench.patients import order_sign_request
from bench.processes import LOOPBACK, cpu_seconds, free_port, worker_pids

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
PATH = "/cds-services/epidural-order-sign"
_QUIET = ("--no-access-log", "--log-level", "warning")


def _cpu_per_worker(command: list[str], port: int, body: Path, connections: int, seconds: int) -> list[float]:
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.post(f"http://{LOOPBACK}:{port}{PATH}", content=body.read_bytes(), trust_env=False).is_success:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        workers = worker_pids(server.pid)
        before = [cpu_seconds(pid) for pid in workers]
        script, url = str(ROOT / "bench" / "wrk.lua"), f"http://{LOOPBACK}:{port}{PATH}"
        subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script, url],
            env={**os.environ, "BENCH_BODY": str(body)},
            capture_output=True,
            check=True,
            timeout=seconds + 60,
        )
        return [cpu_seconds(pid) - start for pid, start in zip(workers, before, strict=True)]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.spread", description=__doc__)
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections (default: %(default)s)")
    parser.add_argument("--seconds", type=int, default=5, help="length of the run (default: %(default)s)")
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="epidural-cds-spread-") as scratch:
        body = Path(scratch) / "order-sign.json"
        body.write_bytes(orjson.dumps(order_sign_request(date.today())))
        shared, own = free_port(), free_port()
        servings = {
            "uvicorn --workers 2, one shared socket": (
                [str(VENV_BIN / "uvicorn"), "bench.floor_app:app", "--port", str(shared), "--workers", "2", *_QUIET],
                shared,
            ),
            "plugin.serving.server, a SO_REUSEPORT socket per worker": (
                [str(VENV_BIN / "python"), "-m", "bench.serve_app", "bench.floor_app:app", str(own), "2"],
                own,
            ),
        }
        for name, (command, port) in servings.items():
            cpu = _cpu_per_worker(command, port, body, arguments.connections, arguments.seconds)
            print(f"{name}: CPU-s per worker {' / '.join(f'{seconds:.2f}' for seconds in cpu)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

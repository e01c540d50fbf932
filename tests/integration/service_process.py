"""Run the service as a real process (`epidural-cds serve --no-auth`) on a free loopback port, for integration tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
# The console script of the environment running the tests (the repo's .venv in CI).
SERVICE_COMMAND = Path(sys.executable).parent / "epidural-cds"


class ServiceError(RuntimeError):
    """The service process did not become ready."""


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_ready(process: subprocess.Popen[bytes], base_url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ServiceError(f"the service exited with {process.returncode}:\n{log.read_text(errors='replace')}")
            try:
                if client.get(f"{base_url}/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise ServiceError(f"the service was not ready after {timeout:.0f} s:\n{log.read_text(errors='replace')}")


@contextmanager
def running_service(environment: Mapping[str, str], timeout: float = 60.0) -> Iterator[str]:
    """The service's base URL (``http://127.0.0.1:<port>``), with `environment` added to a clean one."""
    port = _free_loopback_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {name: value for name, value in os.environ.items() if not name.startswith("EPIDURAL_CDS_")}
    env.update(environment)
    with tempfile.TemporaryDirectory(prefix="epidural-cds-service-") as tmp:
        log = Path(tmp) / "service.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [str(SERVICE_COMMAND), "serve", "--no-auth", "--port", str(port)],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_until_ready(process, base_url, log, timeout)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

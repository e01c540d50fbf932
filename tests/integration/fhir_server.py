"""Start a throwaway local FHIR R4 server (``scripts/fhir-server``) for integration tests."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_SCRIPT = REPO_ROOT / "scripts" / "fhir-server"


class FhirServerError(RuntimeError):
    """The local FHIR server did not start."""


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_ready(proc: subprocess.Popen[bytes], base_url: str, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    # trust_env=False: never route loopback traffic through a proxy from the environment.
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise FhirServerError(
                    f"FHIR server exited with code {proc.returncode} before it was ready; output:\n"
                    + log_path.read_text(errors="replace")
                )
            try:
                if client.get(f"{base_url}/metadata").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise FhirServerError(
        f"FHIR server at {base_url} not ready after {timeout:.0f} s; output:\n" + log_path.read_text(errors="replace")
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def running_fhir_server(timeout: float = 30.0) -> Iterator[str]:
    """Run a FHIR server with an empty database on a free loopback port; yield its base URL.

    The base URL has the form ``http://127.0.0.1:<port>/fhir`` (no trailing slash).
    """
    with tempfile.TemporaryDirectory(prefix="fhir-server-") as tmp:
        port = _free_loopback_port()
        base_url = f"http://127.0.0.1:{port}/fhir"
        log_path = Path(tmp) / "server.log"
        # Output goes to a file, not a pipe: an unread pipe fills up and blocks the server.
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [
                    str(SERVER_SCRIPT),
                    "start",
                    "--port",
                    str(port),
                    "--data-dir",
                    str(Path(tmp) / "data"),
                ],
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_until_ready(proc, base_url, log_path, timeout)
            yield base_url
        finally:
            _stop(proc)

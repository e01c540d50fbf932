"""A server started as a real process on a free loopback port, waited for until it answers, and stopped."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]


class ProcessNotReady(RuntimeError):
    """The server exited or did not answer in time; the message carries its output."""


@contextmanager
def running_process(
    name: str,
    command: Sequence[str],
    ready_url: str,
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    workdir: Path | None = None,
) -> Iterator[Path]:
    """Run `command` until `ready_url` answers 200; yield a scratch directory that lives as long as the process."""
    with tempfile.TemporaryDirectory(prefix=f"{name}-") as scratch:
        log_path = Path(scratch) / "output.log"
        # Output goes to a file, not a pipe: an unread pipe fills up and blocks the server.
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [part.replace("{scratch}", scratch) for part in command],
                cwd=workdir or REPO_ROOT,
                env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_until_ready(name, process, ready_url, log_path, timeout)
            yield Path(scratch)
        finally:
            _stop(process)


def _wait_until_ready(name: str, process: subprocess.Popen[bytes], url: str, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    # trust_env=False: never route loopback traffic through a proxy from the environment.
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ProcessNotReady(
                    f"{name} exited with code {process.returncode} before it was ready; output:\n"
                    + log_path.read_text(errors="replace")
                )
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise ProcessNotReady(
        f"{name} at {url} not ready after {timeout:.0f} s; output:\n" + log_path.read_text(errors="replace")
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

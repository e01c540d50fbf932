"""Run the service as a real process (`epidural-cds serve --no-auth`) on a free loopback port, for integration tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from bench.processes import free_port
from tests.integration.local_process import running_process

# The console script of the environment running the tests (the repo's .venv in CI).
SERVICE_COMMAND = Path(sys.executable).parent / "epidural-cds"


@contextmanager
def running_service(environment: Mapping[str, str], timeout: float = 60.0) -> Iterator[str]:
    """The service's base URL (``http://127.0.0.1:<port>``), with `environment` added to a clean one."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {name: value for name, value in os.environ.items() if not name.startswith("EPIDURAL_CDS_")}
    env.update(environment)
    command = [str(SERVICE_COMMAND), "serve", "--no-auth", "--port", str(port)]
    with running_process("epidural-cds", command, f"{base_url}/readyz", timeout=timeout, env=env):
        yield base_url

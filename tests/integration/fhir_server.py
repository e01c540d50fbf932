"""Start a throwaway local FHIR R4 server (``scripts/fhir-server``) for integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bench.processes import free_port
from tests.integration.local_process import REPO_ROOT, running_process

SERVER_SCRIPT = REPO_ROOT / "scripts" / "fhir-server"


@contextmanager
def running_fhir_server(timeout: float = 30.0) -> Iterator[str]:
    """Run a FHIR server with an empty database on a free loopback port; yield its base URL.

    The base URL has the form ``http://127.0.0.1:<port>/fhir`` (no trailing slash).
    """
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/fhir"
    command = [str(SERVER_SCRIPT), "start", "--port", str(port), "--data-dir", "{scratch}/data"]
    with running_process("fhir-server", command, f"{base_url}/metadata", timeout=timeout):
        yield base_url

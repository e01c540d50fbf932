"""Start a throwaway local FHIR R4 server (``scripts/fhir-server``) for integration tests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx
import orjson

from bench.processes import free_port
from plugin.sandbox.loader import transaction_bundle
from plugin.sandbox.resources import EXAMPLE_PATIENT
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


def owned_by(resource: Mapping[str, Any], patient: str) -> dict[str, Any]:
    """A builder's resource (made for the example patient) moved to `patient`, its id made unique to it, so several
    test patients share one server."""
    text = orjson.dumps(resource).decode().replace(f"Patient/{EXAMPLE_PATIENT}", f"Patient/{patient}")
    moved: dict[str, Any] = orjson.loads(text)
    moved["id"] = f"{patient}-{resource['id']}"
    return moved


def load_resources(base_url: str, resources: Iterable[Mapping[str, Any]]) -> None:
    """PUT `resources` in one transaction, as the sandbox loads its scenarios."""
    with httpx.Client(trust_env=False, timeout=30.0) as client:
        response = client.post(
            base_url, json=transaction_bundle(resources), headers={"Content-Type": "application/fhir+json"}
        )
    assert response.status_code == 200, response.text

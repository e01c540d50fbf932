"""Loading scenarios into a FHIR R4 server: one transaction Bundle of PUTs per scenario.

PUT with client-assigned ids makes a load idempotent: loading again replaces each resource (and moves its dates to
the new today) instead of adding copies. Each Bundle is validated with the R4B models before it leaves, so nothing
malformed is written to somebody's public server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from plugin.sandbox.resources import valid
from plugin.sandbox.scenarios import Scenario

FHIR_JSON = "application/fhir+json"


class LoadFailed(Exception):
    """The server did not accept a scenario; the message says what it answered."""


def transaction_bundle(resources: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": resource,
                "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"},
            }
            for resource in resources
        ],
    }
    return valid(bundle)


def fhir_headers(token: str | None) -> dict[str, str]:
    headers = {"Accept": FHIR_JSON}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def load(client: httpx.Client, fhir_server: str, scenario: Scenario, token: str | None = None) -> int:
    """Write `scenario`'s resources to `fhir_server`; returns how many entries the server confirmed."""
    try:
        response = client.post(
            fhir_server.rstrip("/"),
            json=transaction_bundle(scenario.resources),
            headers={**fhir_headers(token), "Content-Type": FHIR_JSON},
        )
    except httpx.HTTPError as error:
        raise LoadFailed(f"cannot reach {fhir_server}: {type(error).__name__}") from None
    body = _json_or_none(response)
    if response.status_code != 200 or not isinstance(body, dict) or body.get("type") != "transaction-response":
        problem = describe_problem(body)
        raise LoadFailed(
            f"{scenario.name}: the server answered {response.status_code}" + (f": {problem}" if problem else "")
        )
    entries = body.get("entry")
    return len(entries) if isinstance(entries, list) else 0


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def describe_problem(body: Any) -> str:
    """The OperationOutcome's first diagnostics or details, if the answer is one."""
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return ""
    for issue in body.get("issue") or []:
        if isinstance(issue, dict):
            text = issue.get("diagnostics") or (issue.get("details") or {}).get("text")
            if text:
                return str(text)
    return ""

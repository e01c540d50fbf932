"""A FHIR server that fails (401, 500, malformed JSON, too slow): the real service still answers within its budget.

Required data (procedure history) failing is a 412 OperationOutcome; optional data failing is a 200 whose
`data-incomplete` card says what was skipped. Nothing is prefetched, so every read goes to the failing server.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from plugin.sandbox.runner import hook_request
from plugin.sandbox.scenarios import Hook, build_scenarios
from tests.integration.fault_server import Fault, FaultServer, Scope
from tests.integration.service_process import running_service

pytestmark = pytest.mark.integration

BUDGET_SECONDS = 1.0
# Loopback round trips and the service's own work on top of the FHIR budget.
LEEWAY_SECONDS = 1.0
CLEAN = next(s for s in build_scenarios(date.today()) if s.name == "clean")


@pytest.fixture(scope="module")
def service_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = tmp_path_factory.mktemp("feedback") / "fb.db"
    environment = {
        "EPIDURAL_CDS_FHIR_BUDGET_SECONDS": str(BUDGET_SECONDS),
        "EPIDURAL_CDS_FEEDBACK_DB": f"sqlite:///{store}",
    }
    with running_service(environment) as url:
        yield url


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServer]:
    with FaultServer(slow_seconds=10 * BUDGET_SECONDS) as server:
        yield server


def sign(service_url: str, fhir_server: str) -> tuple[httpx.Response, float]:
    """order-sign for the clean scenario's order, with the record only at `fhir_server`; and the time it took."""
    request = hook_request(Hook.ORDER_SIGN, CLEAN.patient_id, fhir_server, scenario=CLEAN)
    started = time.perf_counter()
    with httpx.Client(trust_env=False, timeout=30.0) as client:
        response = client.post(f"{service_url}/cds-services/epidural-order-sign", json=request)
    return response, time.perf_counter() - started


def cards_of(response: httpx.Response) -> dict[str, Any]:
    return {card["source"]["topic"]["code"]: card for card in response.json()["cards"]}


@pytest.mark.parametrize("fault", list(Fault))
def test_required_data_failing_is_a_412_operation_outcome_within_the_budget(
    service_url: str, fault_server: FaultServer, fault: Fault
) -> None:
    response, elapsed = sign(service_url, fault_server.base_url(fault, Scope.EVERYTHING))
    assert response.status_code == 412
    assert response.json()["resourceType"] == "OperationOutcome"
    assert elapsed < BUDGET_SECONDS + LEEWAY_SECONDS


@pytest.mark.parametrize("fault", list(Fault))
def test_optional_data_failing_answers_with_a_data_incomplete_card_within_the_budget(
    service_url: str, fault_server: FaultServer, fault: Fault
) -> None:
    response, elapsed = sign(service_url, fault_server.base_url(fault, Scope.OPTIONAL))
    assert response.status_code == 200
    incomplete = cards_of(response)["data-incomplete"]
    assert "could not be read" in incomplete["detail"]
    assert elapsed < BUDGET_SECONDS + LEEWAY_SECONDS


def test_a_slow_server_is_waited_for_until_the_budget_and_no_longer(
    service_url: str, fault_server: FaultServer
) -> None:
    response, elapsed = sign(service_url, fault_server.base_url(Fault.SLOW, Scope.OPTIONAL))
    assert response.status_code == 200
    assert "time budget" in cards_of(response)["data-incomplete"]["detail"]
    assert 0.8 * BUDGET_SECONDS <= elapsed < BUDGET_SECONDS + LEEWAY_SECONDS

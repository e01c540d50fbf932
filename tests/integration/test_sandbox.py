"""Every scenario through a real FHIR server and the service as a real process, nothing prefetched.

The scenarios are loaded with `epidural-cds sandbox load`; the service reads each record itself from the FHIR server
in pages of two, following `next` links, and must give exactly the cards each scenario expects.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from plugin.command_line.main import main
from plugin.sandbox.runner import Prefetch, Service, compare, discover, run_hook
from plugin.sandbox.scenarios import Hook, Scenario, build_scenarios
from tests.integration.service_process import running_service

pytestmark = pytest.mark.integration

SCENARIOS = {scenario.name: scenario for scenario in build_scenarios(date.today())}
CASES = [
    pytest.param(name, hook, id=f"{name}-{hook}") for name, scenario in SCENARIOS.items() for hook in scenario.hooks
]


@pytest.fixture(scope="module")
def fhir_server(fhir_base_url: str) -> str:
    """The session's FHIR server with every scenario loaded through the `sandbox load` command."""
    assert main(["sandbox", "load", "--fhir-server", fhir_base_url]) == 0
    return fhir_base_url


@pytest.fixture(scope="module")
def service_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = tmp_path_factory.mktemp("feedback") / "fb.db"
    environment = {"EPIDURAL_CDS_FHIR_PAGE_SIZE": "2", "EPIDURAL_CDS_FEEDBACK_DB": f"sqlite:///{store}"}
    with running_service(environment) as url:
        yield url


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=30.0) as http:
        yield http


@pytest.fixture(scope="module")
def services(client: httpx.Client, service_url: str) -> dict[str, Service]:
    return discover(client, service_url)


def check(
    client: httpx.Client,
    fhir_server: str,
    service_url: str,
    services: dict[str, Service],
    scenario: Scenario,
    hook: Hook,
    prefetch: Prefetch = Prefetch.NONE,
    page_size: int | None = None,
) -> None:
    outcome = run_hook(
        client,
        service_url=service_url,
        fhir_server=fhir_server,
        services=services,
        hook=hook,
        patient_id=scenario.patient_id,
        scenario=scenario,
        prefetch=prefetch,
        page_size=page_size,
    )
    comparison = compare(scenario, hook, outcome)
    assert comparison.ok, comparison.describe()


@pytest.mark.parametrize(("name", "hook"), CASES)
def test_scenario_gives_its_expected_cards_from_the_fhir_server(
    client: httpx.Client, fhir_server: str, service_url: str, services: dict[str, Service], name: str, hook: Hook
) -> None:
    check(client, fhir_server, service_url, services, SCENARIOS[name], hook)


def test_the_service_continues_from_a_prefetched_first_page(
    client: httpx.Client, fhir_server: str, service_url: str, services: dict[str, Service]
) -> None:
    scenario = SCENARIOS["medicare-cap-exceeded"]
    check(client, fhir_server, service_url, services, scenario, Hook.ORDER_SIGN, prefetch=Prefetch.PARTIAL, page_size=2)


def test_loading_again_replaces_the_scenarios_instead_of_adding_copies(client: httpx.Client, fhir_server: str) -> None:
    scenario = SCENARIOS["medicare-cap-exceeded"]
    assert main(["sandbox", "load", "--fhir-server", fhir_server, "--scenario", scenario.name]) == 0
    found = client.get(f"{fhir_server}/Procedure", params={"patient": scenario.patient_id, "_count": "100"}).json()
    loaded = [r["id"] for r in scenario.resources if r["resourceType"] == "Procedure"]
    assert sorted(entry["resource"]["id"] for entry in found["entry"]) == sorted(loaded)


def test_load_prints_the_patient_ids(fhir_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "load", "--fhir-server", fhir_server, "--scenario", "clean"]) == 0
    assert SCENARIOS["clean"].patient_id in capsys.readouterr().out


def test_run_expect_passes_against_the_real_servers(
    fhir_server: str, service_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = SCENARIOS["booked-too-soon"]
    argv = ["sandbox", "run", "--fhir-server", fhir_server, "--service-url", service_url]
    assert main([*argv, "--patient", scenario.patient_id, "--hook", "appointment-book", "--expect"]) == 0
    assert "frequency-limit-exceeded" in capsys.readouterr().out


def test_verify_prints_a_passing_table(fhir_server: str, service_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sandbox", "verify", "--fhir-server", fhir_server, "--service-url", service_url, "--skip-load"]
    assert main([*argv, "--scenario", "medicare-cap-exceeded"]) == 0
    assert "5 of 5 passed" in capsys.readouterr().out

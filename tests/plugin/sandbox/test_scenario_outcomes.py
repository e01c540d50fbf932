"""Each scenario gives exactly its expected cards, in-process with everything prefetched, on awkward days too.

The integration tests check the same through a real FHIR server and a real service process; these find a scenario
whose outcome depends on the day (month ends, a leap day) quickly and without servers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from plugin.hooks.services import SERVICES
from plugin.rules.calendar import add_months
from plugin.sandbox.resources import searchset
from plugin.sandbox.runner import hook_request
from plugin.sandbox.scenarios import Hook, Scenario, build_scenarios
from plugin.serving.app import create_app
from plugin.serving.settings import Settings
from tests.cards import rule_ids

DAYS = (date(2026, 11, 27), date(2027, 3, 31), date(2028, 2, 29), date(2027, 1, 31))
# Whose outcome rests on counting sessions across months; the rest are checked on the first day only.
DATED = frozenset(
    {
        "clean",
        "medicare-cap-exceeded",
        "medicare-last-session",
        "molina-cap",
        "booked-too-soon",
        "pump-trial",
        "prior-auth",
        "free-text-order",
        "esi-lumbar-booking",
        "stale-booking",
        "booked-on-the-anniversary",
        "session-in-words",
    }
)
SERVICE_FOR = {spec.hook: spec.id for spec in SERVICES}
# Nothing may be fetched: the prefetch is complete, and a fetch from here would fail and show as data-incomplete.
UNREACHABLE_FHIR = "http://127.0.0.1:9/fhir"


def cases() -> Iterator[Any]:
    for day in DAYS:
        for scenario in build_scenarios(day):
            if day != DAYS[0] and scenario.name not in DATED:
                continue
            for hook in scenario.hooks:
                yield pytest.param(day, scenario.name, hook, id=f"{scenario.name}-{hook}-{day.isoformat()}")


def of_type(scenario: Scenario, *types: str) -> list[dict[str, Any]]:
    return [resource for resource in scenario.resources if resource["resourceType"] in types]


def full_prefetch(scenario: Scenario) -> dict[str, Any]:
    """What an EHR prefetching every key would send; appointments with the orders they are based on included."""
    patient = of_type(scenario, "Patient")
    return {
        "patient": next(p for p in patient if p["id"] == scenario.patient_id),
        "procedures": searchset(of_type(scenario, "Procedure")),
        "conditions": searchset(of_type(scenario, "Condition")),
        "imagingStudies": searchset(of_type(scenario, "ImagingStudy")),
        "coverage": searchset(of_type(scenario, "Coverage")),
        "appointments": searchset(of_type(scenario, "Appointment", "ServiceRequest")),
        "medicationAdministrations": searchset(of_type(scenario, "MedicationAdministration")),
        "procedureNotes": searchset(of_type(scenario, "DocumentReference")),
        "observations": searchset(of_type(scenario, "Observation")),
        "diagnosticReports": searchset(of_type(scenario, "DiagnosticReport")),
        "encounters": searchset(of_type(scenario, "Encounter")),
        "medicationRequests": searchset(of_type(scenario, "MedicationRequest")),
        "medicationStatements": searchset(of_type(scenario, "MedicationStatement")),
        "encounter": next((e for e in of_type(scenario, "Encounter") if e["id"] == scenario.encounter_id), None),
    }


def fixed(day: date) -> Callable[[], date]:
    return lambda: day


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[date, TestClient]]:
    with ExitStack() as stack:
        clients: dict[date, TestClient] = {}
        for day in DAYS:
            store = tmp_path_factory.mktemp("feedback") / "feedback.db"
            settings = Settings(feedback_db=f"sqlite:///{store}")
            clients[day] = stack.enter_context(TestClient(create_app(settings, auth=False, today=fixed(day))))
        yield clients


def expected_and_actual(client: TestClient, scenario: Scenario, hook: Hook) -> tuple[Sequence[str], Sequence[str]]:
    request = hook_request(
        hook, scenario.patient_id, UNREACHABLE_FHIR, scenario=scenario, prefetch=full_prefetch(scenario)
    )
    response = client.post(f"/cds-services/{SERVICE_FOR[hook]}", json=request)
    assert response.status_code == 200, response.text
    return sorted(str(rule) for rule in scenario.expected[hook]), sorted(set(rule_ids(response.json())))


@pytest.mark.parametrize(("day", "name", "hook"), list(cases()))
def test_scenario_gives_its_expected_cards(services: dict[date, TestClient], day: date, name: str, hook: Hook) -> None:
    scenario = next(s for s in build_scenarios(day) if s.name == name)
    expected, actual = expected_and_actual(services[day], scenario, hook)
    assert actual == expected


def test_the_cap_card_names_the_first_session_plus_twelve_months(services: dict[date, TestClient]) -> None:
    day = DAYS[1]
    scenario = next(s for s in build_scenarios(day) if s.name == "medicare-cap-exceeded")
    request = hook_request(
        Hook.ORDER_SIGN, scenario.patient_id, UNREACHABLE_FHIR, scenario=scenario, prefetch=full_prefetch(scenario)
    )
    cards = services[day].post(f"/cds-services/{SERVICE_FOR[Hook.ORDER_SIGN]}", json=request).json()["cards"]
    # First session 2026-04-30 (11 months before 2027-03-31); its window ends 2027-04-30.
    assert "Earliest compliant date: 2027-04-30" in cards[0]["detail"]


def cards_for(client: TestClient, scenario: Scenario, hook: Hook) -> list[dict[str, Any]]:
    request = hook_request(
        hook, scenario.patient_id, UNREACHABLE_FHIR, scenario=scenario, prefetch=full_prefetch(scenario)
    )
    response = client.post(f"/cds-services/{SERVICE_FOR[hook]}", json=request)
    assert response.status_code == 200, response.text
    cards: list[dict[str, Any]] = response.json()["cards"]
    return cards


@pytest.mark.parametrize("day", DAYS)
def test_order_booking_and_budget_give_one_next_eligible_date(services: dict[date, TestClient], day: date) -> None:
    scenario = next(s for s in build_scenarios(day) if s.name == "booked-on-the-anniversary")
    # Sessions 11, 8, 5 and 2 months back, one booked on the first one's anniversary: a new session fits on the
    # second one's anniversary.
    expected = add_months(add_months(day, -8), 12).isoformat()
    [ordered] = cards_for(services[day], scenario, Hook.ORDER_SIGN)
    [booked] = cards_for(services[day], scenario, Hook.APPOINTMENT_BOOK)
    [budget] = cards_for(services[day], scenario, Hook.PATIENT_VIEW)
    [at_start] = cards_for(services[day], scenario, Hook.ENCOUNTER_START)
    assert ordered["summary"].endswith(f"earliest {expected}")
    assert booked["summary"].endswith(f"earliest {expected}")
    assert budget["summary"].endswith(f"next eligible date {expected}")
    assert at_start["summary"].endswith(f"next eligible date {expected}")


def test_a_past_booking_the_budget_left_out_is_named(services: dict[date, TestClient]) -> None:
    day = DAYS[0]
    scenario = next(s for s in build_scenarios(day) if s.name == "stale-booking")
    [budget] = cards_for(services[day], scenario, Hook.PATIENT_VIEW)
    assert budget["indicator"] == "info"
    assert "1 past appointment still marked booked (2026-11-20) was not counted" in budget["detail"]


def test_a_patient_injected_today_with_sessions_left_sees_an_info_budget(services: dict[date, TestClient]) -> None:
    day = DAYS[0]
    scenario = next(s for s in build_scenarios(day) if s.name == "complete-session")
    [budget] = cards_for(services[day], scenario, Hook.PATIENT_VIEW)
    assert budget["indicator"] == "info"
    assert "next eligible date 2026-11-28" in budget["summary"]


def test_a_free_text_order_over_the_cap_is_a_check_not_critical(services: dict[date, TestClient]) -> None:
    day = DAYS[0]
    scenario = next(s for s in build_scenarios(day) if s.name == "free-text-order")
    [card] = cards_for(services[day], scenario, Hook.ORDER_SIGN)
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Check the session count")


# Each MAC's scenario: the LCD its state picks, and the state as the cards say it came from, per hook.
MAC_SCENARIOS = {
    "wiser-texas": ("Novitas LCD L36920", "Texas"),
    "first-coast-budget": ("First Coast LCD L33906", "Florida"),
    "cgs-cap": ("CGS LCD L39015", "Kentucky"),
    "noridian-jf-last-session": ("Noridian JF LCD L39240", "Oregon"),
}
WHOSE_LOCATION = {
    Hook.ORDER_SIGN: "the order's location",
    Hook.APPOINTMENT_BOOK: "the appointment's location",
    Hook.ENCOUNTER_START: "the encounter's location",
}


@pytest.mark.parametrize("name", sorted(MAC_SCENARIOS))
def test_a_mac_scenario_is_judged_by_the_lcd_of_the_state_its_location_names(
    services: dict[date, TestClient], name: str
) -> None:
    day = DAYS[0]
    scenario = next(s for s in build_scenarios(day) if s.name == name)
    title, state = MAC_SCENARIOS[name]
    for hook in scenario.hooks:
        for card in cards_for(services[day], scenario, hook):
            assert f"**{title} " in card["detail"]
            assert f"applies by state: service furnished in {state} (from {WHOSE_LOCATION[hook]})." in card["detail"]


def test_wiser_asks_for_prior_authorization_where_the_location_is_in_texas(services: dict[date, TestClient]) -> None:
    day = DAYS[0]
    scenario = next(s for s in build_scenarios(day) if s.name == "wiser-texas")
    for hook in (Hook.ORDER_SIGN, Hook.APPOINTMENT_BOOK):
        [card] = cards_for(services[day], scenario, hook)
        assert card["summary"] == "Prior authorization from CMS WISeR Model for this ESI"
        assert card["indicator"] == "warning"

"""The scenario patients: valid FHIR R4, self-contained, covering every rule, stable ids whatever the day."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from plugin.rules.findings import RuleId
from plugin.sandbox.chart import PRACTITIONER_ID
from plugin.sandbox.loader import transaction_bundle
from plugin.sandbox.scenarios import Hook, Scenario, UnknownScenario, build_scenarios, for_patient, select

TODAY = date(2026, 11, 27)
SCENARIOS = build_scenarios(TODAY)
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}
# FHIR ids; HAPI also refuses client-assigned ids made only of digits.
FHIR_ID = re.compile(r"^(?=.*[A-Za-z-])[A-Za-z0-9\-.]{1,64}$")


EACH_SCENARIO = pytest.mark.parametrize("scenario", SCENARIOS, ids=[scenario.name for scenario in SCENARIOS])


def references_in(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        reference = value.get("reference")
        if isinstance(reference, str):
            yield reference
        for item in value.values():
            yield from references_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from references_in(item)


@EACH_SCENARIO
def test_every_resource_is_valid_r4(scenario: Scenario) -> None:
    for resource in (*scenario.resources, *scenario.draft_orders, *scenario.appointments):
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)


@EACH_SCENARIO
def test_the_transaction_bundle_is_valid_r4(scenario: Scenario) -> None:
    bundle = transaction_bundle(scenario.resources)
    assert Bundle.model_validate(bundle).type == "transaction"


@EACH_SCENARIO
def test_ids_are_client_assignable_and_unique(scenario: Scenario) -> None:
    keys = [
        f"{r['resourceType']}/{r['id']}" for r in (*scenario.resources, *scenario.draft_orders, *scenario.appointments)
    ]
    assert len(keys) == len(set(keys))
    assert all(FHIR_ID.match(key.split("/")[1]) for key in keys)


@EACH_SCENARIO
def test_every_resource_but_the_shared_practitioner_is_under_the_patient_id(scenario: Scenario) -> None:
    own = [r["id"] for r in scenario.resources if r["id"] != PRACTITIONER_ID]
    assert all(resource_id.startswith(scenario.patient_id) for resource_id in own)


@EACH_SCENARIO
def test_every_reference_resolves_within_the_scenario(scenario: Scenario) -> None:
    loaded = {f"{r['resourceType']}/{r['id']}" for r in scenario.resources}
    for resource in (*scenario.resources, *scenario.draft_orders, *scenario.appointments):
        # A reference to "#id" names a resource contained in the one that holds it.
        contained = {f"#{inner['id']}" for inner in resource.get("contained", [])}
        assert set(references_in(resource)) <= loaded | contained, resource["id"]


@EACH_SCENARIO
def test_the_visit_is_in_the_record(scenario: Scenario) -> None:
    assert f"Encounter/{scenario.encounter_id}" in {f"{r['resourceType']}/{r['id']}" for r in scenario.resources}


@EACH_SCENARIO
def test_hooks_carry_what_they_need(scenario: Scenario) -> None:
    order_hooks = {Hook.ORDER_SELECT, Hook.ORDER_SIGN} & set(scenario.hooks)
    assert bool(order_hooks) == bool(scenario.draft_orders)
    assert (Hook.APPOINTMENT_BOOK in scenario.hooks) == bool(scenario.appointments)


def test_scenario_names_and_patients_are_unique() -> None:
    assert len({s.name for s in SCENARIOS}) == len({s.patient_id for s in SCENARIOS}) == len(SCENARIOS)


def test_every_rule_of_the_contract_is_expected_somewhere() -> None:
    expected = {rule for scenario in SCENARIOS for rules in scenario.expected.values() for rule in rules}
    assert expected == set(RuleId)


def test_every_hook_is_exercised_and_some_scenario_expects_no_card_from_each_order_and_booking_hook() -> None:
    assert {hook for scenario in SCENARIOS for hook in scenario.hooks} == set(Hook)
    clean_hooks = {hook for scenario in SCENARIOS for hook, rules in scenario.expected.items() if not rules}
    assert {Hook.ORDER_SELECT, Hook.ORDER_SIGN, Hook.APPOINTMENT_BOOK, Hook.ENCOUNTER_DISCHARGE} <= clean_hooks


def test_a_later_day_moves_the_dates_but_keeps_every_id() -> None:
    later = {s.name: s for s in build_scenarios(date(2027, 3, 31))}
    for name, scenario in BY_NAME.items():
        assert [r["id"] for r in scenario.resources] == [r["id"] for r in later[name].resources]
    assert BY_NAME["clean"].resources != later["clean"].resources


def test_cap_sessions_sit_whole_months_back_clamped_to_month_end() -> None:
    scenario = {s.name: s for s in build_scenarios(date(2027, 3, 31))}["medicare-cap-exceeded"]
    sessions = sorted(
        r["performedDateTime"][:10]
        for r in scenario.resources
        if r["resourceType"] == "Procedure" and r["code"]["coding"][0]["code"] == "62323"
    )
    assert sessions == ["2026-04-30", "2026-07-31", "2026-10-31", "2027-01-31"]


def test_select_all_or_one_by_name() -> None:
    assert select(SCENARIOS, "all") == SCENARIOS
    assert select(SCENARIOS, "pump-trial") == (BY_NAME["pump-trial"],)


def test_an_unknown_scenario_name_lists_the_known_ones() -> None:
    with pytest.raises(UnknownScenario, match="clean"):
        select(SCENARIOS, "no-such-scenario")


def test_a_scenario_is_found_by_its_patient_id() -> None:
    assert for_patient(SCENARIOS, "ecds-molina-cap") is BY_NAME["molina-cap"]
    assert for_patient(SCENARIOS, "someone-else") is None

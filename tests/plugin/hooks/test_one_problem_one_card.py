"""One problem, one card, and no two cards with conflicting fixes: the scenario patients built for it, through the
service with everything prefetched, counted card by card (the scenario table compares sets of rule ids only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from plugin.hooks.services import SERVICES
from plugin.policies.catalog import load_catalog
from plugin.sandbox.resources import coverage, order_sign, service_request
from plugin.sandbox.runner import hook_request
from plugin.sandbox.scenarios import Hook, build_scenarios
from plugin.serving.app import create_app
from plugin.serving.settings import Settings
from tests.conftest import TODAY
from tests.plugin.sandbox.test_scenario_outcomes import UNREACHABLE_FHIR, full_prefetch

SERVICE_FOR = {spec.hook: spec.id for spec in SERVICES}
DISC = ("M51.16", "Intervertebral disc disorders with radiculopathy, lumbar region")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    store = tmp_path_factory.mktemp("feedback") / "feedback.db"
    settings = Settings(feedback_db=f"sqlite:///{store}")
    with TestClient(create_app(settings, auth=False, today=lambda: TODAY)) as service:
        yield service


def cards(client: TestClient, name: str, hook: Hook = Hook.ORDER_SIGN) -> list[dict[str, Any]]:
    scenario = next(s for s in build_scenarios(TODAY) if s.name == name)
    request = hook_request(
        hook, scenario.patient_id, UNREACHABLE_FHIR, scenario=scenario, prefetch=full_prefetch(scenario)
    )
    response = client.post(f"/cds-services/{SERVICE_FOR[hook]}", json=request)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["cards"]
    return found


def rule(card: dict[str, Any]) -> str:
    code: str = card["source"]["topic"]["code"]
    return code


def labels(card: dict[str, Any]) -> list[str]:
    return [suggestion["label"] for suggestion in card.get("suggestions", [])]


def test_a_non_specific_diagnosis_the_payer_does_not_cover_is_one_card_with_one_fix(client: TestClient) -> None:
    [card] = cards(client, "axial-pain-not-covered")
    assert rule(card) == "diagnosis-nonspecific"
    assert card["summary"] == "M54.50 is non-specific and not covered; M51.16 on record supports the 62323 order"
    assert "None is a covered indication" in card["detail"]
    assert labels(card) == ["Use M51.16 Intervertebral disc disorders with radiculopathy, lumbar region"]
    [action] = card["suggestions"][0]["actions"]
    reasons = [coding["code"] for reason in action["resource"]["reasonCode"] for coding in reason["coding"]]
    assert reasons == ["M51.16"]


def test_the_merged_card_links_every_source_it_rests_on(client: TestClient) -> None:
    [card] = cards(client, "axial-pain-not-covered")
    medicare = load_catalog().policies["medicare-esi-lcd"]
    assert [link["label"] for link in card["links"]] == [
        "ICD-10-CM Official Guidelines for Coding and Reporting FY2026 (CMS/NCHS)",
        medicare.title,
    ]


def test_two_regions_on_one_day_are_one_card_led_by_the_regions(client: TestClient) -> None:
    [card] = cards(client, "two-regions-one-day")
    assert rule(card) == "levels-exceeded"
    assert card["summary"].startswith("2 spinal regions")
    assert "interlaminar level" in card["detail"]


def test_prior_authorization_is_asked_once_for_a_session_of_two_order_lines(client: TestClient) -> None:
    [card] = [card for card in cards(client, "prior-auth-two-lines") if rule(card) == "prior-auth-required"]
    assert card["detail"].endswith(
        "Record: ServiceRequest/ecds-prior-auth-two-lines-order, "
        "ServiceRequest/ecds-prior-auth-two-lines-order-additional-level"
    )


def test_ultrasound_guidance_for_medicare_gets_one_advice_and_no_uncovered_code(client: TestClient) -> None:
    [card] = cards(client, "ultrasound-for-medicare")
    assert rule(card) == "imaging-required"
    assert labels(card) == []
    assert "keep 62323" in card["detail"]
    assert "62322, which this policy does not cover" in card["detail"]


def test_a_caudal_injection_coded_cervical_blames_the_code_not_the_lumbar_diagnosis(client: TestClient) -> None:
    [card] = cards(client, "caudal-coded-cervical")
    assert rule(card) == "code-region-mismatch"
    assert labels(card) == ["Change the order to 62323"]


@pytest.mark.parametrize("hook", [Hook.ORDER_SELECT, Hook.ORDER_SIGN])
def test_a_correct_order_with_history_and_negations_gets_no_card(client: TestClient, hook: Hook) -> None:
    assert cards(client, "clinical-note-clean", hook) == []


def test_no_order_is_offered_two_different_codes_across_all_scenarios(client: TestClient) -> None:
    for scenario in build_scenarios(TODAY):
        for hook in scenario.hooks:
            recodes: dict[str, set[str]] = {}
            for card in cards(client, scenario.name, hook):
                for suggestion in card.get("suggestions", []):
                    if suggestion["label"].startswith("Change the order to"):
                        [action] = suggestion["actions"]
                        [coding] = action["resource"]["code"]["coding"]
                        recodes.setdefault(action["resource"]["id"], set()).add(coding["code"])
            assert all(len(codes) == 1 for codes in recodes.values()), (scenario.name, hook, recodes)


def signed(client: TestClient, cpt: str, text: str) -> list[dict[str, Any]]:
    order = service_request("o1", cpt, text, occurrence="2026-12-03", reasons=[DISC])
    request = order_sign(order, coverages=[coverage("cov-1", sopt="1", payor="Medicare Part B")])
    response = client.post("/cds-services/epidural-order-sign", json=request)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["cards"]
    return found


def test_a_lumbar_catheter_coded_62322_for_medicare_is_one_card_for_the_catheter_code(client: TestClient) -> None:
    [card] = signed(client, "62322", "Lumbar epidural catheter at L3-L4 for continuous infusion")
    assert rule(card) == "code-catheter-mismatch"
    assert labels(card) == ["Change the order to 62326"]


def test_the_wrong_region_stated_unguided_for_medicare_gets_one_card_and_the_covered_code(client: TestClient) -> None:
    [card] = signed(client, "62320", "Lumbar interlaminar epidural steroid injection L4-L5, landmark technique")
    assert rule(card) == "code-region-mismatch"
    assert labels(card) == ["Change the order to 62323"]
    assert "perform it under fluoroscopy or CT" in card["detail"]

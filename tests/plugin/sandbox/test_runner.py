"""Hook requests built as an EHR builds them, the call and its comparison, and the sandbox commands."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx
import pytest
import respx

from cds_hooks.models import CdsResponse
from plugin.command_line.main import main
from plugin.hooks.record_data import PREFETCH_TEMPLATES
from plugin.sandbox.runner import (
    HookOutcome,
    Prefetch,
    RunFailed,
    Service,
    compare,
    discover,
    fetch_prefetch,
    hook_request,
)
from plugin.sandbox.scenarios import Hook, build_scenarios

FHIR = "https://fhir.example.org/baseR4"
SERVICE = "http://127.0.0.1:8080"
SCENARIOS = {s.name: s for s in build_scenarios(date.today())}
CAP = SCENARIOS["medicare-cap-exceeded"]
SIGN = Service("epidural-order-sign", "order-sign", PREFETCH_TEMPLATES)


def discovery() -> dict[str, Any]:
    return {
        "services": [
            {"id": f"epidural-{hook}", "hook": hook, "title": hook, "description": hook, "prefetch": PREFETCH_TEMPLATES}
            for hook in Hook
        ]
    }


def cards(*rules: str) -> dict[str, Any]:
    return {
        "cards": [
            {
                "uuid": f"00000000-0000-4000-8000-00000000000{i}",
                "summary": f"about {rule}",
                "indicator": "warning",
                "source": {"label": "epidural-cds", "topic": {"system": "https://example.org/rule", "code": rule}},
            }
            for i, rule in enumerate(rules)
        ]
    }


def outcome(status: int, *rules: str) -> HookOutcome:
    response = CdsResponse.model_validate(cards(*rules)) if status == 200 else None
    return HookOutcome(SIGN, status, response, "" if response else "required data could not be obtained", 0.1)


def test_order_sign_carries_the_draft_orders_and_the_fhir_server_and_prefetches_nothing() -> None:
    request = hook_request(Hook.ORDER_SIGN, CAP.patient_id, FHIR + "/", scenario=CAP)
    assert request["hook"] == "order-sign"
    assert request["fhirServer"] == FHIR
    assert "prefetch" not in request
    assert [entry["resource"] for entry in request["context"]["draftOrders"]["entry"]] == list(CAP.draft_orders)
    assert request["context"]["patientId"] == CAP.patient_id


def test_each_request_has_its_own_hook_instance() -> None:
    first = hook_request(Hook.PATIENT_VIEW, CAP.patient_id, FHIR, scenario=CAP)
    assert first["hookInstance"] != hook_request(Hook.PATIENT_VIEW, CAP.patient_id, FHIR, scenario=CAP)["hookInstance"]


def test_order_select_selects_every_draft_order() -> None:
    scenario = SCENARIOS["guidance-bundled"]
    context = hook_request(Hook.ORDER_SELECT, scenario.patient_id, FHIR, scenario=scenario)["context"]
    assert context["selections"] == [f"ServiceRequest/{order['id']}" for order in scenario.draft_orders]


def test_appointment_book_carries_the_proposed_appointments() -> None:
    context = hook_request(Hook.APPOINTMENT_BOOK, CAP.patient_id, FHIR, scenario=CAP)["context"]
    assert [entry["resource"] for entry in context["appointments"]["entry"]] == list(CAP.appointments)
    assert "draftOrders" not in context


def test_the_scenarios_visit_is_the_encounter_unless_another_is_named() -> None:
    assert hook_request(Hook.ENCOUNTER_START, CAP.patient_id, FHIR, scenario=CAP)["context"]["encounterId"] == (
        CAP.encounter_id
    )
    named = hook_request(Hook.ENCOUNTER_START, CAP.patient_id, FHIR, scenario=CAP, encounter_id="enc-9")
    assert named["context"]["encounterId"] == "enc-9"


def test_a_token_becomes_fhir_authorization_in_snake_case() -> None:
    authorization = hook_request(Hook.PATIENT_VIEW, CAP.patient_id, FHIR, token="t0ken")["fhirAuthorization"]
    assert authorization["access_token"] == "t0ken"
    assert authorization["token_type"] == "Bearer"
    assert {"expires_in", "scope", "subject"} <= set(authorization)


def test_without_a_token_there_is_no_fhir_authorization() -> None:
    assert "fhirAuthorization" not in hook_request(Hook.PATIENT_VIEW, CAP.patient_id, FHIR)


def test_a_patient_outside_the_scenarios_gets_an_empty_draft_list() -> None:
    context = hook_request(Hook.ORDER_SIGN, "someone", FHIR)["context"]
    assert context["draftOrders"] == {"resourceType": "Bundle", "type": "collection", "entry": []}
    assert "encounterId" not in context


@respx.mock
def test_discovery_maps_each_hook_to_its_service() -> None:
    respx.get(f"{SERVICE}/cds-services").mock(return_value=httpx.Response(200, json=discovery()))
    with httpx.Client() as client:
        services = discover(client, SERVICE + "/cds-services/")
    assert services["order-sign"].id == "epidural-order-sign"
    assert set(services) == {hook.value for hook in Hook}


@respx.mock
def test_an_unreachable_service_is_a_run_failure() -> None:
    respx.get(f"{SERVICE}/cds-services").mock(side_effect=httpx.ConnectError("refused"))
    with httpx.Client() as client, pytest.raises(RunFailed, match="cannot reach"):
        discover(client, SERVICE)


@respx.mock
def test_a_service_checking_jwts_is_named_as_the_reason_discovery_failed() -> None:
    respx.get(f"{SERVICE}/cds-services").mock(return_value=httpx.Response(401))
    with httpx.Client() as client, pytest.raises(RunFailed, match="--no-auth"):
        discover(client, SERVICE)


@respx.mock
def test_partial_prefetch_reads_the_patient_and_procedures_through_the_templates() -> None:
    patient = respx.get(f"{FHIR}/Patient/{CAP.patient_id}").mock(
        return_value=httpx.Response(200, json={"resourceType": "Patient", "id": CAP.patient_id})
    )
    procedures = respx.get(f"{FHIR}/Procedure").mock(
        return_value=httpx.Response(200, json={"resourceType": "Bundle", "type": "searchset"})
    )
    with httpx.Client() as client:
        values = fetch_prefetch(client, FHIR, SIGN, Prefetch.PARTIAL, CAP.patient_id, token="t0ken", page_size=2)
    assert set(values) == {"patient", "procedures"}
    assert dict(procedures.calls.last.request.url.params) == {"patient": CAP.patient_id, "_count": "2"}
    assert patient.calls.last.request.headers["authorization"] == "Bearer t0ken"


@respx.mock
def test_a_prefetch_read_that_fails_is_left_out() -> None:
    respx.get(f"{FHIR}/Patient/{CAP.patient_id}").mock(return_value=httpx.Response(500))
    respx.get(f"{FHIR}/Procedure").mock(return_value=httpx.Response(200, json={"resourceType": "Bundle"}))
    with httpx.Client() as client:
        assert set(fetch_prefetch(client, FHIR, SIGN, Prefetch.PARTIAL, CAP.patient_id)) == {"procedures"}


def test_no_prefetch_reads_nothing() -> None:
    with httpx.Client(transport=httpx.MockTransport(lambda request: pytest.fail("read"))) as client:
        assert fetch_prefetch(client, FHIR, SIGN, Prefetch.NONE, CAP.patient_id) == {}


def test_an_error_answer_fails_even_when_no_cards_were_expected() -> None:
    comparison = compare(SCENARIOS["clean"], Hook.ORDER_SIGN, outcome(412))
    assert not comparison.ok
    assert comparison.describe() == "HTTP 412: required data could not be obtained"


def test_the_difference_names_missing_and_unexpected_rules() -> None:
    comparison = compare(CAP, Hook.ORDER_SIGN, outcome(200, "data-incomplete"))
    assert not comparison.ok
    assert comparison.describe() == "missing frequency-limit-exceeded; unexpected data-incomplete"


def test_the_same_rules_pass() -> None:
    assert compare(CAP, Hook.ORDER_SIGN, outcome(200, "frequency-limit-exceeded")).ok


def mock_service(*rules: str) -> respx.Route:
    respx.get(f"{SERVICE}/cds-services").mock(return_value=httpx.Response(200, json=discovery()))
    return respx.post(f"{SERVICE}/cds-services/epidural-order-sign").mock(
        return_value=httpx.Response(200, json=cards(*rules))
    )


def run_cap(*extra: str) -> int:
    return main(["sandbox", "run", "--fhir-server", FHIR, "--patient", CAP.patient_id, "--hook", "order-sign", *extra])


@respx.mock
def test_run_shows_the_cards_and_sends_the_scenarios_request(capsys: pytest.CaptureFixture[str]) -> None:
    route = mock_service("frequency-limit-exceeded")
    assert run_cap("--token", "t0ken") == 0
    sent = json.loads(route.calls.last.request.content)
    assert sent["fhirServer"] == FHIR
    assert sent["fhirAuthorization"]["access_token"] == "t0ken"
    out = capsys.readouterr().out
    assert "frequency-limit-exceeded" in out
    assert "t0ken" not in out


@respx.mock
def test_run_expect_passes_when_the_cards_match(capsys: pytest.CaptureFixture[str]) -> None:
    mock_service("frequency-limit-exceeded")
    assert run_cap("--expect") == 0
    assert "expected frequency-limit-exceeded: as expected" in capsys.readouterr().out


@respx.mock
def test_run_expect_exits_non_zero_on_a_difference(capsys: pytest.CaptureFixture[str]) -> None:
    mock_service("frequency-limit-reached")
    assert run_cap("--expect") == 1
    assert "missing frequency-limit-exceeded; unexpected frequency-limit-reached" in capsys.readouterr().out


@respx.mock
def test_run_exits_non_zero_when_the_service_refuses(capsys: pytest.CaptureFixture[str]) -> None:
    refusal = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "diagnostics": "no procedures"}]}
    mock_service().mock(return_value=httpx.Response(412, json=refusal))
    assert run_cap() == 1
    assert "HTTP 412" in capsys.readouterr().out


def test_run_expect_needs_a_scenario_patient(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "run", "--fhir-server", FHIR, "--patient", "x", "--hook", "order-sign", "--expect"]) == 2
    assert "no expected rules" in capsys.readouterr().err


@respx.mock
def test_verify_loads_runs_every_hook_and_fails_on_a_difference(capsys: pytest.CaptureFixture[str]) -> None:
    load = respx.post(FHIR).mock(
        return_value=httpx.Response(200, json={"resourceType": "Bundle", "type": "transaction-response"})
    )
    respx.get(f"{SERVICE}/cds-services").mock(return_value=httpx.Response(200, json=discovery()))
    respx.post(url__regex=rf"{SERVICE}/cds-services/epidural-(order-select|order-sign|appointment-book)").mock(
        return_value=httpx.Response(200, json=cards("frequency-limit-exceeded"))
    )
    respx.post(url__regex=rf"{SERVICE}/cds-services/epidural-(encounter-start|patient-view)").mock(
        return_value=httpx.Response(200, json=cards())
    )
    assert main(["sandbox", "verify", "--fhir-server", FHIR, "--scenario", CAP.name]) == 1
    out = capsys.readouterr().out
    assert load.called
    assert "3 of 5 passed" in out
    assert "missing frequency-budget" in out


def test_load_of_an_unknown_scenario_lists_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "load", "--fhir-server", FHIR, "--scenario", "nope"]) == 2
    assert "medicare-cap-exceeded" in capsys.readouterr().err


@respx.mock
def test_load_prints_each_scenarios_patient_id(capsys: pytest.CaptureFixture[str]) -> None:
    respx.post(FHIR).mock(
        return_value=httpx.Response(200, json={"resourceType": "Bundle", "type": "transaction-response"})
    )
    assert main(["sandbox", "load", "--fhir-server", FHIR]) == 0
    out = capsys.readouterr().out
    assert all(scenario.patient_id in out for scenario in SCENARIOS.values())


def test_list_names_every_scenario_with_its_expected_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in SCENARIOS)
    assert "order-sign: frequency-limit-exceeded" in out

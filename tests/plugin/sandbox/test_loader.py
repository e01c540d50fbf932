"""Loading a scenario: one transaction of PUTs with client-assigned ids, posted to the FHIR base URL."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx
import pytest
import respx

from plugin.sandbox.loader import LoadFailed, load, transaction_bundle
from plugin.sandbox.scenarios import build_scenarios

BASE = "https://fhir.example.org/baseR4"
SCENARIO = next(s for s in build_scenarios(date(2026, 11, 27)) if s.name == "medicare-cap-exceeded")


def transaction_response(count: int) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [{"response": {"status": "201 Created"}} for _ in range(count)],
    }


def test_the_bundle_is_a_transaction_of_puts_to_each_resources_own_id() -> None:
    bundle = transaction_bundle(SCENARIO.resources)
    assert bundle["type"] == "transaction"
    assert [entry["request"] for entry in bundle["entry"]] == [
        {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"} for r in SCENARIO.resources
    ]
    assert [entry["resource"] for entry in bundle["entry"]] == list(SCENARIO.resources)


def test_a_bundle_built_on_another_day_puts_to_the_same_urls() -> None:
    later = next(s for s in build_scenarios(date(2027, 6, 1)) if s.name == SCENARIO.name)
    urls = [entry["request"]["url"] for entry in transaction_bundle(SCENARIO.resources)["entry"]]
    assert urls == [entry["request"]["url"] for entry in transaction_bundle(later.resources)["entry"]]


@respx.mock
def test_load_posts_fhir_json_to_the_base_url_and_counts_the_entries() -> None:
    route = respx.post(BASE).mock(return_value=httpx.Response(200, json=transaction_response(len(SCENARIO.resources))))
    with httpx.Client() as client:
        written = load(client, BASE + "/", SCENARIO)
    sent = route.calls.last.request
    assert written == len(SCENARIO.resources)
    assert sent.headers["content-type"] == "application/fhir+json"
    assert json.loads(sent.content) == transaction_bundle(SCENARIO.resources)


@respx.mock
def test_the_token_is_sent_as_a_bearer() -> None:
    route = respx.post(BASE).mock(return_value=httpx.Response(200, json=transaction_response(1)))
    with httpx.Client() as client:
        load(client, BASE, SCENARIO, token="t0ken")
    assert route.calls.last.request.headers["authorization"] == "Bearer t0ken"


@respx.mock
def test_without_a_token_there_is_no_authorization_header() -> None:
    route = respx.post(BASE).mock(return_value=httpx.Response(200, json=transaction_response(1)))
    with httpx.Client() as client:
        load(client, BASE, SCENARIO)
    assert "authorization" not in route.calls.last.request.headers


@respx.mock
def test_a_refusal_names_the_scenario_and_the_servers_diagnostics() -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "diagnostics": "bad reference"}]}
    respx.post(BASE).mock(return_value=httpx.Response(422, json=outcome))
    with (
        httpx.Client() as client,
        pytest.raises(LoadFailed, match="medicare-cap-exceeded: the server answered 422: bad"),
    ):
        load(client, BASE, SCENARIO)


@respx.mock
def test_an_answer_that_is_not_a_transaction_response_is_a_failure() -> None:
    respx.post(BASE).mock(return_value=httpx.Response(200, json={"resourceType": "Patient", "id": "x"}))
    with httpx.Client() as client, pytest.raises(LoadFailed, match="answered 200"):
        load(client, BASE, SCENARIO)


@respx.mock
def test_an_unreachable_server_is_a_failure_naming_it() -> None:
    respx.post(BASE).mock(side_effect=httpx.ConnectError("refused"))
    with httpx.Client() as client, pytest.raises(LoadFailed, match=f"cannot reach {BASE}"):
        load(client, BASE, SCENARIO)

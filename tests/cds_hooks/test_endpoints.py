"""The CDS Hooks HTTP contract, seen from the outside: discovery, statuses and OperationOutcome bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy.exc
from fastapi.testclient import TestClient

from plugin.sandbox.resources import hook_request

SERVICES = {
    "epidural-order-select": "order-select",
    "epidural-order-sign": "order-sign",
    "epidural-appointment-book": "appointment-book",
    "epidural-encounter-start": "encounter-start",
    "epidural-encounter-discharge": "encounter-discharge",
    "epidural-patient-view": "patient-view",
}
PREFETCH_KEYS = {
    "patient",
    "procedures",
    "conditions",
    "imagingStudies",
    "coverage",
    "appointments",
    "observations",
    "diagnosticReports",
    "medicationAdministrations",
    "procedureNotes",
    "encounters",
    "medicationRequests",
    "medicationStatements",
}
# The encounter hooks' context names the encounter (CDS Hooks 2.0), and only their services declare a key for it.
ENCOUNTER_HOOKS = {"encounter-start", "encounter-discharge"}
CONTEXT_FIELDS = {
    hook: {"userId", "patientId"} | ({"encounterId"} if hook in ENCOUNTER_HOOKS else set())
    for hook in SERVICES.values()
}


def outcome_of(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] == "error"
    return body


def test_discovery_lists_the_six_services_of_the_contract(service: TestClient) -> None:
    services = service.get("/cds-services").json()["services"]
    assert {entry["id"]: entry["hook"] for entry in services} == SERVICES
    for entry in services:
        assert entry["title"]
        assert entry["description"]
        encounter = {"encounter"} if entry["hook"] in ENCOUNTER_HOOKS else set()
        assert set(entry["prefetch"]) == PREFETCH_KEYS | encounter


def test_prefetch_templates_use_only_root_level_context_tokens(service: TestClient) -> None:
    """Every token is `context.<name>`, a field at the root of the hook's context (no path into a draft order or an
    appointment), and one that hook's context has; each template names exactly one."""
    for entry in service.get("/cds-services").json()["services"]:
        for template in entry["prefetch"].values():
            tokens = [part.split("}}")[0] for part in template.split("{{")[1:]]
            assert len(tokens) == 1
            scope, _, name = tokens[0].partition(".")
            assert scope == "context"
            assert "." not in name
            assert name in CONTEXT_FIELDS[entry["hook"]]


def test_the_encounter_key_reads_the_hooks_encounter(service: TestClient) -> None:
    templates = {entry["hook"]: entry["prefetch"] for entry in service.get("/cds-services").json()["services"]}
    for hook in ENCOUNTER_HOOKS:
        assert templates[hook]["encounter"] == "Encounter/{{context.encounterId}}"


def test_a_valid_request_gets_a_cards_array(service: TestClient) -> None:
    response = service.post("/cds-services/epidural-patient-view", json=hook_request("patient-view"))
    assert response.status_code == 200
    assert response.json() == {"cards": []}


def test_unknown_json_fields_are_ignored(service: TestClient) -> None:
    request = hook_request("patient-view")
    request["somethingNew"] = {"nested": [1, 2]}
    request["context"]["extra"] = "x"
    assert service.post("/cds-services/epidural-patient-view", json=request).status_code == 200


def test_malformed_json_is_a_400_operation_outcome(service: TestClient) -> None:
    response = service.post(
        "/cds-services/epidural-patient-view", content=b'{"hook": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in outcome_of(response)["issue"][0]["diagnostics"]


@pytest.mark.parametrize("missing", ["hook", "hookInstance", "context"])
def test_missing_required_field_is_a_400(service: TestClient, missing: str) -> None:
    request = hook_request("patient-view")
    del request[missing]
    response = service.post("/cds-services/epidural-patient-view", json=request)
    assert response.status_code == 400
    assert missing in outcome_of(response)["issue"][0]["diagnostics"]


def test_missing_patient_id_is_a_400(service: TestClient) -> None:
    request = hook_request("patient-view")
    del request["context"]["patientId"]
    response = service.post("/cds-services/epidural-patient-view", json=request)
    assert response.status_code == 400
    assert "patientId" in outcome_of(response)["issue"][0]["diagnostics"]


def test_hook_that_does_not_match_the_service_is_a_400(service: TestClient) -> None:
    response = service.post("/cds-services/epidural-order-sign", json=hook_request("patient-view"))
    assert response.status_code == 400
    assert "order-sign" in outcome_of(response)["issue"][0]["diagnostics"]


def test_a_json_array_body_is_a_400(service: TestClient) -> None:
    response = service.post("/cds-services/epidural-patient-view", json=[1, 2])
    assert response.status_code == 400
    outcome_of(response)


def test_validation_errors_do_not_echo_request_values(service: TestClient) -> None:
    request = hook_request("patient-view")
    request["context"]["patientId"] = {"name": "Jane Secretname"}
    response = service.post("/cds-services/epidural-patient-view", json=request)
    assert response.status_code == 400
    assert "Secretname" not in response.text


def test_unknown_service_is_a_404_operation_outcome(service: TestClient) -> None:
    response = service.post("/cds-services/no-such-service", json=hook_request("patient-view"))
    assert response.status_code == 404
    outcome_of(response)


def test_body_over_the_limit_is_a_413(service: TestClient) -> None:
    huge = b'{"hook": "patient-view", "padding": "' + b"x" * (16 * 1024 * 1024) + b'"}'
    response = service.post(
        "/cds-services/epidural-patient-view", content=huge, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    outcome_of(response)


def test_required_data_neither_prefetched_nor_fetchable_is_a_412(service: TestClient) -> None:
    request = hook_request("patient-view")
    del request["prefetch"]["procedures"]
    response = service.post("/cds-services/epidural-patient-view", json=request)
    assert response.status_code == 412
    assert "procedures" in outcome_of(response)["issue"][0]["diagnostics"]


def test_null_prefetch_means_no_data_not_missing_data(service: TestClient) -> None:
    request = hook_request("patient-view", procedures=None, coverages=None, appointments=None)
    response = service.post("/cds-services/epidural-patient-view", json=request)
    assert response.status_code == 200


def test_operation_outcome_prefetch_for_optional_data_gives_data_incomplete_card(service: TestClient) -> None:
    request = hook_request("order-sign", {"draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": []}})
    request["prefetch"]["conditions"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    cards = service.post("/cds-services/epidural-order-sign", json=request).json()["cards"]
    assert [card["source"]["topic"]["code"] for card in cards] == ["data-incomplete"]
    assert "Diagnoses could not be read" in cards[0]["detail"]


def test_wrong_http_method_is_an_operation_outcome(service: TestClient) -> None:
    response = service.get("/cds-services/epidural-patient-view")
    assert response.status_code == 405
    outcome_of(response)


def test_cors_preflight_allows_browser_clients(service: TestClient) -> None:
    response = service.options(
        "/cds-services/epidural-patient-view",
        headers={
            "Origin": "https://sandbox.cds-hooks.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in {"*", "https://sandbox.cds-hooks.org"}


def test_feedback_is_acknowledged_and_stored(service: TestClient) -> None:
    feedback = {
        "feedback": [
            {
                "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
                "outcome": "overridden",
                "overrideReason": {"reason": {"code": "payer-exception", "display": "Payer granted an exception"}},
                "outcomeTimestamp": "2026-11-27T10:00:00Z",
            }
        ]
    }
    response = service.post("/cds-services/epidural-order-sign/feedback", json=feedback)
    assert response.status_code == 200
    store = service.app.state.feedback_store  # type: ignore[attr-defined]
    [record] = store.fetch()
    assert record.card_uuid == "9368d37b-283f-44a0-93ea-547cebab93ed"
    assert record.override_reason_code == "payer-exception"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"feedback": []},
        {"feedback": [{"card": "x", "outcome": "ignored", "outcomeTimestamp": "2026-11-27T10:00:00Z"}]},
        {"feedback": [{"card": "x", "outcome": "accepted", "outcomeTimestamp": "yesterday"}]},
        {"feedback": [{"card": "x", "outcome": "accepted", "outcomeTimestamp": "2026-11-27T10:00:00"}]},
        {"feedback": [{"card": "x", "outcome": "accepted", "outcomeTimestamp": "0001-01-01T00:00:00+01:00"}]},
    ],
    ids=["no-feedback", "empty", "bad-outcome", "bad-timestamp", "timestamp-without-zone", "before-utc-begins"],
)
def test_invalid_feedback_is_a_400(service: TestClient, body: dict[str, Any]) -> None:
    response = service.post("/cds-services/epidural-order-sign/feedback", content=json.dumps(body))
    assert response.status_code == 400
    outcome_of(response)


def test_feedback_for_an_unknown_service_is_a_404(service: TestClient) -> None:
    response = service.post("/cds-services/nope/feedback", json={"feedback": []})
    assert response.status_code == 404


def test_feedback_that_cannot_be_stored_is_a_503_to_retry(service: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def database_down(records: object) -> int:
        raise sqlalchemy.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(service.app.state.feedback_store, "record", database_down)  # type: ignore[attr-defined]
    feedback = {"feedback": [{"card": "c1", "outcome": "accepted", "outcomeTimestamp": "2026-11-27T10:00:00Z"}]}
    response = service.post("/cds-services/epidural-order-sign/feedback", json=feedback)
    assert response.status_code == 503
    assert outcome_of(response)["issue"][0]["code"] == "transient"

"""One access line per request, over HTTP against the app: what an integrator reads when the EHR showed nothing."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from plugin.sandbox.resources import hook_request
from plugin.serving.log_format import JsonFormatter

REPO = Path(__file__).resolve().parents[2]
PATIENT_NAME = "Zebediah Quarrington"


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [vars(record) for record in caplog.records if record.name == "cds_hooks.access_log"]


def test_each_answer_writes_one_line_with_its_status_and_reason_class(
    service: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    request = hook_request("patient-view")
    request["prefetch"]["patient"]["name"] = [{"text": PATIENT_NAME}]
    caplog.set_level(logging.INFO)

    service.post("/cds-services/epidural-patient-view", json=request)
    service.post("/cds-services/epidural-patient-view", content=b"[")
    service.post("/cds-services/epidural-patient-view", json={**request, "prefetch": {}})
    service.post("/cds-services/no-such-service", json=request)
    service.post("/cds-services/epidural-patient-view", content=b"{" * 20_000_000)
    service.options(
        "/cds-services", headers={"Origin": "https://ehr.example.org", "Access-Control-Request-Method": "PUT"}
    )
    service.get("/healthz")

    lines = access_lines(caplog)
    assert [(line["status"], line["reason"]) for line in lines] == [
        (200, "ok"),
        (400, "bad-request"),
        (412, "precondition"),
        (404, "not-found"),
        (413, "too-large"),
        (400, "cors-refused"),
        (200, "ok"),
    ]
    assert lines[0]["service_id"] == "epidural-patient-view"
    assert lines[0]["hook_instance"] == request["hookInstance"]
    assert lines[0]["route"] == "/cds-services/{service_id}"
    assert lines[0]["cards"] == 0
    assert "service_id" not in lines[3]  # an id the client made up is not written
    # The service's own records: the test client logs the URLs it called.
    ours = [record for record in caplog.records if record.name.startswith(("cds_hooks", "plugin", "fhir_mappings"))]
    written = "\n".join(JsonFormatter().format(record) for record in ours)
    assert PATIENT_NAME not in written
    assert "no-such-service" not in written


def test_a_hook_call_line_names_the_policy_applied_and_the_rules_that_fired(
    service: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    request = json.loads((REPO / "examples" / "order-sign-limit-exceeded.json").read_text())
    caplog.set_level(logging.INFO)

    service.post("/cds-services/epidural-order-sign", json=request)

    # One line per call: the steps of a call add to the access line instead of writing lines of their own.
    [line] = [vars(record) for record in caplog.records if record.name.startswith(("cds_hooks", "plugin"))]
    assert line["message"] == "request"
    assert (line["policy"], line["rules"], line["cards"]) == ("medicare-esi-lcd", ["frequency-limit-exceeded"], 1)
    assert 0 <= line["rules_ms"] <= line["elapsed_ms"]


def test_a_feedback_post_line_counts_what_was_received_and_stored(
    service: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    item = {"card": "c-1", "outcome": "accepted", "outcomeTimestamp": "2026-11-27T10:00:00Z"}
    caplog.set_level(logging.INFO)

    service.post("/cds-services/epidural-order-sign/feedback", json={"feedback": [item, item]})

    [line] = access_lines(caplog)
    assert (line["status"], line["reason"], line["received"], line["stored"]) == (200, "ok", 2, 1)

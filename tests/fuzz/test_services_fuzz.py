"""The whole pipeline (`Evaluator.respond`) on arbitrary patient data: valid cards, every time, and no silent loss.

Requests start from the shipped examples (examples/*.json) mutated at random paths, or are built from arbitrary
prefetch values. Whatever comes in, the answer is a CDS Hooks response that serialises, and every resource that
could not be read is counted on a `data-incomplete` card.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cds_hooks.models import CdsResponse, HookRequest
from plugin.hooks.patient_data import FetchSettings
from plugin.hooks.record_data import DataKey, PatientData
from plugin.hooks.services import SERVICES, Evaluator, ServiceSpec, read_record
from plugin.policies.catalog import load_catalog
from plugin.rules.findings import RuleId
from tests.fuzz.resource_shapes import JSON, KEYS, mutated, prefetch_value

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
EXAMPLES = [json.loads(path.read_text("utf-8")) for path in sorted(EXAMPLES_DIR.glob("*.json"))]
TODAY = date(2026, 11, 27)
RESOURCE_TYPE = {
    DataKey.PROCEDURES: "Procedure",
    DataKey.CONDITIONS: "Condition",
    DataKey.IMAGING_STUDIES: "ImagingStudy",
    DataKey.COVERAGE: "Coverage",
    DataKey.APPOINTMENTS: "Appointment",
    DataKey.ENCOUNTER: "Encounter",
}
CRITERIA_DATA = frozenset(
    {
        DataKey.OBSERVATIONS,
        DataKey.DIAGNOSTIC_REPORTS,
        DataKey.ENCOUNTERS,
        DataKey.MEDICATION_REQUESTS,
        DataKey.MEDICATION_STATEMENTS,
    }
)
_SKIPPED_LINE = re.compile(r"(\d+) records? could not be read")


@pytest.fixture(scope="module")
def evaluator() -> Iterator[Evaluator]:
    http = httpx.AsyncClient()
    yield Evaluator(catalog=load_catalog(), http=http, fetch=FetchSettings(), today=lambda: TODAY)
    asyncio.run(http.aclose())


def _request(spec: ServiceSpec, context: Any) -> HookRequest:
    context = context if isinstance(context, dict) else {"draftOrders": context}
    return HookRequest(hook=spec.hook, hook_instance="fuzz", context={**context, "patientId": "p1"})


def _patient_data(prefetch: Any, unavailable: set[DataKey], incomplete: set[DataKey]) -> PatientData:
    prefetch = prefetch if isinstance(prefetch, dict) else {}
    return PatientData(
        values={key: prefetch[key.value] for key in DataKey if key.value in prefetch},
        unavailable=dict.fromkeys(unavailable, "fuzzed: unavailable"),
        incomplete=dict.fromkeys(incomplete, "fuzzed: incomplete"),
    )


KEY_SETS = st.sets(st.sampled_from(list(DataKey)), max_size=3)
FROM_EXAMPLES = st.tuples(st.sampled_from(EXAMPLES).flatmap(mutated), KEY_SETS, KEY_SETS)
CONTEXTS = st.fixed_dictionaries(
    {},
    optional={
        "draftOrders": prefetch_value("ServiceRequest"),
        "selections": st.lists(st.sampled_from(["ServiceRequest/order-1", "ServiceRequest/order-2"]) | JSON),
        "appointments": prefetch_value("Appointment"),
        "encounterId": st.sampled_from(["e1", ""]) | JSON,
        "userId": JSON,
    },
)
PREFETCH = st.fixed_dictionaries(
    {}, optional={key.value: prefetch_value(RESOURCE_TYPE.get(key, "Procedure")) for key in DataKey}
)


def _check(response: CdsResponse, spec: ServiceSpec, data: PatientData) -> None:
    """The response is CDS Hooks 2.0 on the wire, and every skipped resource is counted on a card."""
    wire = response.to_wire()
    orjson.dumps(wire)
    assert isinstance(wire["cards"], list)
    for card in wire["cards"]:
        assert len(card["summary"]) < 140
        assert card["indicator"] in ("info", "warning", "critical")
        assert card["uuid"]
        assert card["source"]["topic"]["code"] in {rule.value for rule in RuleId}
    incomplete = [card for card in wire["cards"] if card["source"]["topic"]["code"] == RuleId.DATA_INCOMPLETE]
    skipped = len(read_record(data).skipped)
    if skipped:
        counted = _SKIPPED_LINE.search(incomplete[0]["detail"])
        assert counted is not None
        assert int(counted.group(1)) >= skipped
    # Pain scores, radiology reports, visits and drugs are read only for the policies whose criteria need them
    # (services.unused): missing them under any other policy skips nothing, so it is not on the card; nor is data a
    # service is quiet about.
    if any(key in spec.optional - spec.quiet - CRITERIA_DATA for key in data.unavailable):
        assert incomplete


@given(st.sampled_from(SERVICES), FROM_EXAMPLES)
def test_a_mutated_example_request_gets_valid_cards(
    evaluator: Evaluator, spec: ServiceSpec, case: tuple[Any, set[DataKey], set[DataKey]]
) -> None:
    document, unavailable, incomplete = case
    document = document if isinstance(document, dict) else {}
    request = _request(spec, document.get("context"))
    data = _patient_data(document.get("prefetch"), unavailable, incomplete)

    _check(evaluator.respond(spec, request, data), spec, data)


@given(st.sampled_from(SERVICES), CONTEXTS, PREFETCH, KEY_SETS)
def test_arbitrary_prefetch_values_get_valid_cards(
    evaluator: Evaluator, spec: ServiceSpec, context: dict[str, Any], prefetch: dict[str, Any], failed: set[DataKey]
) -> None:
    request = _request(spec, context)
    data = _patient_data(prefetch, failed, set())

    _check(evaluator.respond(spec, request, data), spec, data)


@given(st.sampled_from(SERVICES), st.dictionaries(KEYS, JSON, max_size=6))
def test_a_context_of_random_json_gets_valid_cards(evaluator: Evaluator, spec: ServiceSpec, context: Any) -> None:
    data = PatientData()

    _check(evaluator.respond(spec, _request(spec, context), data), spec, data)

"""The encounter hooks' `encounter` key, over HTTP as an EHR sends it: its diagnosis list gives the encounter
diagnoses, its Location the state where the service is furnished; read like every other optional key."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from cds_hooks.models import HookRequest
from fhir_mappings.readers import read_conditions, with_encounter_diagnoses
from plugin.hooks.patient_data import FetchSettings, gather
from plugin.hooks.record_data import DataKey
from plugin.sandbox.resources import EXAMPLE_PATIENT, condition, coverage, hook_request, procedure, valid
from tests.cards import rule_ids

DISCHARGE = "epidural-encounter-discharge"
START = "epidural-encounter-start"
BASE = "http://fhir.test/fhir"
DISC = ("M51.16", "Intervertebral disc disorders with radiculopathy, lumbar region")
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"


def _encounter(**extra: Any) -> dict[str, Any]:
    return valid(
        {
            "resourceType": "Encounter",
            "id": "e1",
            "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": f"Patient/{EXAMPLE_PATIENT}"},
            **extra,
        }
    )


def _diagnosis(reference: str, *, use: str | None = None, rank: int | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"condition": {"reference": reference}}
    if use:
        entry["use"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/diagnosis-role", "code": use}]}
    if rank is not None:
        entry["rank"] = rank
    return entry


def _location(state: str, *, pos: str = "11") -> dict[str, Any]:
    return {
        "resourceType": "Location",
        "id": "site",
        "name": "Procedure suite",
        "type": [{"coding": [{"system": POS, "code": pos}]}],
        "address": {"city": "Somewhere", "state": state},
    }


def _at(state: str) -> dict[str, Any]:
    return _encounter(contained=[_location(state)], location=[{"location": {"reference": "#site"}}])


def _discharge(service: TestClient, **prefetch: Any) -> dict[str, Any]:
    injection = procedure("p1", "62323", "2026-11-27T10:00:00Z", encounter="Encounter/e1", text="L4-L5 ILESI")
    request = hook_request("encounter-discharge", {"encounterId": "e1"}, procedures=[injection], **prefetch)
    response = service.post(f"/cds-services/{DISCHARGE}", json=request)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_condition_the_encounter_lists_is_the_procedures_diagnosis(service: TestClient) -> None:
    conditions = [condition("c1", *DISC)]

    without = _discharge(service, conditions=conditions, encounter=_encounter())
    listed = _discharge(service, conditions=conditions, encounter=_encounter(diagnosis=[_diagnosis("Condition/c1")]))

    assert "diagnosis-missing" in rule_ids(without)
    assert "diagnosis-missing" not in rule_ids(listed)


def test_a_condition_contained_in_the_encounter_is_read(service: TestClient) -> None:
    contained = {**condition("dx", *DISC), "id": "dx"}
    encounter = _encounter(contained=[contained], diagnosis=[_diagnosis("#dx")])

    assert "diagnosis-missing" not in rule_ids(_discharge(service, encounter=encounter))


def test_a_comorbidity_is_not_taken_as_the_injections_diagnosis(service: TestClient) -> None:
    diabetes = condition("c2", "E11.9", "Type 2 diabetes mellitus without complications")
    encounter = _encounter(diagnosis=[_diagnosis("Condition/c2", use="CM")])

    assert "diagnosis-missing" in rule_ids(_discharge(service, conditions=[diabetes], encounter=encounter))


def test_encounter_diagnoses_come_in_rank_order() -> None:
    read = read_conditions([condition("c1", *DISC), condition("c2", "M54.50", "Low back pain, unspecified")])
    encounter = _encounter(diagnosis=[_diagnosis("Condition/c2", rank=2), _diagnosis("Condition/c1", rank=1)])

    diagnoses = with_encounter_diagnoses(encounter, read.facts).facts

    assert [(d.source, d.encounter) for d in diagnoses] == [
        ("Condition/c1", "Encounter/e1"),
        ("Condition/c2", "Encounter/e1"),
    ]


def test_an_encounter_prefetched_as_null_is_no_data(service: TestClient) -> None:
    assert "data-incomplete" not in rule_ids(_discharge(service, encounter=None))


def test_an_encounter_the_ehr_could_not_fetch_is_said_on_discharge(service: TestClient) -> None:
    failed = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}
    [card] = [card for card in _discharge(service, encounter=failed)["cards"] if "could not be read" in card["detail"]]

    assert "The encounter could not be read" in card["detail"]
    assert "the encounter's own list of diagnoses" in card["detail"]


def test_at_encounter_start_an_unreadable_encounter_skips_no_check(service: TestClient) -> None:
    request = hook_request("encounter-start", {"encounterId": "e1"}, coverages=[coverage("cov", sopt="1")])
    request["prefetch"]["encounter"] = {"resourceType": "OperationOutcome", "issue": []}

    assert "data-incomplete" not in rule_ids(service.post(f"/cds-services/{START}", json=request).json())


def test_the_encounters_location_picks_the_macs_lcd_at_encounter_start(service: TestClient) -> None:
    sessions = [procedure(f"p{n}", "62323", f"2026-0{n}-10T09:00:00Z") for n in (3, 6, 9)]
    request = hook_request(
        "encounter-start",
        {"encounterId": "e1"},
        procedures=sessions,
        coverages=[coverage("cov", sopt="1", payor="Medicare Part B")],
        encounter=_at("FL"),
    )
    [card] = service.post(f"/cds-services/{START}", json=request).json()["cards"]

    assert "Under **First Coast LCD L33906" in card["detail"]
    assert "applies by state: service furnished in Florida (from the encounter's location)." in card["detail"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _gathered(document: dict[str, Any], router: respx.Router) -> Any:
    async with httpx.AsyncClient(transport=httpx.MockTransport(router.async_handler)) as http:
        return await gather(
            HookRequest.model_validate(document),
            required=(),
            optional={DataKey.ENCOUNTER},
            http=http,
            settings=FetchSettings(budget_seconds=1.0),
        )


@pytest.mark.anyio
async def test_an_absent_encounter_is_read_from_the_fhir_server_by_the_hooks_encounter_id() -> None:
    router = respx.Router(assert_all_called=False)
    route = router.get(f"{BASE}/Encounter/e%201").respond(json={**_at("TX"), "id": "e 1"})
    document = hook_request("encounter-start", {"encounterId": "e 1"})
    del document["prefetch"]["encounter"]
    document["fhirServer"] = BASE

    data = await _gathered(document, router)

    assert route.call_count == 1
    assert data.values[DataKey.ENCOUNTER]["id"] == "e 1"


@pytest.mark.anyio
async def test_a_failed_encounter_fetch_is_unavailable_not_an_error() -> None:
    router = respx.Router(assert_all_called=False)
    router.get(f"{BASE}/Encounter/e1").respond(404, json={"resourceType": "OperationOutcome", "issue": []})
    document = hook_request("encounter-discharge", {"encounterId": "e1"})
    document["prefetch"]["encounter"] = {"resourceType": "OperationOutcome", "issue": []}
    document["fhirServer"] = BASE

    data = await _gathered(document, router)

    assert DataKey.ENCOUNTER in data.unavailable


@pytest.mark.anyio
async def test_without_an_encounter_id_nothing_is_fetched() -> None:
    router = respx.Router(assert_all_called=False)
    route = router.get(url__startswith=BASE).respond(404)
    document = hook_request("encounter-start")
    del document["prefetch"]["encounter"]
    document["fhirServer"] = BASE

    data = await _gathered(document, router)

    assert route.call_count == 0
    assert DataKey.ENCOUNTER not in data.unavailable


def _verified(resource: dict[str, Any], status: str) -> dict[str, Any]:
    system = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
    return {**resource, "verificationStatus": {"coding": [{"system": system, "code": status}]}}


def _encounter_diagnosis(resource: dict[str, Any]) -> dict[str, Any]:
    system = "http://terminology.hl7.org/CodeSystem/condition-category"
    return {
        **resource,
        "category": [{"coding": [{"system": system, "code": "encounter-diagnosis"}]}],
        "encounter": {"reference": "Encounter/e1"},
    }


def test_another_complaint_treated_at_the_visit_is_not_the_injections_diagnosis(service: TestClient) -> None:
    # The claim points the lumbar injection's line to the radiculopathy; cervicalgia seen at the same visit goes on
    # its own line, so it is no region conflict for the 62323.
    conditions = [
        _encounter_diagnosis(condition("c1", "M54.16", "Radiculopathy, lumbar region")),
        _encounter_diagnosis(condition("c2", "M54.2", "Cervicalgia")),
        _encounter_diagnosis(condition("c3", "I10", "Essential (primary) hypertension")),
    ]
    assert (
        set(rule_ids(_discharge(service, conditions=conditions))) & {"diagnosis-conflict", "diagnosis-missing"} == set()
    )


def test_a_ruled_out_or_provisional_encounter_diagnosis_is_on_no_line(service: TestClient) -> None:
    lumbar = _encounter_diagnosis(condition("c1", "M54.16", "Radiculopathy, lumbar region"))
    ruled_out = _verified(_encounter_diagnosis(condition("c2", "M54.12", "Radiculopathy, cervical region")), "refuted")
    probable = _verified(_encounter_diagnosis(condition("c3", "M50.120", "Cervical disc disorder")), "provisional")

    assert "diagnosis-conflict" not in rule_ids(_discharge(service, conditions=[lumbar, ruled_out, probable]))
    # Only ruled-out ones: the injection has no diagnosis the claim can carry.
    assert "diagnosis-missing" in rule_ids(_discharge(service, conditions=[ruled_out]))


def test_encounter_diagnoses_all_of_the_other_region_still_conflict(service: TestClient) -> None:
    cervical = _encounter_diagnosis(condition("c1", "M54.12", "Radiculopathy, cervical region"))

    assert "diagnosis-conflict" in rule_ids(_discharge(service, conditions=[cervical]))

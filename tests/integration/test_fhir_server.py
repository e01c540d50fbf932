"""The local FHIR server supports what our service needs: idempotent transaction loads, patient searches, paging."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

JSON = dict[str, Any]
DCM = "http://dicom.nema.org/resources/ontology/DCM"


def _put(resource: JSON) -> JSON:
    return {
        "resource": resource,
        "request": {
            "method": "PUT",
            "url": f"{resource['resourceType']}/{resource['id']}",
        },
    }


def _bundle(pid: str) -> JSON:
    """Transaction with client-assigned ids: one patient's record plus another patient's decoy procedure."""
    pt = {"reference": f"Patient/{pid}"}
    resources: list[JSON] = [
        {
            "resourceType": "Patient",
            "id": pid,
            "name": [{"family": "Test"}],
            "birthDate": "1960-04-02",
        },
        {"resourceType": "Patient", "id": f"{pid}-other"},
        {
            "resourceType": "Practitioner",
            "id": f"{pid}-dr",
            "name": [{"family": "Smith"}],
        },
        {
            "resourceType": "Encounter",
            "id": f"{pid}-enc",
            "status": "in-progress",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "AMB",
            },
            "subject": pt,
        },
        {
            "resourceType": "ServiceRequest",
            "id": f"{pid}-sr",
            "status": "active",
            "intent": "order",
            "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "64483"}]},
            "subject": pt,
            "encounter": {"reference": f"Encounter/{pid}-enc"},
            "requester": {"reference": f"Practitioner/{pid}-dr"},
        },
        {
            "resourceType": "Procedure",
            "id": f"{pid}-proc-other",
            "status": "completed",
            "subject": {"reference": f"Patient/{pid}-other"},
        },
    ]
    resources += [
        {
            "resourceType": "Procedure",
            "id": f"{pid}-proc-{i}",
            "status": "completed",
            "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "62323"}]},
            "subject": pt,
            "performedDateTime": f"2026-03-1{i}T23:30:00-05:00",
        }
        for i in range(5)
    ]
    resources += [
        {
            "resourceType": "Condition",
            "id": f"{pid}-cond-{i}",
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M54.16"}]},
            "subject": pt,
        }
        for i in range(3)
    ]
    resources += [
        {
            "resourceType": "ImagingStudy",
            "id": f"{pid}-img-{i}",
            "status": "available",
            "subject": pt,
            "series": [{"uid": f"1.2.840.99.{i}", "modality": {"system": DCM, "code": "MR"}}],
        }
        for i in range(3)
    ]
    resources += [
        {
            "resourceType": "Coverage",
            "id": f"{pid}-cov-{i}",
            "status": status,
            "beneficiary": pt,
            "payor": [pt],
        }
        for i, status in enumerate(["active", "active", "cancelled"])
    ]
    resources += [
        {
            "resourceType": "Appointment",
            "id": f"{pid}-appt-{status}",
            "status": status,
            "participant": [{"actor": pt, "status": "accepted"}],
        }
        for status in ["booked", "pending", "arrived", "checked-in", "cancelled"]
    ]
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [_put(r) for r in resources],
    }


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=30.0, headers={"Accept": "application/fhir+json"}) as c:
        yield c


def _load(client: httpx.Client, base_url: str, bundle: JSON) -> JSON:
    response = client.post(base_url, json=bundle, headers={"Content-Type": "application/fhir+json"})
    assert response.status_code == 200, response.text
    result: JSON = response.json()
    assert result["type"] == "transaction-response"
    return result


def _search_all(client: httpx.Client, base_url: str, query: str) -> list[str]:
    """Follow ``next`` links from ``{base_url}/{query}&_count=2``; return ``Type/id`` of every match."""
    url: str | None = f"{base_url}/{query}&_count=2"
    found: list[str] = []
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["type"] == "searchset"
        matches = [e["resource"] for e in page.get("entry", []) if e["search"]["mode"] == "match"]
        assert len(matches) <= 2
        found += [f"{r['resourceType']}/{r['id']}" for r in matches]
        next_urls = [link["url"] for link in page.get("link", []) if link["relation"] == "next"]
        assert all(u.startswith(f"{base_url}/") for u in next_urls)
        url = next_urls[0] if next_urls else None
    return found


@pytest.fixture(scope="module")
def patient_id(fhir_base_url: str) -> str:
    pid = f"p{uuid.uuid4().hex[:12]}"
    with httpx.Client(trust_env=False, timeout=30.0) as c:
        _load(c, fhir_base_url, _bundle(pid))
    return pid


def test_transaction_load_is_idempotent(fhir_base_url: str, client: httpx.Client) -> None:
    pid = f"p{uuid.uuid4().hex[:12]}"
    bundle = _bundle(pid)
    first = _load(client, fhir_base_url, bundle)
    second = _load(client, fhir_base_url, bundle)

    assert {e["response"]["status"] for e in first["entry"]} == {"201 Created"}
    assert {e["response"]["status"] for e in second["entry"]} == {"200 OK"}
    assert len(_search_all(client, fhir_base_url, f"Procedure?patient={pid}")) == 5
    assert len(_search_all(client, fhir_base_url, f"Appointment?patient={pid}")) == 5


PROCEDURES = [f"proc-{i}" for i in range(5)]
CONDITIONS = [f"cond-{i}" for i in range(3)]
STUDIES = [f"img-{i}" for i in range(3)]
COVERAGES = [f"cov-{i}" for i in range(3)]
APPOINTMENTS = [f"appt-{s}" for s in ["booked", "pending", "arrived", "checked-in", "cancelled"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Procedure?patient={pid}", PROCEDURES),
        ("Procedure?subject=Patient/{pid}", PROCEDURES),
        ("Condition?patient={pid}", CONDITIONS),
        ("ImagingStudy?patient={pid}", STUDIES),
        ("Coverage?patient={pid}", COVERAGES),
        ("Coverage?beneficiary=Patient/{pid}", COVERAGES),
        ("Coverage?patient={pid}&status=active", ["cov-0", "cov-1"]),
        ("Appointment?patient={pid}", APPOINTMENTS),
        (
            "Appointment?patient={pid}&status=booked,pending,arrived,checked-in",
            APPOINTMENTS[:4],
        ),
    ],
)
def test_patient_search_pages_through_all_matches(
    fhir_base_url: str,
    client: httpx.Client,
    patient_id: str,
    query: str,
    expected: list[str],
) -> None:
    resource_type = query.split("?", maxsplit=1)[0]
    found = _search_all(client, fhir_base_url, query.format(pid=patient_id))
    assert sorted(found) == sorted(f"{resource_type}/{patient_id}-{suffix}" for suffix in expected)


def test_r4_json_is_stored_as_sent(fhir_base_url: str, client: httpx.Client, patient_id: str) -> None:
    patient = client.get(f"{fhir_base_url}/Patient/{patient_id}")
    assert patient.status_code == 200
    assert patient.json()["birthDate"] == "1960-04-02"

    procedure = client.get(f"{fhir_base_url}/Procedure/{patient_id}-proc-0").json()
    assert procedure["performedDateTime"] == "2026-03-10T23:30:00-05:00"
    study = client.get(f"{fhir_base_url}/ImagingStudy/{patient_id}-img-0").json()
    assert study["series"][0]["modality"] == {"system": DCM, "code": "MR"}

"""Builders for the FHIR R4 resources and CDS Hooks requests the tests send, each checked against the R4B models.

Tests state the domain facts that matter to them (a 62323 on 2026-03-10, an M51.16 diagnosis) and the builders
supply valid surrounding FHIR, so a fixture can never pass by being malformed in a way a real EHR would not send.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

CPT = "http://www.ama-assn.org/go/cpt"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
SOPT = "urn:oid:2.16.840.1.113883.3.221.5"
PATIENT = "p1"


def valid(resource: dict[str, Any]) -> dict[str, Any]:
    """`resource`, after checking it is valid FHIR R4(B)."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource


def procedure(
    id: str,
    cpt: str,
    performed: str,
    *,
    status: str = "completed",
    encounter: str | None = None,
    text: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": id,
        "status": status,
        "subject": {"reference": f"Patient/{PATIENT}"},
        "code": {"coding": [{"system": CPT, "code": cpt}], **({"text": text} if text else {})},
        "performedDateTime": performed,
    }
    if encounter:
        resource["encounter"] = {"reference": encounter}
    resource.update(extra)
    return valid(resource)


def service_request(
    id: str,
    cpt: str | None,
    text: str,
    *,
    occurrence: str | None = None,
    reasons: Iterable[tuple[str, str]] = (),
    status: str = "draft",
    **extra: Any,
) -> dict[str, Any]:
    code: dict[str, Any] = {"text": text}
    if cpt:
        code["coding"] = [{"system": CPT, "code": cpt}]
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": id,
        "status": status,
        "intent": "order",
        "subject": {"reference": f"Patient/{PATIENT}"},
        "code": code,
    }
    if occurrence:
        resource["occurrenceDateTime"] = occurrence
    reason_list = [{"coding": [{"system": ICD10, "code": c, "display": d}]} for c, d in reasons]
    if reason_list:
        resource["reasonCode"] = reason_list
    resource.update(extra)
    return valid(resource)


def condition(id: str, icd10: str, display: str, *, clinical_status: str = "active") -> dict[str, Any]:
    return valid(
        {
            "resourceType": "Condition",
            "id": id,
            "clinicalStatus": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": clinical_status}
                ]
            },
            "subject": {"reference": f"Patient/{PATIENT}"},
            "code": {"coding": [{"system": ICD10, "code": icd10, "display": display}]},
        }
    )


def imaging_study(
    id: str,
    modality: str,
    started: str,
    *,
    instances: int = 2,
    encounter: str | None = None,
    procedure: str | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "ImagingStudy",
        "id": id,
        "status": "available",
        "subject": {"reference": f"Patient/{PATIENT}"},
        "started": started,
        "numberOfInstances": instances,
        "series": [
            {
                "uid": f"1.2.3.{abs(hash(id)) % 10_000}",
                "modality": {"system": DCM, "code": modality},
                "numberOfInstances": instances,
            }
        ],
    }
    if encounter:
        resource["encounter"] = {"reference": encounter}
    if procedure:
        resource["procedureReference"] = {"reference": procedure}
    return valid(resource)


def coverage(
    id: str, *, sopt: str | None = None, payor: str = "Acme Health", order: int | None = None
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Coverage",
        "id": id,
        "status": "active",
        "beneficiary": {"reference": f"Patient/{PATIENT}"},
        "payor": [{"display": payor}],
    }
    if sopt:
        resource["type"] = {"coding": [{"system": SOPT, "code": sopt}]}
    if order is not None:
        resource["order"] = order
    return valid(resource)


def appointment(
    id: str, cpt: str | None, start: str, *, status: str = "booked", based_on: str | None = None, text: str = ""
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": id,
        "status": status,
        "start": start,
        "end": start.replace("T09:", "T10:") if "T09:" in start else start,
        "participant": [{"actor": {"reference": f"Patient/{PATIENT}"}, "status": "accepted"}],
    }
    if cpt:
        resource["serviceType"] = [{"coding": [{"system": CPT, "code": cpt}], **({"text": text} if text else {})}]
    if based_on:
        resource["basedOn"] = [{"reference": based_on}]
    if text and not cpt:
        resource["description"] = text
    return valid(resource)


def searchset(resources: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    items = list(resources)
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(items),
        "entry": [{"fullUrl": f"urn:uuid:{r['resourceType']}-{r['id']}", "resource": dict(r)} for r in items],
    }


def collection(resources: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": dict(r)} for r in resources]}


def hook_request(
    hook: str,
    context: Mapping[str, Any] | None = None,
    *,
    procedures: Iterable[Mapping[str, Any]] | None = (),
    conditions: Iterable[Mapping[str, Any]] | None = (),
    imaging: Iterable[Mapping[str, Any]] | None = (),
    coverages: Iterable[Mapping[str, Any]] | None = (),
    appointments: Iterable[Mapping[str, Any]] | None = (),
    medication_administrations: Iterable[Mapping[str, Any]] | None = (),
    procedure_notes: Iterable[Mapping[str, Any]] | None = (),
    observations: Iterable[Mapping[str, Any]] | None = (),
    diagnostic_reports: Iterable[Mapping[str, Any]] | None = (),
    encounters: Iterable[Mapping[str, Any]] | None = (),
    medication_requests: Iterable[Mapping[str, Any]] | None = (),
    medication_statements: Iterable[Mapping[str, Any]] | None = (),
) -> dict[str, Any]:
    """A request with every prefetch key filled (None → JSON null, meaning "no data")."""

    def bundle_or_null(items: Iterable[Mapping[str, Any]] | None) -> dict[str, Any] | None:
        return None if items is None else searchset(items)

    return {
        "hook": hook,
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/dr-1", "patientId": PATIENT, **(context or {})},
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": PATIENT},
            "procedures": bundle_or_null(procedures),
            "conditions": bundle_or_null(conditions),
            "imagingStudies": bundle_or_null(imaging),
            "coverage": bundle_or_null(coverages),
            "appointments": bundle_or_null(appointments),
            "medicationAdministrations": bundle_or_null(medication_administrations),
            "procedureNotes": bundle_or_null(procedure_notes),
            "observations": bundle_or_null(observations),
            "diagnosticReports": bundle_or_null(diagnostic_reports),
            "encounters": bundle_or_null(encounters),
            "medicationRequests": bundle_or_null(medication_requests),
            "medicationStatements": bundle_or_null(medication_statements),
        },
    }


def order_sign(*orders: Mapping[str, Any], **prefetch: Any) -> dict[str, Any]:
    return hook_request("order-sign", {"draftOrders": collection(orders)}, **prefetch)


def rule_ids(response: Mapping[str, Any]) -> list[str]:
    return sorted(card["source"]["topic"]["code"] for card in response["cards"])

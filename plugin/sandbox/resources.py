"""FHIR R4 resources and CDS Hooks requests as plain dicts: the one builder behind the sandbox's scenario charts, the
test fixtures and the benchmark's realistic patients.

A caller states the facts that matter to it (a 62323 on 2026-03-10, an M51.16 diagnosis) and the builder writes the
FHIR around them. Whatever else a caller wants in a resource (meta, identifiers, performers, notes) comes in as
keyword arguments named for their FHIR elements and is written last, so it may also replace a built element.
Nothing is validated as it is built: the benchmark deliberately sends what real EHRs send, dateTimes without a zone
included. The sandbox validates what it loads (`valid`), and tests/plugin/sandbox/test_resources.py shows every
builder writes valid R4B with every option.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fhir_mappings.code_systems import CPT, DICOM_DCM, ICD_10_CM, SOURCE_OF_PAYMENT_TYPOLOGY

Resource = dict[str, Any]

# The patient, user and hook instance of the example requests in examples/ and of the tests.
EXAMPLE_PATIENT = "p1"
EXAMPLE_USER = "Practitioner/dr-1"
EXAMPLE_HOOK_INSTANCE = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"

_CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"


def valid(resource: Resource) -> Resource:
    """`resource`, after checking it is valid FHIR R4(B)."""
    # Imported here: `epidural-cds serve` reaches the sandbox through the CLI, and every service worker would
    # otherwise carry the R4B models (~9 MB, ~70 ms of start-up) that only loading and the tests use.
    from fhir.resources.R4B import get_fhir_model_class  # noqa: PLC0415

    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource


def study_uid(resource_id: str) -> str:
    """A DICOM UID (2.25 + UUID form) that stays the same for the same resource id."""
    return f"2.25.{uuid.uuid5(uuid.NAMESPACE_URL, resource_id).int}"


def _patient(patient: str) -> dict[str, str]:
    return {"reference": f"Patient/{patient}"}


def _procedure_code(cpt: str | None, text: str | None, modifiers: Sequence[str]) -> Resource:
    """The code with any CPT modifiers as further codings of the same system, as EHRs send them."""
    code: Resource = {}
    if cpt:
        code["coding"] = [{"system": CPT, "code": c} for c in (cpt, *modifiers)]
    if text:
        code["text"] = text
    return code


def _narrative(words: str) -> Resource:
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{words}</div>'}


def _reasons(diagnoses: Iterable[tuple[str, str]], conditions: Iterable[str]) -> Resource:
    """reasonCode from (ICD-10-CM code, display) pairs and reasonReference from Condition references, when any."""
    elements: Resource = {}
    codes = [{"coding": [{"system": ICD_10_CM, "code": code, "display": display}]} for code, display in diagnoses]
    if codes:
        elements["reasonCode"] = codes
    references = [{"reference": condition} for condition in conditions]
    if references:
        elements["reasonReference"] = references
    return elements


def procedure(
    id: str,
    cpt: str | None,
    performed: str | None,
    *,
    patient: str = EXAMPLE_PATIENT,
    status: str = "completed",
    text: str | None = None,
    modifiers: Sequence[str] = (),
    encounter: str | None = None,
    reasons: Iterable[tuple[str, str]] = (),
    reason_conditions: Iterable[str] = (),
    narrative: str | None = None,
    **elements: Any,
) -> Resource:
    """A Procedure; without `cpt` and `text` it has no code at all, as some interfaces write them. `narrative` is the
    resource's human-readable text, as EHRs generate it."""
    resource: Resource = {"resourceType": "Procedure", "id": id, "status": status, "subject": _patient(patient)}
    if narrative:
        resource["text"] = _narrative(narrative)
    if code := _procedure_code(cpt, text, modifiers):
        resource["code"] = code
    if performed:
        resource["performedDateTime"] = performed
    if encounter:
        resource["encounter"] = {"reference": encounter}
    resource.update(_reasons(reasons, reason_conditions))
    resource.update(elements)
    return resource


def service_request(
    id: str,
    cpt: str | None,
    text: str,
    *,
    patient: str = EXAMPLE_PATIENT,
    status: str = "draft",
    occurrence: str | None = None,
    modifiers: Sequence[str] = (),
    reasons: Iterable[tuple[str, str]] = (),
    reason_conditions: Iterable[str] = (),
    **elements: Any,
) -> Resource:
    """An order (draft by default, as the ordering screen holds it)."""
    resource: Resource = {
        "resourceType": "ServiceRequest",
        "id": id,
        "status": status,
        "intent": "order",
        "subject": _patient(patient),
        "code": _procedure_code(cpt, text, modifiers),
    }
    if occurrence:
        resource["occurrenceDateTime"] = occurrence
    resource.update(_reasons(reasons, reason_conditions))
    resource.update(elements)
    return resource


def condition(
    id: str,
    icd10: str,
    display: str,
    *,
    patient: str = EXAMPLE_PATIENT,
    clinical_status: str = "active",
    confirmed: bool = False,
    problem_list: bool = False,
    text: str | None = None,
    narrative: str | None = None,
    **elements: Any,
) -> Resource:
    """A diagnosis; `confirmed` and `problem_list` add the verification status and category EHR problem lists carry,
    `text` the words of its code and `narrative` the resource's human-readable text."""
    resource: Resource = {
        "resourceType": "Condition",
        "id": id,
        "clinicalStatus": {"coding": [{"system": _CONDITION_CLINICAL, "code": clinical_status}]},
    }
    if narrative:
        resource["text"] = _narrative(narrative)
    if confirmed:
        resource["verificationStatus"] = {"coding": [{"system": _CONDITION_VERIFICATION, "code": "confirmed"}]}
    if problem_list:
        resource["category"] = [{"coding": [{"system": _CONDITION_CATEGORY, "code": "problem-list-item"}]}]
    resource["subject"] = _patient(patient)
    resource["code"] = {"coding": [{"system": ICD_10_CM, "code": icd10, "display": display}]}
    if text:
        resource["code"]["text"] = text
    resource.update(elements)
    return resource


def imaging_study(
    id: str,
    modality: str,
    started: str,
    *,
    patient: str = EXAMPLE_PATIENT,
    instances: int = 2,
    encounter: str | None = None,
    procedure: str | None = None,
    modality_display: str | None = None,
    uid: str | None = None,
    series: Mapping[str, Any] | None = None,
    **elements: Any,
) -> Resource:
    """An imaging study of one series. `modality_display` also names the modality at study level, as PACS exports do;
    `uid` gives the study its DICOM identifier; `series` adds to (or replaces) the series' elements."""
    resource: Resource = {"resourceType": "ImagingStudy", "id": id}
    if uid:
        resource["identifier"] = [{"system": "urn:dicom:uid", "value": f"urn:oid:{uid}"}]
    resource["status"] = "available"
    if modality_display:
        resource["modality"] = [{"system": DICOM_DCM, "code": modality, "display": modality_display}]
        resource["numberOfSeries"] = 1
    resource.update({"subject": _patient(patient), "started": started, "numberOfInstances": instances})
    resource["series"] = [
        {
            "uid": study_uid(f"{id}/1"),
            "modality": {"system": DICOM_DCM, "code": modality},
            "numberOfInstances": instances,
            **(series or {}),
        }
    ]
    if encounter:
        resource["encounter"] = {"reference": encounter}
    if procedure:
        resource["procedureReference"] = {"reference": procedure}
    resource.update(elements)
    return resource


def coverage(
    id: str,
    *,
    patient: str = EXAMPLE_PATIENT,
    sopt: str | None = None,
    sopt_display: str | None = None,
    payor: str = "Acme Health",
    payor_reference: str | None = None,
    order: int | None = None,
    **elements: Any,
) -> Resource:
    """A coverage; `sopt` is its Source of Payment Typology code (1 Medicare, 111 Medicare Advantage...)."""
    payor_element = {"display": payor} if payor_reference is None else {"reference": payor_reference, "display": payor}
    resource: Resource = {
        "resourceType": "Coverage",
        "id": id,
        "status": "active",
        "beneficiary": _patient(patient),
        "payor": [payor_element],
    }
    if sopt:
        coding = {"system": SOURCE_OF_PAYMENT_TYPOLOGY, "code": sopt}
        resource["type"] = {"coding": [coding | ({"display": sopt_display} if sopt_display else {})]}
    if order is not None:
        resource["order"] = order
    resource.update(elements)
    return resource


def prior_authorization(
    id: str,
    number: str,
    start: str,
    end: str,
    *,
    patient: str = EXAMPLE_PATIENT,
    insurer: str = "Acme Health",
    cpt: Sequence[str] = (),
    outcome: str = "complete",
    **elements: Any,
) -> Resource:
    """A payer's answer to a prior authorization request (a ClaimResponse for use preauthorization), approved unless
    `outcome` says otherwise: `number` is its preAuthRef, valid from `start` to `end`, for the `cpt` codes it names
    (as added lines, each certified in total by its Da Vinci PAS review action, X12 306 A1)."""
    resource: Resource = {
        "resourceType": "ClaimResponse",
        "id": id,
        "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "professional"}]},
        "use": "preauthorization",
        "patient": _patient(patient),
        "created": start,
        "insurer": {"display": insurer},
        "outcome": outcome,
        "preAuthRef": number,
        "preAuthPeriod": {"start": start, "end": end},
    }
    if cpt:
        resource["addItem"] = [
            {"productOrService": {"coding": [{"system": CPT, "code": code}]}, "adjudication": [_CERTIFIED]}
            for code in cpt
        ]
    resource.update(elements)
    return resource


_PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
_CERTIFIED: Resource = {
    "extension": [
        {
            "url": _PAS + "extension-reviewAction",
            "extension": [
                {
                    "url": _PAS + "extension-reviewActionCode",
                    "valueCodeableConcept": {
                        "coding": [
                            {
                                "system": "https://codesystem.x12.org/005010/306",
                                "code": "A1",
                                "display": "Certified in total",
                            }
                        ]
                    },
                }
            ],
        }
    ],
    "category": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/adjudication", "code": "submitted"}]},
}


def appointment(
    id: str,
    cpt: str | None,
    start: str,
    *,
    patient: str = EXAMPLE_PATIENT,
    status: str = "booked",
    end: str | None = None,
    based_on: str | None = None,
    text: str = "",
    practitioner: str | None = None,
    practitioner_status: str = "accepted",
    **elements: Any,
) -> Resource:
    """An appointment; `text` names the service beside `cpt`, or without a code is the appointment's description.
    Without `end`, a 09:00 appointment ends at 10:00 and any other at its start."""
    participants = [{"actor": _patient(patient), "status": "accepted"}]
    if practitioner:
        participants.append({"actor": {"reference": practitioner}, "status": practitioner_status})
    resource: Resource = {
        "resourceType": "Appointment",
        "id": id,
        "status": status,
        "start": start,
        "end": end or (start.replace("T09:", "T10:") if "T09:" in start else start),
        "participant": participants,
    }
    if cpt:
        resource["serviceType"] = [{"coding": [{"system": CPT, "code": cpt}], **({"text": text} if text else {})}]
    if based_on:
        resource["basedOn"] = [{"reference": based_on}]
    if text and not cpt:
        resource["description"] = text
    resource.update(elements)
    return resource


def searchset(
    resources: Iterable[Mapping[str, Any]],
    *,
    base: str | None = None,
    included: int = 0,
    id: str | None = None,
    self_link: str | None = None,
) -> Resource:
    """A searchset Bundle as servers return them; the last `included` resources are `_include` matches. Entries get
    full URLs under `base`, or `urn:uuid:` ones without it."""
    items = [dict(resource) for resource in resources]
    bundle: Resource = {"resourceType": "Bundle"}
    if id:
        bundle["id"] = id
    bundle.update({"type": "searchset", "total": len(items) - included})
    if self_link:
        bundle["link"] = [{"relation": "self", "url": self_link}]
    bundle["entry"] = [
        {
            "fullUrl": f"{base}/{item['resourceType']}/{item['id']}"
            if base
            else f"urn:uuid:{item['resourceType']}-{item['id']}",
            "resource": item,
            "search": {"mode": "include" if position >= len(items) - included else "match"},
        }
        for position, item in enumerate(items)
    ]
    return bundle


def collection(resources: Iterable[Mapping[str, Any]]) -> Resource:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": dict(r)} for r in resources]}


def fhir_authorization(access_token: str, subject: str) -> Resource:
    """The `fhirAuthorization` of a request: a bearer token to read the patient's record (snake_case on the wire)."""
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": subject,
    }


def cds_request(
    hook: str,
    context: Mapping[str, Any] | None = None,
    *,
    patient: str = EXAMPLE_PATIENT,
    user: str = EXAMPLE_USER,
    hook_instance: str = EXAMPLE_HOOK_INSTANCE,
    fhir_server: str | None = None,
    authorization: Mapping[str, Any] | None = None,
    prefetch: Mapping[str, Any] | None = None,
) -> Resource:
    """A CDS Hooks request; `prefetch` goes in as given (none at all when empty)."""
    request: Resource = {
        "hook": hook,
        "hookInstance": hook_instance,
        "context": {"userId": user, "patientId": patient, **(context or {})},
    }
    if fhir_server is not None:
        request["fhirServer"] = fhir_server
    if authorization is not None:
        request["fhirAuthorization"] = dict(authorization)
    if prefetch:
        request["prefetch"] = dict(prefetch)
    return request


def hook_request(
    hook: str,
    context: Mapping[str, Any] | None = None,
    *,
    patient: str = EXAMPLE_PATIENT,
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
    encounter: Mapping[str, Any] | None = None,
) -> Resource:
    """A request with every prefetch key filled (None → JSON null, meaning "no data"; the encounter is one resource,
    null unless given)."""

    def bundle_or_null(items: Iterable[Mapping[str, Any]] | None) -> Resource | None:
        return None if items is None else searchset(items)

    prefetch = {
        "patient": {"resourceType": "Patient", "id": patient},
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
        "encounter": encounter,
    }
    return cds_request(hook, context, patient=patient, prefetch=prefetch)


def order_sign(*orders: Mapping[str, Any], **records: Any) -> Resource:
    """An order-sign request for `orders`, every prefetch key filled (see `hook_request`)."""
    return hook_request("order-sign", {"draftOrders": collection(orders)}, **records)

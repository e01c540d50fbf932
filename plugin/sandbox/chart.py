"""One synthetic patient's chart as FHIR R4 resources, dated relative to a given day.

Every resource gets a client-assigned id under the patient's id, so loading a chart twice (PUT) replaces it instead
of duplicating it, and a sandbox tag, so scenario data on a shared public server can be found and told apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from fhir_mappings.code_systems import CPT, DICOM_DCM, HCPCS, ICD_10_CM, SOURCE_OF_PAYMENT_TYPOLOGY

Resource = dict[str, Any]

SANDBOX_TAG = {
    "system": "https://epidural-cds.org/fhir/CodeSystem/sandbox",
    "code": "synthetic",
    "display": "epidural-cds sandbox scenario (synthetic data)",
}
PRACTITIONER_ID = "ecds-practitioner"
PRACTITIONER = f"Practitioner/{PRACTITIONER_ID}"
# The clinic's UTC offset: sessions are dated in it, as an EHR writes them.
CLINIC_OFFSET = "-05:00"
_CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_ENCOUNTER_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


@dataclass(frozen=True, slots=True)
class Dx:
    """An ICD-10-CM diagnosis as a scenario states it."""

    code: str
    display: str


@dataclass(frozen=True, slots=True)
class Reason:
    """Why an order or injection was done: the diagnosis code, and the Condition on record it comes from."""

    dx: Dx
    condition: str | None = None


def at(day: date, clock: str = "09:30") -> str:
    """A FHIR dateTime on `day` at the clinic."""
    return f"{day.isoformat()}T{clock}:00{CLINIC_OFFSET}"


def study_uid(resource_id: str) -> str:
    """A DICOM UID (2.25 + UUID form) that stays the same for the same resource id."""
    return f"2.25.{uuid.uuid5(uuid.NAMESPACE_URL, resource_id).int}"


def _reasons(reasons: Sequence[Reason]) -> Resource:
    fields: Resource = {}
    if reasons:
        fields["reasonCode"] = [
            {"coding": [{"system": ICD_10_CM, "code": r.dx.code, "display": r.dx.display}]} for r in reasons
        ]
    references = [{"reference": r.condition} for r in reasons if r.condition]
    if references:
        fields["reasonReference"] = references
    return fields


def _procedure_code(cpt: str, text: str, modifiers: Sequence[str] = ()) -> Resource:
    """The code with any CPT modifiers as further codings of the same system, as EHRs send them."""
    return {"coding": [{"system": CPT, "code": code} for code in (cpt, *modifiers)], "text": text}


@dataclass(frozen=True, slots=True)
class Documentation:
    """What a procedure note records beyond the code: the pre-submission checklist, item by item."""

    body_site: str
    notes: tuple[str, ...]
    drug: tuple[str, str] | None = None
    outcome: str | None = None
    complications: str | None = None
    follow_up: str | None = None


class Chart:
    """A patient and their record; each method adds one resource and returns its reference."""

    def __init__(self, patient_id: str, today: date, *, given: str, gender: str, born: date) -> None:
        self.patient_id = patient_id
        self.today = today
        self.resources: list[Resource] = []
        self._add(
            {
                "resourceType": "Patient",
                "id": patient_id,
                "name": [{"use": "official", "family": "Sandbox", "given": [given]}],
                "gender": gender,
                "birthDate": born.isoformat(),
            }
        )
        self._add(
            {
                "resourceType": "Practitioner",
                "id": PRACTITIONER_ID,
                "name": [{"family": "Demo", "given": ["Pat"], "prefix": ["Dr."]}],
            }
        )

    @property
    def patient(self) -> Resource:
        return {"reference": f"Patient/{self.patient_id}"}

    def id_for(self, key: str) -> str:
        return f"{self.patient_id}-{key}"

    def _add(self, resource: Resource) -> str:
        resource["meta"] = {"tag": [dict(SANDBOX_TAG)]}
        self.resources.append(resource)
        return f"{resource['resourceType']}/{resource['id']}"

    def coverage(self, payor: str, *, sopt: str | None = None) -> str:
        resource: Resource = {
            "resourceType": "Coverage",
            "id": self.id_for("coverage"),
            "status": "active",
            "beneficiary": self.patient,
            "payor": [{"display": payor}],
            "order": 1,
        }
        if sopt is not None:
            resource["type"] = {"coding": [{"system": SOURCE_OF_PAYMENT_TYPOLOGY, "code": sopt}]}
        return self._add(resource)

    def condition(self, key: str, dx: Dx, *, recorded: date) -> str:
        return self._add(
            {
                "resourceType": "Condition",
                "id": self.id_for(key),
                "clinicalStatus": {"coding": [{"system": _CONDITION_CLINICAL, "code": "active"}]},
                "verificationStatus": {"coding": [{"system": _CONDITION_VERIFICATION, "code": "confirmed"}]},
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                "code": "problem-list-item",
                            }
                        ]
                    }
                ],
                "code": {"coding": [{"system": ICD_10_CM, "code": dx.code, "display": dx.display}], "text": dx.display},
                "subject": self.patient,
                "recordedDate": recorded.isoformat(),
            }
        )

    def encounter(self, key: str, on: date) -> str:
        """A visit in progress."""
        return self._add(
            {
                "resourceType": "Encounter",
                "id": self.id_for(key),
                "status": "in-progress",
                "class": {"system": _ENCOUNTER_CLASS, "code": "AMB", "display": "ambulatory"},
                "type": [{"text": "Interventional pain procedure visit"}],
                "subject": self.patient,
                "participant": [{"individual": {"reference": PRACTITIONER}}],
                "period": {"start": at(on, "08:30")},
            }
        )

    def physical_therapy(self, key: str, on: date) -> str:
        """Conservative care before any injection: a course of physical therapy that did not help."""
        return self._add(
            {
                "resourceType": "Procedure",
                "id": self.id_for(key),
                "status": "completed",
                "code": {
                    "coding": [{"system": CPT, "code": "97110", "display": "Therapeutic exercises"}],
                    "text": "Physical therapy, therapeutic exercise (8-week course)",
                },
                "subject": self.patient,
                "performedPeriod": {"start": at(on, "10:00")},
                "note": [{"text": "Eight weeks of physical therapy and NSAIDs failed to relieve the radicular pain."}],
            }
        )

    def therapy_visit(self, key: str, on: date) -> str:
        """A physical therapy visit, known by its type only (no procedure recorded for it)."""
        return self._add(
            {
                "resourceType": "Encounter",
                "id": self.id_for(key),
                "status": "finished",
                "class": {"system": _ENCOUNTER_CLASS, "code": "AMB", "display": "ambulatory"},
                "type": [{"text": "Physical therapy visit"}],
                "subject": self.patient,
                "period": {"start": at(on, "10:00"), "end": at(on, "11:00")},
            }
        )

    def prescription(self, key: str, on: date, drug: str) -> str:
        """A drug ordered for the patient (`drug`: its name, as order screens write it)."""
        return self._add(
            {
                "resourceType": "MedicationRequest",
                "id": self.id_for(key),
                "status": "completed",
                "intent": "order",
                "medicationCodeableConcept": {"text": drug},
                "subject": self.patient,
                "authoredOn": at(on, "09:00"),
                "requester": {"reference": PRACTITIONER},
            }
        )

    def injection(
        self,
        key: str,
        cpt: str,
        on: date,
        text: str,
        *,
        reasons: Sequence[Reason],
        documentation: Documentation,
        encounter: str | None = None,
    ) -> str:
        """A performed spinal injection."""
        resource: Resource = {
            "resourceType": "Procedure",
            "id": self.id_for(key),
            "status": "completed",
            "code": _procedure_code(cpt, text),
            "subject": self.patient,
            "performedDateTime": at(on),
            "performer": [{"actor": {"reference": PRACTITIONER}}],
            **_reasons(reasons),
            "bodySite": [{"text": documentation.body_site}],
            "note": [{"text": note} for note in documentation.notes],
        }
        if encounter is not None:
            resource["encounter"] = {"reference": encounter}
        if documentation.drug is not None:
            code, display = documentation.drug
            resource["usedCode"] = [{"coding": [{"system": HCPCS, "code": code, "display": display}]}]
        if documentation.outcome is not None:
            resource["outcome"] = {"text": documentation.outcome}
        if documentation.complications is not None:
            resource["complication"] = [{"text": documentation.complications}]
        if documentation.follow_up is not None:
            resource["followUp"] = [{"text": documentation.follow_up}]
        return self._add(resource)

    def injection_in_words(self, key: str, on: date, text: str) -> str:
        """An injection documented only in the clinician's words, with no procedure code."""
        return self._add(
            {
                "resourceType": "Procedure",
                "id": self.id_for(key),
                "status": "completed",
                "code": {"text": text},
                "subject": self.patient,
                "performedDateTime": at(on),
                "performer": [{"actor": {"reference": PRACTITIONER}}],
            }
        )

    def uncoded_procedure(self, key: str, on: date) -> str:
        """A Procedure an EHR interface wrote without any code or words: nothing can say what was done."""
        return self._add(
            {
                "resourceType": "Procedure",
                "id": self.id_for(key),
                "status": "completed",
                "subject": self.patient,
                "performedDateTime": at(on, "14:00"),
            }
        )

    def fluoroscopy_images(
        self, key: str, on: date, *, procedure: str, encounter: str | None, instances: int = 2
    ) -> str:
        """The fluoroscopy (RF) study of an injection; `instances` images stored (two views, or none archived)."""
        resource_id = self.id_for(key)
        resource: Resource = {
            "resourceType": "ImagingStudy",
            "id": resource_id,
            "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{study_uid(resource_id)}"}],
            "status": "available",
            "modality": [{"system": DICOM_DCM, "code": "RF", "display": "Radio Fluoroscopy"}],
            "subject": self.patient,
            "started": at(on, "09:40"),
            "procedureReference": {"reference": procedure},
            "numberOfSeries": 1,
            "numberOfInstances": instances,
            "description": "Fluoroscopic guidance for epidural injection",
            "series": [
                {
                    "uid": study_uid(resource_id + "/1"),
                    "number": 1,
                    "modality": {"system": DICOM_DCM, "code": "RF"},
                    "description": "AP and lateral views with contrast",
                    "numberOfInstances": instances,
                }
            ],
        }
        if encounter is not None:
            resource["encounter"] = {"reference": encounter}
        return self._add(resource)

    def signed_order(self, key: str, cpt: str, text: str, *, reasons: Sequence[Reason]) -> str:
        """An injection order signed earlier, waiting for its appointment."""
        return self._add(
            {
                "resourceType": "ServiceRequest",
                "id": self.id_for(key),
                "status": "active",
                "intent": "order",
                "code": _procedure_code(cpt, text),
                "subject": self.patient,
                "requester": {"reference": PRACTITIONER},
                "authoredOn": at(self.today, "08:00"),
                **_reasons(reasons),
            }
        )

    def booking(self, key: str, on: date, *, order: str) -> str:
        """A booked appointment whose procedure is named only by the order it is based on."""
        return self._add(
            {
                "resourceType": "Appointment",
                "id": self.id_for(key),
                "status": "booked",
                "serviceType": [{"text": "Interventional pain procedure"}],
                "basedOn": [{"reference": order}],
                "start": at(on, "09:00"),
                "end": at(on, "10:00"),
                "participant": [
                    {"actor": self.patient, "status": "accepted"},
                    {"actor": {"reference": PRACTITIONER}, "status": "accepted"},
                ],
            }
        )

    def visit(self, key: str, on: date, visit_type: str, *, status: str = "booked") -> str:
        """An appointment booked the way most schedulers book one: the clinic's own visit type, no procedure code."""
        return self._add(self.proposed_visit(key, on, visit_type, status=status))

    def proposed_visit(self, key: str, on: date, visit_type: str, *, status: str = "proposed") -> Resource:
        """An appointment with the clinic's own visit type, not (yet) part of the record."""
        return {
            "resourceType": "Appointment",
            "id": self.id_for(key),
            "status": status,
            "appointmentType": {"text": visit_type},
            "start": at(on, "09:00"),
            "end": at(on, "10:00"),
            "participant": [
                {"actor": self.patient, "status": "accepted"},
                {"actor": {"reference": PRACTITIONER}, "status": "accepted"},
            ],
        }

    def draft_order(
        self,
        key: str,
        cpt: str,
        text: str,
        *,
        reasons: Sequence[Reason] = (),
        modifiers: Sequence[str] = (),
        quantity: int | None = None,
    ) -> Resource:
        """A draft ServiceRequest as the ordering screen holds it; not part of the record."""
        resource: Resource = {
            "resourceType": "ServiceRequest",
            "id": self.id_for(key),
            "status": "draft",
            "intent": "order",
            "code": _procedure_code(cpt, text, modifiers),
            "subject": self.patient,
            "requester": {"reference": PRACTITIONER},
            "authoredOn": at(self.today, "08:45"),
            **_reasons(reasons),
        }
        if quantity is not None:
            resource["quantityQuantity"] = {"value": quantity, "unit": "level"}
        return resource

    def proposed_appointment(self, key: str, cpt: str, on: date, text: str) -> Resource:
        """The appointment a scheduler is about to book; not part of the record."""
        return {
            "resourceType": "Appointment",
            "id": self.id_for(key),
            "status": "proposed",
            "serviceType": [{"coding": [{"system": CPT, "code": cpt}], "text": text}],
            "start": at(on, "09:00"),
            "end": at(on, "10:00"),
            "participant": [
                {"actor": self.patient, "status": "accepted"},
                {"actor": {"reference": PRACTITIONER}, "status": "needs-action"},
            ],
        }

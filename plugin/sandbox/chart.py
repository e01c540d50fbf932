"""One synthetic patient's chart as FHIR R4 resources, dated relative to a given day.

Every resource gets a client-assigned id under the patient's id, so loading a chart twice (PUT) replaces it instead
of duplicating it, and a sandbox tag, so scenario data on a shared public server can be found and told apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from fhir_mappings.code_systems import CPT, HCPCS
from plugin.sandbox import resources
from plugin.sandbox.resources import Resource, study_uid

SANDBOX_TAG = {
    "system": "https://epidural-cds.org/fhir/CodeSystem/sandbox",
    "code": "synthetic",
    "display": "epidural-cds sandbox scenario (synthetic data)",
}
PRACTITIONER_ID = "ecds-practitioner"
PRACTITIONER = f"Practitioner/{PRACTITIONER_ID}"
# The clinic's UTC offset: sessions are dated in it, as an EHR writes them.
CLINIC_OFFSET = "-05:00"
_ENCOUNTER_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PLACE_OF_SERVICE = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"


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


def _diagnoses(reasons: Sequence[Reason]) -> list[tuple[str, str]]:
    return [(reason.dx.code, reason.dx.display) for reason in reasons]


def _conditions(reasons: Sequence[Reason]) -> list[str]:
    return [reason.condition for reason in reasons if reason.condition]


@dataclass(frozen=True, slots=True)
class Site:
    """Where a scenario's clinic furnishes its services: a Location contained in the resource that names it, so the
    service reads the state without fetching a Location (as an EHR that sends it inline)."""

    name: str
    city: str
    state: str
    place_of_service: tuple[str, str] = ("11", "Office")

    def contained(self) -> Resource:
        code, display = self.place_of_service
        return {
            "resourceType": "Location",
            "id": "site",
            "status": "active",
            "name": self.name,
            "type": [{"coding": [{"system": PLACE_OF_SERVICE, "code": code, "display": display}]}],
            "address": {"city": self.city, "state": self.state, "country": "US"},
        }

    def placed(self, resource: Resource, element: str) -> Resource:
        """`resource` with the Location contained and named in `element` (a reference, or a participant's actor)."""
        reference = {"reference": "#site", "display": self.name}
        resource["contained"] = [self.contained()]
        if element == "participant":
            resource["participant"].append({"actor": reference, "status": "accepted"})
        elif element == "location":
            resource["location"] = [{"location": reference, "status": "active"}]
        else:
            resource[element] = [reference]
        return resource


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
        return self._add(
            resources.coverage(self.id_for("coverage"), patient=self.patient_id, sopt=sopt, payor=payor, order=1)
        )

    def condition(self, key: str, dx: Dx, *, recorded: date) -> str:
        return self._add(
            resources.condition(
                self.id_for(key),
                dx.code,
                dx.display,
                patient=self.patient_id,
                confirmed=True,
                problem_list=True,
                text=dx.display,
                recordedDate=recorded.isoformat(),
            )
        )

    def encounter(self, key: str, on: date, *, site: Site | None = None) -> str:
        """A visit in progress, at `site` when given."""
        resource: Resource = {
            "resourceType": "Encounter",
            "id": self.id_for(key),
            "status": "in-progress",
            "class": {"system": _ENCOUNTER_CLASS, "code": "AMB", "display": "ambulatory"},
            "type": [{"text": "Interventional pain procedure visit"}],
            "subject": self.patient,
            "participant": [{"individual": {"reference": PRACTITIONER}}],
            "period": {"start": at(on, "08:30")},
        }
        return self._add(site.placed(resource, "location") if site else resource)

    def physical_therapy(self, key: str, on: date) -> str:
        """Conservative care before any injection: a course of physical therapy that did not help."""
        return self._add(
            resources.procedure(
                self.id_for(key),
                None,
                None,
                patient=self.patient_id,
                code={
                    "coding": [{"system": CPT, "code": "97110", "display": "Therapeutic exercises"}],
                    "text": "Physical therapy, therapeutic exercise (8-week course)",
                },
                performedPeriod={"start": at(on, "10:00")},
                note=[{"text": "Eight weeks of physical therapy and NSAIDs failed to relieve the radicular pain."}],
            )
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
        documented: Resource = {}
        if documentation.drug is not None:
            code, display = documentation.drug
            documented["usedCode"] = [{"coding": [{"system": HCPCS, "code": code, "display": display}]}]
        if documentation.outcome is not None:
            documented["outcome"] = {"text": documentation.outcome}
        if documentation.complications is not None:
            documented["complication"] = [{"text": documentation.complications}]
        if documentation.follow_up is not None:
            documented["followUp"] = [{"text": documentation.follow_up}]
        return self._add(
            resources.procedure(
                self.id_for(key),
                cpt,
                at(on),
                patient=self.patient_id,
                text=text,
                encounter=encounter,
                reasons=_diagnoses(reasons),
                reason_conditions=_conditions(reasons),
                performer=[{"actor": {"reference": PRACTITIONER}}],
                bodySite=[{"text": documentation.body_site}],
                note=[{"text": note} for note in documentation.notes],
                **documented,
            )
        )

    def injection_in_words(self, key: str, on: date, text: str) -> str:
        """An injection documented only in the clinician's words, with no procedure code."""
        return self._add(
            resources.procedure(
                self.id_for(key),
                None,
                at(on),
                patient=self.patient_id,
                text=text,
                performer=[{"actor": {"reference": PRACTITIONER}}],
            )
        )

    def uncoded_procedure(self, key: str, on: date) -> str:
        """A Procedure an EHR interface wrote without any code or words: nothing can say what was done."""
        return self._add(resources.procedure(self.id_for(key), None, at(on, "14:00"), patient=self.patient_id))

    def fluoroscopy_images(
        self, key: str, on: date, *, procedure: str, encounter: str | None, instances: int = 2
    ) -> str:
        """The fluoroscopy (RF) study of an injection; `instances` images stored (two views, or none archived)."""
        resource_id = self.id_for(key)
        return self._add(
            resources.imaging_study(
                resource_id,
                "RF",
                at(on, "09:40"),
                patient=self.patient_id,
                instances=instances,
                encounter=encounter,
                procedure=procedure,
                modality_display="Radio Fluoroscopy",
                uid=study_uid(resource_id),
                series={"number": 1, "description": "AP and lateral views with contrast"},
                description="Fluoroscopic guidance for epidural injection",
            )
        )

    def signed_order(self, key: str, cpt: str, text: str, *, reasons: Sequence[Reason]) -> str:
        """An injection order signed earlier, waiting for its appointment."""
        return self._add(
            resources.service_request(
                self.id_for(key),
                cpt,
                text,
                patient=self.patient_id,
                status="active",
                reasons=_diagnoses(reasons),
                reason_conditions=_conditions(reasons),
                requester={"reference": PRACTITIONER},
                authoredOn=at(self.today, "08:00"),
            )
        )

    def booking(self, key: str, on: date, *, order: str) -> str:
        """A booked appointment whose procedure is named only by the order it is based on."""
        return self._add(
            resources.appointment(
                self.id_for(key),
                None,
                at(on, "09:00"),
                patient=self.patient_id,
                end=at(on, "10:00"),
                based_on=order,
                practitioner=PRACTITIONER,
                serviceType=[{"text": "Interventional pain procedure"}],
            )
        )

    def visit(self, key: str, on: date, visit_type: str, *, status: str = "booked") -> str:
        """An appointment booked the way most schedulers book one: the clinic's own visit type, no procedure code."""
        return self._add(self.proposed_visit(key, on, visit_type, status=status))

    def proposed_visit(self, key: str, on: date, visit_type: str, *, status: str = "proposed") -> Resource:
        """An appointment with the clinic's own visit type, not (yet) part of the record."""
        return resources.appointment(
            self.id_for(key),
            None,
            at(on, "09:00"),
            patient=self.patient_id,
            status=status,
            end=at(on, "10:00"),
            practitioner=PRACTITIONER,
            appointmentType={"text": visit_type},
        )

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
        quantity_element: Resource = (
            {} if quantity is None else {"quantityQuantity": {"value": quantity, "unit": "level"}}
        )
        return resources.service_request(
            self.id_for(key),
            cpt,
            text,
            patient=self.patient_id,
            modifiers=modifiers,
            reasons=_diagnoses(reasons),
            reason_conditions=_conditions(reasons),
            requester={"reference": PRACTITIONER},
            authoredOn=at(self.today, "08:45"),
            **quantity_element,
        )

    def proposed_appointment(self, key: str, cpt: str, on: date, text: str) -> Resource:
        """The appointment a scheduler is about to book; not part of the record."""
        return resources.appointment(
            self.id_for(key),
            cpt,
            at(on, "09:00"),
            patient=self.patient_id,
            status="proposed",
            end=at(on, "10:00"),
            text=text,
            practitioner=PRACTITIONER,
            practitioner_status="needs-action",
        )

"""The record data a hook call works on, as plain values: the prefetch keys of the contract (each with its search and
its name in a card) and what was gathered for each. No I/O here, so the rules can read it: the fetching is in
`plugin.hooks.patient_data`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class DataKey(StrEnum):
    """The prefetch keys of the contract, each with the query that fetches it."""

    PATIENT = "patient"
    PROCEDURES = "procedures"
    CONDITIONS = "conditions"
    IMAGING_STUDIES = "imagingStudies"
    COVERAGE = "coverage"
    APPOINTMENTS = "appointments"
    MEDICATION_ADMINISTRATIONS = "medicationAdministrations"
    PROCEDURE_NOTES = "procedureNotes"
    OBSERVATIONS = "observations"
    DIAGNOSTIC_REPORTS = "diagnosticReports"
    ENCOUNTERS = "encounters"
    MEDICATION_REQUESTS = "medicationRequests"
    MEDICATION_STATEMENTS = "medicationStatements"
    ENCOUNTER = "encounter"

    @property
    def template(self) -> str:
        return _TEMPLATES[self]

    @property
    def described(self) -> str:
        return _DESCRIPTIONS[self]

    @property
    def context_field(self) -> str:
        """The context field its template names besides the patient; only hooks whose context has it declare it."""
        return _CONTEXT_FIELDS.get(self, "patientId")


# Only root-level context tokens may appear in templates, so the searches cannot narrow by order or date.
# `encounter` extends the contract's list of keys: the encounter hooks' context names the encounter.
_TEMPLATES = {
    DataKey.PATIENT: "Patient/{{context.patientId}}",
    DataKey.PROCEDURES: "Procedure?patient={{context.patientId}}",
    DataKey.CONDITIONS: "Condition?patient={{context.patientId}}",
    DataKey.IMAGING_STUDIES: "ImagingStudy?patient={{context.patientId}}",
    DataKey.COVERAGE: "Coverage?patient={{context.patientId}}&_include=Coverage:payor",
    DataKey.APPOINTMENTS: "Appointment?patient={{context.patientId}}&_include=Appointment:based-on",
    DataKey.MEDICATION_ADMINISTRATIONS: "MedicationAdministration?patient={{context.patientId}}",
    # LOINC 28570-0 "Procedure note": the notes a discharge check reads for drug, dose, response and scores.
    DataKey.PROCEDURE_NOTES: "DocumentReference?patient={{context.patientId}}&type=http://loinc.org|28570-0",
    # Pain severity scores (0-10) before and after sessions, for payers' repeat criteria.
    DataKey.OBSERVATIONS: "Observation?patient={{context.patientId}}&code=http://loinc.org|72514-3,http://loinc.org|38208-5",
    # Radiology reports (LOINC LP29684-5 Radiology), for payers asking for a recent MRI or CT.
    DataKey.DIAGNOSTIC_REPORTS: "DiagnosticReport?patient={{context.patientId}}&category=http://loinc.org|LP29684-5",
    # Conservative care before an injection: physical therapy visits, and the drugs ordered or taken. Encounters are
    # not narrowed by type, since sites code therapy visits in their own ways.
    DataKey.ENCOUNTERS: "Encounter?patient={{context.patientId}}",
    DataKey.MEDICATION_REQUESTS: "MedicationRequest?patient={{context.patientId}}",
    DataKey.MEDICATION_STATEMENTS: "MedicationStatement?patient={{context.patientId}}",
    # Its diagnoses (Encounter.diagnosis) and its Location, the state where the service is furnished.
    DataKey.ENCOUNTER: "Encounter/{{context.encounterId}}",
}
_CONTEXT_FIELDS = {DataKey.ENCOUNTER: "encounterId"}
_DESCRIPTIONS = {
    DataKey.PATIENT: "the patient",
    DataKey.PROCEDURES: "procedure history",
    DataKey.CONDITIONS: "diagnoses",
    DataKey.IMAGING_STUDIES: "imaging studies",
    DataKey.COVERAGE: "insurance coverage",
    DataKey.APPOINTMENTS: "appointments",
    DataKey.MEDICATION_ADMINISTRATIONS: "drugs given",
    DataKey.PROCEDURE_NOTES: "procedure notes",
    DataKey.OBSERVATIONS: "pain scores",
    DataKey.DIAGNOSTIC_REPORTS: "radiology reports",
    DataKey.ENCOUNTERS: "visits",
    DataKey.MEDICATION_REQUESTS: "medication orders",
    DataKey.MEDICATION_STATEMENTS: "medication statements",
    DataKey.ENCOUNTER: "the encounter",
}

PREFETCH_TEMPLATES: dict[str, str] = {key.value: key.template for key in DataKey if key.context_field == "patientId"}
"""The keys every service declares; a key of another context field only the services whose hook has it."""


@dataclass
class PatientData:
    """What one call gathered per key: the values, what could not be had at all and what may be partial (why)."""

    values: dict[DataKey, Any] = field(default_factory=dict)
    unavailable: dict[DataKey, str] = field(default_factory=dict)
    incomplete: dict[DataKey, str] = field(default_factory=dict)
    fetched: list[DataKey] = field(default_factory=list)

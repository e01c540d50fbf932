"""Thin, lenient views of the FHIR R4 elements we read.

Full R4B validation costs ~0.2 ms a resource and rejects what real EHRs send (unknown elements, dateTimes without a
zone). These views name only the fields the rules need, ignore everything else, and cost ~0.01 ms a resource; a
resource whose needed fields have the wrong shape fails its view and is skipped with a note by the reader.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.alias_generators import to_camel


class View(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, alias_generator=to_camel, populate_by_name=True)


class CodingView(View):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class CodeableConceptView(View):
    coding: list[CodingView] = Field(default_factory=list)
    text: str | None = None


class ReferenceView(View):
    reference: str | None = None
    display: str | None = None


class PeriodView(View):
    start: str | None = None
    end: str | None = None


class AnnotationView(View):
    text: str | None = None


class QuantityView(View):
    value: float | None = Field(default=None, allow_inf_nan=False)  # "inf" is a valid JSON string, not a count
    unit: str | None = None


class ExtensionView(View):
    url: str | None = None
    value_coding: CodingView | None = None
    value_codeable_concept: CodeableConceptView | None = None
    value_string: str | None = None


class ProcedureView(View):
    resource_type: str
    id: str | None = None
    status: str | None = None
    code: CodeableConceptView | None = None
    performed_date_time: str | None = None
    performed_period: PeriodView | None = None
    encounter: ReferenceView | None = None
    based_on: list[ReferenceView] = Field(default_factory=list)
    reason_code: list[CodeableConceptView] = Field(default_factory=list)
    reason_reference: list[ReferenceView] = Field(default_factory=list)
    body_site: list[CodeableConceptView] = Field(default_factory=list)
    note: list[AnnotationView] = Field(default_factory=list)
    used_code: list[CodeableConceptView] = Field(default_factory=list)
    outcome: CodeableConceptView | None = None
    complication: list[CodeableConceptView] = Field(default_factory=list)
    follow_up: list[CodeableConceptView] = Field(default_factory=list)
    extension: list[ExtensionView] = Field(default_factory=list)


class ServiceRequestView(View):
    resource_type: str
    id: str | None = None
    status: str | None = None
    intent: str | None = None
    code: CodeableConceptView | None = None
    order_detail: list[CodeableConceptView] = Field(default_factory=list)
    quantity_quantity: QuantityView | None = None
    occurrence_date_time: str | None = None
    occurrence_period: PeriodView | None = None
    authored_on: str | None = None
    encounter: ReferenceView | None = None
    reason_code: list[CodeableConceptView] = Field(default_factory=list)
    reason_reference: list[ReferenceView] = Field(default_factory=list)
    body_site: list[CodeableConceptView] = Field(default_factory=list)
    note: list[AnnotationView] = Field(default_factory=list)
    patient_instruction: str | None = None
    extension: list[ExtensionView] = Field(default_factory=list)


class ConditionView(View):
    resource_type: str
    id: str | None = None
    clinical_status: CodeableConceptView | None = None
    verification_status: CodeableConceptView | None = None
    code: CodeableConceptView | None = None
    body_site: list[CodeableConceptView] = Field(default_factory=list)
    onset_date_time: str | None = None
    recorded_date: str | None = None
    abatement_date_time: str | None = None


class ImagingSeriesView(View):
    modality: CodingView | None = None
    number_of_instances: int | None = None
    instance: list[dict[str, object]] = Field(default_factory=list)
    started: str | None = None


class ImagingStudyView(View):
    resource_type: str
    id: str | None = None
    status: str | None = None
    modality: list[CodingView] = Field(default_factory=list)
    started: str | None = None
    encounter: ReferenceView | None = None
    based_on: list[ReferenceView] = Field(default_factory=list)
    procedure_reference: ReferenceView | None = None
    procedure_code: list[CodeableConceptView] = Field(default_factory=list)
    number_of_instances: int | None = None
    series: list[ImagingSeriesView] = Field(default_factory=list)


class CoverageClassView(View):
    type: CodeableConceptView | None = None
    value: str | None = None
    name: str | None = None


class CoverageView(View):
    resource_type: str
    id: str | None = None
    status: str | None = None
    type: CodeableConceptView | None = None
    payor: list[ReferenceView] = Field(default_factory=list)
    period: PeriodView | None = None
    order: int | None = None
    class_: list[CoverageClassView] = Field(default_factory=list, alias="class")


class AppointmentView(View):
    resource_type: str
    id: str | None = None
    status: str | None = None
    service_type: list[CodeableConceptView] = Field(default_factory=list)
    service_category: list[CodeableConceptView] = Field(default_factory=list)
    appointment_type: CodeableConceptView | None = None
    reason_code: list[CodeableConceptView] = Field(default_factory=list)
    reason_reference: list[ReferenceView] = Field(default_factory=list)
    based_on: list[ReferenceView] = Field(default_factory=list)
    start: str | None = None
    requested_period: list[PeriodView] = Field(default_factory=list)
    description: str | None = None
    comment: str | None = None


class PatientView(View):
    resource_type: str
    id: str | None = None


PROCEDURE = TypeAdapter(ProcedureView)
SERVICE_REQUEST = TypeAdapter(ServiceRequestView)
CONDITION = TypeAdapter(ConditionView)
IMAGING_STUDY = TypeAdapter(ImagingStudyView)
COVERAGE = TypeAdapter(CoverageView)
APPOINTMENT = TypeAdapter(AppointmentView)

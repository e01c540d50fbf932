"""Thin, lenient views of the FHIR R4 elements we read.

Full R4B validation costs ~0.2 ms a resource and rejects what real EHRs send (unknown elements, dateTimes without a
zone). These views name only the fields the rules need and ignore everything else. They are msgspec Structs because a
history is most of a hook call's work: msgspec reads a Procedure in ~1 µs, from a parsed dict or straight from its
JSON bytes, where a pydantic view took ~5 µs. A resource whose needed fields have the wrong shape fails its view and
is skipped with a note by the reader.

Views are frozen and hold tuples, so equal elements hash equal: a reader can read each distinct coding once per call.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

import msgspec

# Finite counts only: a quantity of 1e999 (JSON allows it) would make no sense as units and overflow int().
_Finite = Annotated[float, msgspec.Meta(ge=-1.7976931348623157e308, le=1.7976931348623157e308)]
# FHIR's integer is 32-bit; larger numbers are read differently by JSON parsers (int or float), so none is taken.
_Integer = Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)]


class View(msgspec.Struct, frozen=True, rename="camel", gc=False):
    """gc=False: views never take part in reference cycles, so the collector need not track thousands of them."""


class CodingView(View, frozen=True):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class CodeableConceptView(View, frozen=True):
    coding: tuple[CodingView, ...] = ()
    text: str | None = None


class ReferenceView(View, frozen=True):
    reference: str | None = None
    display: str | None = None


class PeriodView(View, frozen=True):
    start: str | None = None
    end: str | None = None


class AnnotationView(View, frozen=True):
    text: str | None = None


class QuantityView(View, frozen=True):
    value: _Finite | None = None
    unit: str | None = None


class ExtensionView(View, frozen=True):
    url: str | None = None
    value_coding: CodingView | None = None
    value_codeable_concept: CodeableConceptView | None = None
    value_string: str | None = None


class ResourceView(View, frozen=True):
    resource_type: str
    id: str | None = None


class ProcedureView(ResourceView, frozen=True):
    status: str | None = None
    code: CodeableConceptView | None = None
    performed_date_time: str | None = None
    performed_period: PeriodView | None = None
    encounter: ReferenceView | None = None
    based_on: tuple[ReferenceView, ...] = ()
    reason_code: tuple[CodeableConceptView, ...] = ()
    reason_reference: tuple[ReferenceView, ...] = ()
    body_site: tuple[CodeableConceptView, ...] = ()
    note: tuple[AnnotationView, ...] = ()
    used_code: tuple[CodeableConceptView, ...] = ()
    outcome: CodeableConceptView | None = None
    complication: tuple[CodeableConceptView, ...] = ()
    follow_up: tuple[CodeableConceptView, ...] = ()
    extension: tuple[ExtensionView, ...] = ()


class ServiceRequestView(ResourceView, frozen=True):
    status: str | None = None
    intent: str | None = None
    code: CodeableConceptView | None = None
    order_detail: tuple[CodeableConceptView, ...] = ()
    quantity_quantity: QuantityView | None = None
    occurrence_date_time: str | None = None
    occurrence_period: PeriodView | None = None
    encounter: ReferenceView | None = None
    reason_code: tuple[CodeableConceptView, ...] = ()
    reason_reference: tuple[ReferenceView, ...] = ()
    body_site: tuple[CodeableConceptView, ...] = ()
    note: tuple[AnnotationView, ...] = ()
    patient_instruction: str | None = None
    extension: tuple[ExtensionView, ...] = ()
    # Read leniently by fhir_mappings.authorizations: a malformed authorization reference must not cost the order.
    supporting_info: Any = None
    insurance: Any = None
    contained: Any = None


class ConditionView(ResourceView, frozen=True):
    category: tuple[CodeableConceptView, ...] = ()
    encounter: ReferenceView | None = None
    clinical_status: CodeableConceptView | None = None
    verification_status: CodeableConceptView | None = None
    code: CodeableConceptView | None = None
    body_site: tuple[CodeableConceptView, ...] = ()
    onset_date_time: str | None = None
    recorded_date: str | None = None


class ImagingSeriesView(View, frozen=True):
    modality: CodingView | None = None
    number_of_instances: _Integer | None = None
    instance: tuple[dict[str, Any], ...] = ()
    started: str | None = None


class ImagingStudyView(ResourceView, frozen=True):
    status: str | None = None
    modality: tuple[CodingView, ...] = ()
    started: str | None = None
    encounter: ReferenceView | None = None
    based_on: tuple[ReferenceView, ...] = ()
    procedure_reference: ReferenceView | None = None
    number_of_instances: _Integer | None = None
    series: tuple[ImagingSeriesView, ...] = ()


class CoverageClassView(View, frozen=True):
    type: CodeableConceptView | None = None
    value: str | None = None
    name: str | None = None


class CoverageView(ResourceView, frozen=True):
    status: str | None = None
    type: CodeableConceptView | None = None
    payor: tuple[ReferenceView, ...] = ()
    period: PeriodView | None = None
    order: _Integer | None = None
    class_: tuple[CoverageClassView, ...] = msgspec.field(default=(), name="class")


class AppointmentView(ResourceView, frozen=True):
    status: str | None = None
    service_type: tuple[CodeableConceptView, ...] = ()
    appointment_type: CodeableConceptView | None = None
    specialty: tuple[CodeableConceptView, ...] = ()
    reason_code: tuple[CodeableConceptView, ...] = ()
    reason_reference: tuple[ReferenceView, ...] = ()
    based_on: tuple[ReferenceView, ...] = ()
    start: str | None = None
    requested_period: tuple[PeriodView, ...] = ()
    description: str | None = None
    comment: str | None = None
    # Read leniently by fhir_mappings.authorizations, as ServiceRequestView's references are.
    supporting_information: Any = None
    contained: Any = None


class DosageQuantityView(View, frozen=True):
    dose: QuantityView | None = None
    route: CodeableConceptView | None = None
    text: str | None = None


class MedicationAdministrationView(ResourceView, frozen=True):
    status: str | None = None
    medication_codeable_concept: CodeableConceptView | None = None
    medication_reference: ReferenceView | None = None
    part_of: tuple[ReferenceView, ...] = ()
    context: ReferenceView | None = None
    effective_date_time: str | None = None
    effective_period: PeriodView | None = None
    dosage: DosageQuantityView | None = None


class AttachmentView(View, frozen=True):
    content_type: str | None = None
    data: str | None = None


class DocumentContentView(View, frozen=True):
    attachment: AttachmentView | None = None


class DocumentContextView(View, frozen=True):
    encounter: tuple[ReferenceView, ...] = ()
    related: tuple[ReferenceView, ...] = ()


class DocumentReferenceView(ResourceView, frozen=True):
    status: str | None = None
    date: str | None = None
    content: tuple[DocumentContentView, ...] = ()
    context: DocumentContextView | None = None


V = TypeVar("V", bound=ResourceView)


class ViewMismatch(ValueError):
    """A needed element has the wrong shape; `where` is its path on the wire, e.g. `code.coding.0.system`."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


# msgspec names the failing element as "... - at `$.code.coding[0].system`".
_PATH = re.compile(r"`\$\.?([^`]*)`")
_INDEX = re.compile(r"\[(\d+)\]")


def read_view(resource: dict[str, Any], view: type[V]) -> V:
    """The view of a parsed resource. Lax like a tolerant reader: "3" is read as the integer 3, as EHRs send it."""
    try:
        return msgspec.convert(resource, view, strict=False)
    except msgspec.ValidationError as error:
        found = _PATH.search(str(error))
        where = _INDEX.sub(r".\1", found.group(1)) if found and found.group(1) else "resource"
        raise ViewMismatch(where) from None


_DECODERS: dict[type[View], msgspec.json.Decoder[Any]] = {}


def decode_view(resource: msgspec.Raw, view: type[V]) -> V | None:
    """The view read straight from a resource's JSON bytes, as `read_view` reads it from the parsed resource; None
    when it does not fit, and the caller parses the resource to say why."""
    decoder = _DECODERS.get(view)
    if decoder is None:
        decoder = _DECODERS[view] = msgspec.json.Decoder(view, strict=False)
    try:
        read: V = decoder.decode(resource)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):  # DecodeError: e.g. invalid UTF-8
        return None
    return read

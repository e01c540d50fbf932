"""FHIR R4 resources → domain facts. A resource that cannot be read is skipped with a reason, never an error."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import msgspec

from fhir_mappings import views
from fhir_mappings.authorizations import read_authorizations
from fhir_mappings.bundles import parsed, relative_reference
from fhir_mappings.code_systems import ICD_10_CM, is_procedure_code_system, is_system
from fhir_mappings.dates import calendar_date, date_time
from fhir_mappings.facts import (
    AdministeredDrug,
    BookedSession,
    CompanionOrder,
    Diagnosis,
    ImagingEvidence,
    InjectionOrder,
    Modality,
    OtherProcedure,
    PayerCoverage,
    PerformedInjection,
    ProcedureNote,
    SkippedResource,
    StatedIntent,
)
from fhir_mappings.icd10cm import normalize as normalize_icd10
from fhir_mappings.intent import read_intent
from fhir_mappings.spine import injection_codes

V = TypeVar("V", bound=views.ResourceView)
F = TypeVar("F")

# "62323-50", "64483 RT": a five-character procedure code followed by two-character modifiers.
_CODE_WITH_MODIFIERS = re.compile(r"\b(\d{4}[0-9A-Z])((?:\s*-\s*[0-9A-Z]{2}\b|\s+(?:RT|LT|50|59|XS|KX)\b)+)")
_MODIFIER = re.compile(r"[0-9A-Z]{2}")
# "64483-L5-S1" names levels, not modifiers: a spinal segment after a code is never read as a modifier.
_SEGMENT_TOKEN = re.compile(r"^(?:C[1-8]|T[1-9]|L[1-5]|S[1-5])$")
_BARE_PROCEDURE_CODE = re.compile(r"\b(6\d{4}|7\d{4})\b")

# DICOM modality codes (PS3.16 CID 29) that are imaging guidance in the CPT sense.
_MODALITIES = {"RF": Modality.FLUOROSCOPY, "XA": Modality.FLUOROSCOPY, "CT": Modality.CT, "US": Modality.ULTRASOUND}
_ACTIVE_CLINICAL = frozenset({"active", "recurrence", "relapse"})


class Unreadable(Exception):
    """A resource lacks what its fact needs; the message says what, and is shown to users."""


@dataclass
class Reading(Generic[F]):
    facts: list[F] = field(default_factory=list)
    skipped: list[SkippedResource] = field(default_factory=list)


def _read_each(
    values: Iterable[Any], resource_type: str, view: type[V], convert: Callable[[V, str], F | None]
) -> Reading[F]:
    reading: Reading[F] = Reading()
    for position, value in enumerate(values):
        # Raw JSON is read straight into the view; what does not fit is parsed and read as usual, to say why.
        read = views.decode_view(value, view) if isinstance(value, msgspec.Raw) else None
        if read is not None and read.resource_type == resource_type:
            label = f"{resource_type}/{read.id}" if read.id is not None else f"{resource_type} #{position + 1}"
        else:
            resource = parsed(value)
            label = _label(resource, resource_type, position)
            if not isinstance(resource, dict):
                reading.skipped.append(SkippedResource(label, "not a JSON object"))
                continue
            if resource.get("resourceType") != resource_type:
                if resource.get("resourceType") != "OperationOutcome":
                    reading.skipped.append(SkippedResource(label, f"expected {resource_type}"))
                continue
            try:
                read = views.read_view(resource, view)
            except views.ViewMismatch as mismatch:
                reading.skipped.append(SkippedResource(label, f"unreadable {mismatch.where}"))
                continue
        try:
            fact = convert(read, label)
        except Unreadable as reason:
            reading.skipped.append(SkippedResource(label, str(reason)))
        else:
            if fact is not None:
                reading.facts.append(fact)
    return reading


def _label(resource: Any, resource_type: str, position: int) -> str:
    if isinstance(resource, dict) and isinstance(resource.get("id"), str):
        # Only a string is written into the label: anything else could be nested too deep to print.
        kind = resource.get("resourceType")
        return f"{kind if isinstance(kind, str) else resource_type}/{resource['id']}"
    return f"{resource_type} #{position + 1}"


def _texts(*concepts: views.CodeableConceptView | None) -> list[str]:
    """The clinician's words and the displays of clinical codings. A CPT/HCPCS display is the code's descriptor, not
    what was stated ("interlaminar or caudal" on every 62323), so reading it would hide a stated approach."""
    words: list[str] = []
    for concept in concepts:
        if concept is None:
            continue
        if concept.text:
            words.append(concept.text)
        words.extend(
            coding.display
            for coding in concept.coding
            if coding.display and not is_procedure_code_system(coding.system)
        )
    return words


def _procedure_codes(concepts: Iterable[views.CodeableConceptView | None]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Procedure codes and CPT/HCPCS modifiers, from codings first and from code text like '62323-50'."""
    codes: list[str] = []
    modifiers: list[str] = []
    texts: list[str] = []
    for concept in concepts:
        if concept is None:
            continue
        for coding in concept.coding:
            if coding.code and is_procedure_code_system(coding.system):
                code = coding.code.strip().upper()
                if joined := _CODE_WITH_MODIFIERS.fullmatch(code):  # some EHRs code a line as "62323-50"
                    codes.append(joined.group(1))
                    modifiers.extend(_modifiers_in(joined.group(2)))
                else:
                    (modifiers if len(code) == 2 else codes).append(code)
        if concept.text:
            texts.append(concept.text)
    for text in texts:
        for match in _CODE_WITH_MODIFIERS.finditer(text.upper()):
            if not codes:
                codes.append(match.group(1))
            modifiers.extend(_modifiers_in(match.group(2)))
        if not codes:
            codes.extend(_BARE_PROCEDURE_CODE.findall(text))
    return tuple(dict.fromkeys(codes)), tuple(dict.fromkeys(modifiers))


def _modifiers_in(suffix: str) -> list[str]:
    return [modifier for modifier in _MODIFIER.findall(suffix) if not _SEGMENT_TOKEN.match(modifier)]


def _codings(concepts: Iterable[views.CodeableConceptView]) -> tuple[tuple[str | None, str], ...]:
    return tuple((coding.system, coding.code) for concept in concepts for coding in concept.coding if coding.code)


def _extension_modifiers(extensions: Iterable[views.ExtensionView]) -> list[str]:
    found: list[str] = []
    for extension in extensions:
        if not extension.url or "modifier" not in extension.url.lower():
            continue
        if extension.value_coding and extension.value_coding.code:
            found.append(extension.value_coding.code.strip().upper())
        if extension.value_codeable_concept:
            found.extend(c.code.strip().upper() for c in extension.value_codeable_concept.coding if c.code)
        if extension.value_string:
            found.append(extension.value_string.strip().upper())
    return found


def _icd10_codes(concepts: Iterable[views.CodeableConceptView]) -> tuple[str, ...]:
    codes = [
        normalize_icd10(coding.code)
        for concept in concepts
        for coding in concept.coding
        if coding.code and is_system(coding.system, ICD_10_CM)
    ]
    return tuple(dict.fromkeys(codes))


def _references(references: Iterable[views.ReferenceView | None]) -> tuple[str, ...]:
    return tuple(relative_reference(ref.reference) for ref in references if ref is not None and ref.reference)


def _reference(reference: views.ReferenceView | None) -> str | None:
    return relative_reference(reference.reference) if reference is not None and reference.reference else None


def _primary_injection_code(codes: Iterable[str]) -> str | None:
    table = injection_codes()
    for code in codes:
        entry = table.get(code)
        if entry is not None and entry.add_on_to is None:
            return code
    for code in codes:
        if table.get(code) is not None:
            return code
    return None


def read_draft_orders(
    values: Iterable[Any],
    reason_texts: Mapping[str, str] | None = None,
    beside: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[Reading[InjectionOrder], Reading[CompanionOrder]]:
    """Draft orders: spinal injections (by code, or by words when uncoded) and every other order beside them.
    `reason_texts` gives the words of Conditions an order's reasonReference may name ("Condition/c1" → its text): a
    reason is read for a stated pump trial, whether coded on the order or in the Condition it refers to. `beside`
    resolves what an order refers to outside itself (a ClaimResponse authorizing it, by `Type/id` or full URL)."""
    reason_texts = reason_texts or {}
    beside = beside or {}
    companions: Reading[CompanionOrder] = Reading()
    injections: Reading[InjectionOrder] = Reading()
    service_requests: list[Any] = []
    for value in values:
        if isinstance(value, dict) and value.get("resourceType") not in (None, "ServiceRequest"):
            concept = value.get("code") or value.get("medicationCodeableConcept")
            text = concept.get("text", "") if isinstance(concept, dict) else ""
            companions.facts.append(CompanionOrder(_label(value, "Resource", 0), (), str(text)))
        else:
            service_requests.append(value)

    def convert(order: views.ServiceRequestView, label: str) -> InjectionOrder | CompanionOrder:
        codes, modifiers = _procedure_codes([order.code, *order.order_detail])
        modifiers += tuple(_extension_modifiers(order.extension))
        words = "\n".join(
            [*_texts(order.code, *order.order_detail), *(n.text for n in order.note if n.text)]
            + ([order.patient_instruction] if order.patient_instruction else [])
        )
        body_site_words = " ".join(_texts(*order.body_site))
        code = _primary_injection_code(codes)
        reasons = [*_texts(*order.reason_code)]
        reasons.extend(text for ref in _references(order.reason_reference) if (text := reason_texts.get(ref)))
        # Each reason is a statement of its own: joined by line breaks, one's words never qualify another's.
        intent = read_intent(words, body_site_words, _codings(order.body_site), "\n".join(reasons))
        # Words only make an injection of an order that carries no procedure code: "fluoroscopic guidance for the
        # epidural" coded 77003 is a guidance order, however it is worded.
        if code is None and (codes or (intent.approach is None and "epidural" not in words.lower())):
            return CompanionOrder(label, codes, words)
        occurrence = order.occurrence_date_time or (order.occurrence_period.start if order.occurrence_period else None)
        units = order.quantity_quantity.value if order.quantity_quantity and order.quantity_quantity.value else 1
        references = {
            "supportingInfo": order.supporting_info,
            "insurance": order.insurance,
            "contained": order.contained,
        }
        # Each note is a statement of its own; the code's text is what is ordered, not what was authorized.
        notes = [note.text for note in order.note if note.text]
        return InjectionOrder(
            source=label,
            code=code,
            codes=codes,
            modifiers=tuple(dict.fromkeys(modifiers)),
            units=max(1, int(units)),
            occurrence=calendar_date(occurrence),
            reason_codes=_icd10_codes(order.reason_code),
            reason_references=_references(order.reason_reference),
            intent=intent,
            text=words,
            authorizations=read_authorizations(references, label, beside, notes),
        )

    reading: Reading[InjectionOrder | CompanionOrder] = _read_each(
        service_requests, "ServiceRequest", views.ServiceRequestView, convert
    )
    injections.skipped.extend(reading.skipped)
    for fact in reading.facts:
        if isinstance(fact, InjectionOrder):
            injections.facts.append(fact)
        else:
            companions.facts.append(fact)
    return injections, companions


@dataclass
class ProcedureReading:
    performed: Reading[PerformedInjection] = field(default_factory=Reading)
    other: list[OtherProcedure] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _CodeReading:
    codes: tuple[str, ...]
    modifiers: tuple[str, ...]
    primary: str | None
    words: tuple[str, ...]


def read_procedures(values: Iterable[Any]) -> ProcedureReading:
    result = ProcedureReading()
    # Histories repeat the same codings: each distinct one is read once per call. (Texts are remembered across calls
    # by their digest, in fhir_mappings.intent.)
    code_readings: dict[views.CodeableConceptView | None, _CodeReading] = {}

    def code_reading_of(concept: views.CodeableConceptView | None) -> _CodeReading:
        reading = code_readings.get(concept)
        if reading is None:
            codes, modifiers = _procedure_codes([concept])
            reading = code_readings[concept] = _CodeReading(
                codes, modifiers, _primary_injection_code(codes), tuple(_texts(concept))
            )
        return reading

    def intent_of(
        words: str, body_site: tuple[views.CodeableConceptView, ...], reasons: tuple[views.CodeableConceptView, ...]
    ) -> StatedIntent:
        return read_intent(words, " ".join(_texts(*body_site)), _codings(body_site), "\n".join(_texts(*reasons)))

    def convert(procedure: views.ProcedureView, label: str) -> PerformedInjection | None:
        coded = code_reading_of(procedure.code)
        performed = procedure.performed_date_time or (
            procedure.performed_period.start if procedure.performed_period else None
        )
        performed_on = calendar_date(performed)
        notes = tuple(note.text for note in procedure.note if note.text)
        # Outcome, complication and follow-up texts are what the note says of them, read with the notes.
        stated = tuple(_texts(procedure.outcome, *procedure.complication, *procedure.follow_up))
        words = "\n".join((*coded.words, *notes))
        if coded.primary is None:
            if not coded.codes and not words:
                raise Unreadable("no procedure code")
            # Words with no code at all may record an injection (session counting reads them); a coded procedure is
            # what its code says.
            uncoded = not coded.codes
            result.other.append(
                OtherProcedure(
                    label,
                    coded.codes,
                    procedure.status or "unknown",
                    performed_on,
                    _reference(procedure.encounter),
                    words,
                    intent_of(words, procedure.body_site, procedure.reason_code) if uncoded else None,
                    _icd10_codes(procedure.reason_code) if uncoded else (),
                )
            )
            return None
        if performed_on is None:
            raise Unreadable("no performed date")
        table = injection_codes()
        return PerformedInjection(
            source=label,
            code=coded.primary,
            status=procedure.status or "unknown",
            performed_on=performed_on,
            units=sum(1 for c in coded.codes if table.get(c) is not None),
            modifiers=tuple(dict.fromkeys(coded.modifiers + tuple(_extension_modifiers(procedure.extension)))),
            encounter=_reference(procedure.encounter),
            based_on=_references(procedure.based_on),
            reason_codes=_icd10_codes(procedure.reason_code),
            reason_references=_references(procedure.reason_reference),
            intent=intent_of(words, procedure.body_site, procedure.reason_code),
            has_body_site=bool(procedure.body_site),
            drug_codes=tuple(
                coding.code.strip().upper()
                for concept in procedure.used_code
                for coding in concept.coding
                if coding.code
            ),
            has_outcome=procedure.outcome is not None,
            has_complication_record=bool(procedure.complication),
            has_follow_up=bool(procedure.follow_up),
            notes=notes + stated,
            performed_at=date_time(performed),
        )

    result.performed = _read_each(values, "Procedure", views.ProcedureView, convert)
    return result


def read_conditions(values: Iterable[Any]) -> Reading[Diagnosis]:
    def convert(condition: views.ConditionView, label: str) -> Diagnosis | None:
        if condition.code is None:
            raise Unreadable("no diagnosis code")
        codes = _icd10_codes([condition.code])
        if not codes:
            return None
        clinical = _first_code(condition.clinical_status)
        verification = _first_code(condition.verification_status)
        if verification == "entered-in-error":
            return None
        display = next((c.display for c in condition.code.coding if c.display), condition.code.text)
        categories = {coding.code for concept in condition.category for coding in concept.coding}
        return Diagnosis(
            source=label,
            code=codes[0],
            display=display,
            active=clinical is None or clinical in _ACTIVE_CLINICAL,
            # Unconfirmed, provisional and differential diagnoses are uncertain: an outpatient claim codes the
            # symptoms instead (ICD-10-CM Official Guidelines IV.H), so none of them is confirmed.
            confirmed=verification in (None, "confirmed"),
            refuted=verification == "refuted",
            recorded_on=calendar_date(condition.recorded_date or condition.onset_date_time),
            encounter=_reference(condition.encounter) if "encounter-diagnosis" in categories else None,
        )

    return _read_each(values, "Condition", views.ConditionView, convert)


def _first_code(concept: views.CodeableConceptView | None) -> str | None:
    if concept is None:
        return None
    return next((coding.code for coding in concept.coding if coding.code), None)


def read_imaging_studies(values: Iterable[Any]) -> Reading[ImagingEvidence]:
    def convert(study: views.ImagingStudyView, label: str) -> ImagingEvidence:
        codings = [*study.modality, *(series.modality for series in study.series if series.modality)]
        modality_codes = tuple(dict.fromkeys(c.code.strip().upper() for c in codings if c.code))
        series_instances = sum(
            series.number_of_instances if series.number_of_instances is not None else len(series.instance)
            for series in study.series
        )
        started = study.started or next((series.started for series in study.series if series.started), None)
        return ImagingEvidence(
            source=label,
            modalities=frozenset(_MODALITIES.get(code, Modality.OTHER) for code in modality_codes),
            modality_codes=modality_codes,
            instance_count=max(study.number_of_instances or 0, series_instances),
            started_on=calendar_date(started),
            encounter=_reference(study.encounter),
            procedure_references=_references([study.procedure_reference]),
            based_on=_references(study.based_on),
            available=study.status not in ("cancelled", "entered-in-error"),
        )

    return _read_each(values, "ImagingStudy", views.ImagingStudyView, convert)


def read_coverages(
    values: Iterable[Any], payors: Mapping[str, Mapping[str, Any]] | None = None
) -> Reading[PayerCoverage]:
    """Coverages with their payers' names: the payor reference's display, the Organization it names (from `payors`,
    e.g. `_include`d), and the plan names of its classes."""
    resolvable = payors or {}

    def convert(coverage: views.CoverageView, label: str) -> PayerCoverage:
        type_codes = tuple(
            (coding.system or "", coding.code.strip())
            for coding in (coverage.type.coding if coverage.type else [])
            if coding.code
        )
        names = [payor.display for payor in coverage.payor if payor.display]
        identifiers: list[str] = []
        states: list[str] = []
        for reference in _references(coverage.payor):
            organization = resolvable.get(reference)
            if organization is None:
                continue
            if isinstance(organization.get("name"), str):
                names.append(organization["name"])
            identifiers.extend(_identifier_values(organization.get("identifier")))
            states.extend(_address_states(organization.get("address")))
        names.extend(item.name for item in coverage.class_ if item.name)
        period = coverage.period
        return PayerCoverage(
            source=label,
            type_codes=type_codes,
            payor_names=tuple(names),
            order=coverage.order,
            active_on_period=(
                calendar_date(period.start) if period else None,
                calendar_date(period.end) if period else None,
            ),
            status=coverage.status or "active",
            payer_identifiers=tuple(identifiers),
            payer_states=tuple(states),
        )

    return _read_each(values, "Coverage", views.CoverageView, convert)


def _identifier_values(identifiers: Any) -> list[str]:
    if not isinstance(identifiers, list):
        return []
    return [
        item["value"].strip()
        for item in identifiers
        if isinstance(item, dict) and isinstance(item.get("value"), str) and item["value"].strip()
    ]


def _address_states(addresses: Any) -> list[str]:
    if not isinstance(addresses, list):
        return []
    return [
        item["state"].strip().upper()
        for item in addresses
        if isinstance(item, dict) and isinstance(item.get("state"), str) and item["state"].strip()
    ]


def read_appointments(values: Iterable[Any], resolvable: Mapping[str, Mapping[str, Any]]) -> Reading[BookedSession]:
    """Appointments with the procedure codes they are for: their own service type, or the order they are based on;
    and the prior authorizations they carry, or the order they are based on does."""

    def convert(appointment: views.AppointmentView, label: str) -> BookedSession | None:
        concepts: list[views.CodeableConceptView | None] = [
            *appointment.service_type,
            appointment.appointment_type,
            *appointment.reason_code,
        ]
        words = _texts(*concepts)
        own = {"supportingInformation": appointment.supporting_information, "contained": appointment.contained}
        remarks = [text for text in (appointment.description, appointment.comment) if text]
        authorizations = list(read_authorizations(own, label, resolvable, remarks))
        for reference in _references(appointment.based_on):
            order = resolvable.get(reference)
            if order is None:
                continue
            try:
                based_on = views.read_view(dict(order), views.ServiceRequestView)
            except views.ViewMismatch:
                continue
            concepts.extend([based_on.code, *based_on.order_detail])
            words.extend(_texts(based_on.code, *based_on.order_detail))
            # A booking of an authorized order is authorized as the order is.
            authorizations.extend(
                read_authorizations(order, reference, resolvable, [n.text for n in based_on.note if n.text])
            )
        codes, _ = _procedure_codes(concepts)
        words.extend(text for text in (appointment.description, appointment.comment) if text)
        text = " ".join(words)
        start = appointment.start or (appointment.requested_period[0].start if appointment.requested_period else None)
        types = [*appointment.service_type, appointment.appointment_type, *appointment.specialty]
        return BookedSession(
            source=label,
            status=appointment.status or "unknown",
            on=calendar_date(start),
            codes=codes,
            intent=read_intent(text),
            text=text,
            type_codes=_codings(concept for concept in types if concept is not None),
            type_texts=tuple(
                dict.fromkeys(
                    words
                    for concept in types
                    if concept is not None
                    for words in (concept.text, *(coding.display for coding in concept.coding))
                    if words
                )
            ),
            authorizations=tuple(dict.fromkeys(authorizations)),
        )

    return _read_each(values, "Appointment", views.AppointmentView, convert)


def read_medication_administrations(values: Iterable[Any]) -> Reading[AdministeredDrug]:
    """Drugs given, with what ties them to a procedure (partOf) or an encounter (context); not-done ones are not."""

    def convert(given: views.MedicationAdministrationView, label: str) -> AdministeredDrug | None:
        if given.status in _NOT_GIVEN:
            return None
        concept = given.medication_codeable_concept
        if concept is None and (given.medication_reference is None or not given.medication_reference.display):
            raise Unreadable("no medication")
        dosage = given.dosage
        dose = dosage.dose if dosage is not None else None
        effective = given.effective_date_time or (given.effective_period.start if given.effective_period else None)
        words = _texts(concept) + ([given.medication_reference.display] if given.medication_reference else [])
        return AdministeredDrug(
            source=label,
            codes=tuple(c.code.strip().upper() for c in (concept.coding if concept else ()) if c.code),
            text=" ".join(word for word in words if word),
            dose=f"{dose.value:g} {dose.unit or ''}".strip() if dose is not None and dose.value is not None else None,
            route=" ".join(_texts(dosage.route)) or None if dosage is not None else None,
            part_of=_references(given.part_of),
            encounter=_reference(given.context),
            on=calendar_date(effective),
        )

    return _read_each(values, "MedicationAdministration", views.MedicationAdministrationView, convert)


_NOT_GIVEN = frozenset({"not-done", "entered-in-error"})


def read_procedure_notes(values: Iterable[Any]) -> Reading[ProcedureNote]:
    """Procedure notes whose text is inline (attachment data in a text/* type); others are skipped with a reason."""

    def convert(document: views.DocumentReferenceView, label: str) -> ProcedureNote | None:
        if document.status == "entered-in-error":
            return None
        texts = [
            text
            for content in document.content
            if (attachment := content.attachment) is not None
            and (text := _inline_text(attachment.content_type, attachment.data)) is not None
        ]
        if not texts:
            raise Unreadable("no inline text (text/plain attachment data)")
        context = document.context
        return ProcedureNote(
            source=label,
            text="\n".join(texts),
            related=_references(context.related) if context else (),
            encounters=_references(context.encounter) if context else (),
            on=calendar_date(document.date),
        )

    return _read_each(values, "DocumentReference", views.DocumentReferenceView, convert)


def _inline_text(content_type: str | None, data: str | None) -> str | None:
    if data is None or not (content_type or "text/plain").lower().startswith("text/"):
        return None
    try:
        return base64.b64decode(data, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


# Diagnosis roles (http://terminology.hl7.org/CodeSystem/diagnosis-role) that are not why the encounter's procedures
# were done: a comorbidity taken as an injection's reason would be judged as if it were its indication.
_NOT_A_REASON = frozenset({"CM"})


def with_encounter_diagnoses(encounter: Any, diagnoses: Iterable[Diagnosis]) -> Reading[Diagnosis]:
    """`diagnoses`, with those the Encounter lists in `diagnosis` marked as its own and put first in rank order; a
    listed Condition contained in the Encounter is read too. A listed Condition found nowhere is left out: its code is
    not known."""
    known = list(diagnoses)
    resource = parsed(encounter)
    if not isinstance(resource, dict) or resource.get("resourceType") != "Encounter":
        return Reading(known)
    if not isinstance(resource.get("id"), str):
        return Reading(known)
    reference = f"Encounter/{resource['id']}"
    contained = [item for item in _as_list(resource.get("contained")) if isinstance(item, dict)]
    inside = read_conditions(item for item in contained if item.get("resourceType") == "Condition")
    by_source = {diagnosis.source: diagnosis for diagnosis in known}
    by_contained = {"#" + fact.source.partition("/")[2]: fact for fact in inside.facts}
    listed: list[tuple[int, str]] = []
    for position, entry in enumerate(_as_list(resource.get("diagnosis"))):
        if not isinstance(entry, dict) or not isinstance(entry.get("condition"), dict):
            continue
        written = entry["condition"].get("reference")
        uses = _as_list(entry.get("use", {}).get("coding")) if isinstance(entry.get("use"), dict) else []
        if not isinstance(written, str) or any(isinstance(c, dict) and c.get("code") in _NOT_A_REASON for c in uses):
            continue
        rank = entry.get("rank")
        listed.append((rank if isinstance(rank, int) and rank > 0 else 1_000_000 + position, written))
    ours: dict[str, Diagnosis] = {}
    for _, written in sorted(listed):
        found = by_contained.get(written) or by_source.get(relative_reference(written))
        if found is not None and found.source not in ours:
            ours[found.source] = msgspec.structs.replace(found, encounter=reference)
    rest = [diagnosis for diagnosis in known if diagnosis.source not in ours]
    return Reading([*ours.values(), *rest], inside.skipped)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []

"""What the record says about the care around injections, for the payers' criteria beyond counting: pain scores before
and after a session, the diagnostic MRI or CT of the spine, and the visits and drugs that may be conservative care.

Read leniently from raw resources: a resource whose fields cannot be read is skipped, since none of these facts is
required and a missing one only leaves a criterion unjudged or unmet, never a wrong card.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import cmp_to_key
from itertools import groupby
from typing import Any

from fhir_mappings.bundles import parsed, relative_reference
from fhir_mappings.code_systems import is_system
from fhir_mappings.dates import calendar_date, date_time, earlier
from fhir_mappings.facts import Fact
from fhir_mappings.spine import SpinalRegion

LOINC = "http://loinc.org"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
# LOINC pain severity scores read on a 0-10 scale: 72514-3 "Pain severity - 0-10 verbal numeric rating [Score] -
# Reported", 38208-5 "Pain severity - Reported".
PAIN_SCORE_CODES = frozenset({"72514-3", "38208-5"})
_FINAL_OBSERVATION = frozenset({"final", "amended", "corrected", "preliminary"})
_FINAL_REPORT = frozenset({"final", "amended", "corrected", "appended", "partial", "preliminary"})


_MODALITY_WORDS = (
    ("MR", re.compile(r"\b(mri|mr|magnetic resonance)\b", re.I)),
    ("CT", re.compile(r"\b(ct|computed tomography)\b", re.I)),
)
# Studies that are not MRI or CT: a report coded as one of these is that study, whatever its conclusion mentions.
_OTHER_MODALITY_WORDS = re.compile(
    r"\b(xr|x-ray|xray|radiograph\w*|plain films?|views?|ultrasound|us|sonograph\w*|fluoro\w*|myelogra\w*|emg|"
    r"electromyogra\w*|nerve conduction|bone scan|dexa)\b",
    re.I,
)
_REGION_WORDS = (
    (SpinalRegion.LUMBAR_SACRAL, re.compile(r"\b(lumbar|lumbosacral|sacral|sacrum|l-spine|l spine)\b", re.I)),
    (SpinalRegion.CERVICAL_THORACIC, re.compile(r"\b(cervical|thoracic|c-spine|c spine|t-spine|t spine)\b", re.I)),
)


class PainScore(Fact, frozen=True):
    """A 0-10 pain severity score recorded on a day, and at a time of it when the record says (clinics score pain just
    before and just after an injection, and only the time tells the two apart), in an encounter when it names one."""

    source: str
    value: float
    on: date
    at: datetime | None = None
    encounter: str | None = None


def _by_clock(first: tuple[datetime, PainScore], second: tuple[datetime, PainScore]) -> int:
    return -1 if earlier(first[0], second[0]) else 1 if earlier(second[0], first[0]) else 0


def in_time_order(scores: Iterable[PainScore]) -> list[PainScore]:
    """Scores by day and, within a day whose every score has a time, by time; a day with a score of unknown time keeps
    the order the record lists them in, the only order it gives."""
    ordered: list[PainScore] = []
    for _, same_day in groupby(sorted(scores, key=lambda score: score.on), key=lambda score: score.on):
        day = list(same_day)
        timed = [(score.at, score) for score in day if score.at is not None]
        if len(day) > 1 and len(timed) == len(day):
            day = [score for _, score in sorted(timed, key=cmp_to_key(_by_clock))]
        ordered.extend(day)
    return ordered


class DiagnosticStudy(Fact, frozen=True):
    """An MRI or CT of the spine: an ImagingStudy or a radiology DiagnosticReport."""

    source: str
    modalities: frozenset[str]
    on: date | None
    regions: frozenset[SpinalRegion]


def _codings(concept: Any) -> list[Mapping[str, Any]]:
    if not isinstance(concept, Mapping):
        return []
    codings = concept.get("coding")
    return [coding for coding in codings if isinstance(coding, Mapping)] if isinstance(codings, list) else []


def _words(*values: Any) -> str:
    parts: list[str] = []
    for value in values:
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, Mapping):
            parts.extend(str(text) for text in (value.get("text"), value.get("display")) if isinstance(text, str))
            parts.extend(str(c["display"]) for c in _codings(value) if isinstance(c.get("display"), str))
        elif isinstance(value, list):
            parts.append(_words(*value))
    return " ".join(parts)


def _string(value: Any) -> str | None:
    """A field that should be a string, or None: fuzzed and broken resources put lists and numbers anywhere."""
    return value if isinstance(value, str) else None


def _reference(value: Any) -> str | None:
    reference = value.get("reference") if isinstance(value, Mapping) else None
    return relative_reference(reference) if isinstance(reference, str) and reference else None


def _label(resource: Mapping[str, Any], kind: str) -> str:
    identifier = resource.get("id")
    return f"{kind}/{identifier}" if isinstance(identifier, str) else kind


def read_pain_scores(values: Iterable[Any]) -> tuple[PainScore, ...]:
    """Final 0-10 pain severity Observations (LOINC 72514-3, 38208-5) with a day and a number, and their encounter,
    in time order."""
    scores: list[PainScore] = []
    for resource in map(parsed, values):
        if not isinstance(resource, Mapping) or resource.get("resourceType") != "Observation":
            continue
        if _string(resource.get("status")) not in _FINAL_OBSERVATION:
            continue
        coded = any(
            is_system(_string(coding.get("system")), LOINC) and _string(coding.get("code")) in PAIN_SCORE_CODES
            for coding in _codings(resource.get("code"))
        )
        quantity = resource.get("valueQuantity")
        value = quantity.get("value") if isinstance(quantity, Mapping) else resource.get("valueInteger")
        taken = resource.get("effectiveDateTime") or resource.get("issued")
        on = calendar_date(taken)
        if coded and isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 10 and on:
            label = _label(resource, "Observation")
            encounter = _reference(resource.get("encounter"))
            scores.append(PainScore(source=label, value=float(value), on=on, at=date_time(taken), encounter=encounter))
    return tuple(in_time_order(scores))


def _regions(text: str) -> frozenset[SpinalRegion]:
    return frozenset(region for region, pattern in _REGION_WORDS if pattern.search(text))


def read_diagnostic_studies(
    imaging_studies: Iterable[Any], diagnostic_reports: Iterable[Any]
) -> tuple[DiagnosticStudy, ...]:
    """MR and CT ImagingStudies (DICOM modality codes) and radiology reports of an MRI or CT: by the report's code,
    or by its conclusion when the code names no study."""
    studies: list[DiagnosticStudy] = []
    for resource in map(parsed, imaging_studies):
        if not isinstance(resource, Mapping) or resource.get("resourceType") != "ImagingStudy":
            continue
        if _string(resource.get("status")) in {"cancelled", "entered-in-error"}:
            continue
        modalities = {code for c in _modality_codings(resource) if (code := _string(c.get("code"))) in {"MR", "CT"}}
        if not modalities:
            continue
        listed = resource.get("series")
        series: list[Any] = listed if isinstance(listed, list) else []
        text = _words(
            resource.get("description"),
            resource.get("procedureCode"),
            *([s.get("description"), s.get("bodySite")] for s in series if isinstance(s, Mapping)),
        )
        studies.append(
            DiagnosticStudy(
                source=_label(resource, "ImagingStudy"),
                modalities=frozenset(modalities),
                on=calendar_date(resource.get("started")),
                regions=_regions(text),
            )
        )
    for resource in map(parsed, diagnostic_reports):
        if not isinstance(resource, Mapping) or resource.get("resourceType") != "DiagnosticReport":
            continue
        if _string(resource.get("status")) not in _FINAL_REPORT:
            continue
        # The report's code says what study it reports; its conclusion also names studies recommended ("if symptoms
        # persist, MRI recommended") or compared with, so it is read only when the code names no study at all.
        titled = _words(resource.get("code"))
        modalities = {modality for modality, pattern in _MODALITY_WORDS if pattern.search(titled)}
        text = _words(resource.get("code"), resource.get("conclusion"))
        if not modalities and not _OTHER_MODALITY_WORDS.search(titled):
            modalities = {modality for modality, pattern in _MODALITY_WORDS if pattern.search(text)}
        if not modalities:
            continue
        studies.append(
            DiagnosticStudy(
                source=_label(resource, "DiagnosticReport"),
                modalities=frozenset(modalities),
                on=calendar_date(resource.get("effectiveDateTime") or resource.get("issued")),
                regions=_regions(text),
            )
        )
    return tuple(studies)


def _modality_codings(resource: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    listed = resource.get("modality")
    codings = [c for c in listed if isinstance(c, Mapping)] if isinstance(listed, list) else []
    series = resource.get("series")
    for each in series if isinstance(series, list) else []:
        if isinstance(each, Mapping) and isinstance(each.get("modality"), Mapping):
            codings.append(each["modality"])
    return [c for c in codings if not c.get("system") or is_system(_string(c.get("system")), DICOM)]


class CareEvent(Fact, frozen=True):
    """A visit, or a drug ordered or taken, that may be conservative care: the rule tells which by its codes and
    words (policy data). `kind` is "encounter" or "medication"; `started` the day it began."""

    source: str
    kind: str
    started: date
    codes: frozenset[str]
    text: str


# FHIR R4 statuses of care that took place (or was under way): not planned, cancelled, refused or entered in error.
_ENCOUNTER_HAPPENED = frozenset({"finished", "in-progress", "onleave", "arrived", "triaged"})
_REQUEST_TAKEN = frozenset({"active", "completed", "stopped", "on-hold"})
_REQUEST_INTENTS = frozenset({"order", "original-order", "reflex-order", "filler-order", "instance-order"})
_STATEMENT_TAKEN = frozenset({"active", "completed", "stopped", "on-hold"})


def _codes(*concepts: Any) -> frozenset[str]:
    found: set[str] = set()
    for concept in concepts:
        for each in concept if isinstance(concept, list) else [concept]:
            found.update(code.strip() for c in _codings(each) if isinstance(code := c.get("code"), str))
    return frozenset(found)


def _period_start(value: Any) -> Any:
    return value.get("start") if isinstance(value, Mapping) else None


def read_care_events(
    encounters: Iterable[Any], medication_requests: Iterable[Any], medication_statements: Iterable[Any]
) -> tuple[CareEvent, ...]:
    """Encounters that took place, with their type and service type; medication orders that were given (an order, not
    a plan or proposal) and statements of drugs taken, with the drug's codes and words and the day each began."""
    events: list[CareEvent] = []
    for resource in map(parsed, encounters):
        if not isinstance(resource, Mapping) or resource.get("resourceType") != "Encounter":
            continue
        started = calendar_date(_period_start(resource.get("period")))
        if _string(resource.get("status")) not in _ENCOUNTER_HAPPENED or started is None:
            continue
        kinds = (resource.get("type"), resource.get("serviceType"))
        events.append(CareEvent(_label(resource, "Encounter"), "encounter", started, _codes(*kinds), _words(*kinds)))
    for resource in map(parsed, medication_requests):
        if not isinstance(resource, Mapping) or resource.get("resourceType") != "MedicationRequest":
            continue
        if _string(resource.get("status")) not in _REQUEST_TAKEN:
            continue
        if _string(resource.get("intent")) not in _REQUEST_INTENTS:
            continue
        dispense = resource.get("dispenseRequest")
        validity = dispense.get("validityPeriod") if isinstance(dispense, Mapping) else None
        started = calendar_date(resource.get("authoredOn") or _period_start(validity))
        if started is not None:
            events.append(_medication(resource, "MedicationRequest", started))
    for resource in map(parsed, medication_statements):
        if not isinstance(resource, Mapping) or resource.get("resourceType") != "MedicationStatement":
            continue
        if _string(resource.get("status")) not in _STATEMENT_TAKEN:
            continue
        effective = resource.get("effectiveDateTime") or _period_start(resource.get("effectivePeriod"))
        started = calendar_date(effective or resource.get("dateAsserted"))
        if started is not None:
            events.append(_medication(resource, "MedicationStatement", started))
    return tuple(events)


def _medication(resource: Mapping[str, Any], kind: str, started: date) -> CareEvent:
    concept = resource.get("medicationCodeableConcept")
    reference = resource.get("medicationReference")
    named = reference.get("display") if isinstance(reference, Mapping) else None
    return CareEvent(_label(resource, kind), "medication", started, _codes(concept), _words(concept, named))


class CareHistory(Fact, frozen=True):
    """The pain scores, diagnostic studies and care events of one hook call, and whether each was read at all:
    unknown unless the caller says so, so a path that never asked for them (a replay, a worklist) draws no card from
    their absence."""

    pain_scores: tuple[PainScore, ...] = ()
    diagnostic_studies: tuple[DiagnosticStudy, ...] = ()
    care_events: tuple[CareEvent, ...] = ()
    pain_scores_known: bool = False
    diagnostic_imaging_known: bool = False
    care_events_known: bool = False

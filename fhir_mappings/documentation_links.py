"""The injections of an encounter with what the rest of the record says about them: the drugs given
(MedicationAdministration), procedure notes (DocumentReference) and the encounter's diagnoses.

Structured data and the notes are tied to an injection by reference first (partOf, context.related), then by its
encounter on the same day. Done for the injections of the encounter only, where the checklist is judged, so a long
history is not read twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import msgspec

from fhir_mappings import icd10cm
from fhir_mappings.documented import read_documented
from fhir_mappings.facts import AdministeredDrug, Diagnosis, PerformedInjection, ProcedureNote
from fhir_mappings.intent import read_intent
from fhir_mappings.spine import injection_codes


def documented(
    injections: Iterable[PerformedInjection],
    administrations: Sequence[AdministeredDrug] = (),
    notes: Sequence[ProcedureNote] = (),
    diagnoses: Sequence[Diagnosis] = (),
) -> tuple[PerformedInjection, ...]:
    return tuple(_documented(injection, administrations, notes, diagnoses) for injection in injections)


def _documented(
    injection: PerformedInjection,
    administrations: Sequence[AdministeredDrug],
    notes: Sequence[ProcedureNote],
    diagnoses: Sequence[Diagnosis],
) -> PerformedInjection:
    given = tuple(drug for drug in administrations if _ties(injection, drug.part_of, (drug.encounter,), drug.on))
    written = tuple(note.text for note in notes if _ties(injection, note.related, note.encounters, note.on))
    texts = injection.notes + written
    stated = read_documented(texts)
    documented = msgspec.structs.replace(
        stated,
        drug=stated.drug or bool(given),
        dose=stated.dose or any(drug.dose for drug in given),
    )
    intent = injection.intent
    if written and (intent.approach is None or not intent.levels):
        # A level or approach missing from the coded procedure may be in its note; what the procedure says stays.
        from_note = read_intent("\n".join(written))
        taken = {
            name
            for name, missing in (("approach", intent.approach is None), ("levels", not intent.levels))
            if missing and getattr(from_note, name)
        }
        intent = msgspec.structs.replace(
            intent,
            approach=intent.approach or from_note.approach,
            levels=intent.levels or from_note.levels,
            # What the note gave keeps the strength it was read with.
            evidence=tuple(sorted({**dict(intent.evidence), **{n: from_note.strength(n) for n in taken}}.items())),
        )
    reasons = injection.reason_references
    if not injection.reason_codes and not reasons and injection.encounter is not None:
        reasons = _encounter_reasons(injection, diagnoses)
    return msgspec.structs.replace(
        injection,
        notes=texts,
        documented=documented,
        administered=given,
        intent=intent,
        reason_references=reasons,
    )


def _encounter_reasons(injection: PerformedInjection, diagnoses: Sequence[Diagnosis]) -> tuple[str, ...]:
    """When the procedure names no diagnosis, the claim line points to the encounter's: its confirmed ones, and of
    those naming a spinal region, the ones of the injected region when there are any. A visit that also treats the
    neck puts cervicalgia on the claim for its own line, not on the lumbar injection's; a ruled-out or provisional
    diagnosis is on no line (ICD-10-CM Official Guidelines IV.H)."""
    ours = [d for d in diagnoses if d.encounter == injection.encounter and d.confirmed]
    entry = injection_codes().get(injection.code)
    if entry is not None and entry.region is not None:
        icd = icd10cm.load()
        regions = {d.source: icd.spinal_region(d.code) for d in ours}
        fitting = {source for source, hint in regions.items() if hint is not None and hint.includes(entry.region.value)}
        if fitting:
            ours = [d for d in ours if regions[d.source] is None or d.source in fitting]
    return tuple(d.source for d in ours)


def _ties(
    injection: PerformedInjection, references: Iterable[str], encounters: Iterable[str | None], on: date | None
) -> bool:
    if injection.source in references:
        return True
    same_day = on is None or on == injection.performed_on
    return injection.encounter is not None and injection.encounter in encounters and same_day

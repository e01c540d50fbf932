"""The `data-incomplete` card: optional data that could not be had, unreadable resources, and the checks skipped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable

from fhir_mappings.facts import SkippedResource
from plugin.hooks.record_data import DataKey, PatientData
from plugin.rules.findings import Finding, RuleId, Severity
from plugin.rules.wording import plural

_CHECKS_NEEDING: dict[DataKey, str] = {
    DataKey.CONDITIONS: "diagnosis checks",
    DataKey.IMAGING_STUDIES: "imaging evidence checks",
    DataKey.COVERAGE: "payer selection (the typical commercial rule was used)",
    DataKey.APPOINTMENTS: "counting of booked sessions",
    DataKey.PROCEDURES: "session counting",
    DataKey.PATIENT: "patient details",
    DataKey.MEDICATION_ADMINISTRATIONS: "drug checks against the drugs given",
    DataKey.PROCEDURE_NOTES: "documentation checks against the procedure notes",
    DataKey.OBSERVATIONS: "repeat injection criteria (response to the last session)",
    DataKey.DIAGNOSTIC_REPORTS: "the check for a recent MRI or CT",
    DataKey.ENCOUNTERS: "the conservative care check",
    DataKey.MEDICATION_REQUESTS: "the conservative care check",
    DataKey.MEDICATION_STATEMENTS: "the conservative care check",
    DataKey.ENCOUNTER: "the encounter's own list of diagnoses, and its location (where the service is furnished)",
}
_SHOWN_SKIPS = 10  # records named on the card's technical line; the count says how many there were


def data_incomplete(
    data: PatientData,
    skipped: Iterable[SkippedResource],
    optional: Collection[DataKey],
    *,
    failed_checks: Collection[str] = (),
) -> list[Finding]:
    lines = [
        f"- {key.described.capitalize()} could not be read ({reason}); skipped: {_CHECKS_NEEDING[key]}."
        for key, reason in data.unavailable.items()
        if key in optional
    ]
    lines.extend(
        f"- {key.described.capitalize()} may be incomplete ({reason})." for key, reason in data.incomplete.items()
    )
    skipped = list(skipped)
    if skipped:
        why = Counter(item.reason for item in skipped)
        reasons = "; ".join(reason if count == 1 else f"{reason}: {count}" for reason, count in why.items())
        lines.append(
            f"- {plural(len(skipped), 'record')} could not be read and {'was' if len(skipped) == 1 else 'were'} "
            f"ignored ({reasons})."
        )
    lines.extend(f"- The {name.replace('_', ' ')} check failed and was skipped." for name in failed_checks)
    if not lines:
        return []
    return [
        Finding(
            rule=RuleId.DATA_INCOMPLETE,
            severity=Severity.INFO,
            summary="Some checks were skipped: part of the patient's data could not be read",
            detail="\n".join(lines),
            references=tuple(item.source for item in skipped[:_SHOWN_SKIPS]),
        )
    ]

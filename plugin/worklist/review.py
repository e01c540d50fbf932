"""One patient's worklist rows: the hooks' rules run on the record as it stood on each date of service.

A performed injection is judged as the encounter-discharge hook would have judged it that day (the record cut at the
date of service), and once more as the order it was, so frequency and prior authorization are checked against the
sessions before it. Bookings in the next days are judged as appointment-book would judge them today.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import msgspec

from fhir_mappings.care_history import CareHistory
from fhir_mappings.facts import ClinicalRecord, PerformedInjection
from plugin.hooks.record_data import DataKey, PatientData
from plugin.hooks.services import RULES_BY_HOOK, applied, read_care, read_record
from plugin.policies.catalog import PolicyCatalog
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.findings import Finding, RuleId
from plugin.rules.frequency import booking_frequency, order_frequency
from plugin.rules.hook_facts import HookFacts, Rule
from plugin.rules.intervals import booking_interval, order_interval
from plugin.rules.prior_authorization import order_prior_authorization
from plugin.rules.sessions import RESERVING_STATUSES

logger = logging.getLogger(__name__)

DISCHARGE_RULES = RULES_BY_HOOK["encounter-discharge"]
# Judged as the order the session was: against the sessions before it, not those after.
PERFORMED_AS_ORDER_RULES: tuple[Rule, ...] = (order_frequency, order_interval, order_prior_authorization)
BOOKING_RULES: tuple[Rule, ...] = (booking_frequency, booking_interval)
# What the hooks say to plan ahead or for information is not an open problem on a claim or a booking.
_NOT_OPEN = frozenset({RuleId.FREQUENCY_LIMIT_REACHED, RuleId.FREQUENCY_EXEMPT, RuleId.FREQUENCY_BUDGET})


class OpenFinding(msgspec.Struct, frozen=True):
    rule: str
    severity: str
    summary: str


class WorklistRow(msgspec.Struct, frozen=True):
    """One performed injection (kind "performed") or one booking ahead (kind "booking") and what is open on it."""

    kind: str
    patient: str
    on: date
    resource: str
    code: str
    policy: str
    findings: tuple[OpenFinding, ...]


class PatientReview(msgspec.Struct, frozen=True):
    rows: tuple[WorklistRow, ...]
    injections: int
    skipped: int
    failed_rules: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Period:
    """The dates of service to review (both ends included) and the booking horizon from `today`."""

    start: date
    end: date
    today: date
    horizon_days: int

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def horizon_end(self) -> date:
        return self.today + timedelta(days=self.horizon_days)


def may_have_rows(resources: Iterable[dict[str, Any]], period: Period) -> bool:
    """False only when no Procedure falls in the period and no Appointment in the booking horizon, by the dates as
    written (a day's margin each side for time zones; a resource without a readable date counts as in range): such a
    patient can have no row, and reading their record in full would be wasted."""
    low, high = (period.start - _MARGIN).isoformat(), (period.end + _MARGIN).isoformat()
    soon, later = (period.today - _MARGIN).isoformat(), (period.horizon_end + _MARGIN).isoformat()
    for resource in resources:
        kind = resource.get("resourceType")
        if kind == "Procedure":
            period_of = resource.get("performedPeriod")
            when = resource.get("performedDateTime") or (
                period_of.get("start") if isinstance(period_of, dict) else None
            )
            if not isinstance(when, str) or low <= when[:10] <= high:
                return True
        elif kind == "Appointment":
            when = resource.get("start")
            if not isinstance(when, str) or soon <= when[:10] <= later:
                return True
    return False


_MARGIN = timedelta(days=1)


def patient_data(resources: Iterable[dict[str, Any]]) -> PatientData:
    """Resources of one patient, of any types and order, sorted under the prefetch keys the readers expect."""
    values: dict[DataKey, list[dict[str, Any]]] = {key: [] for key in _KEY_OF_TYPE.values()}
    for resource in resources:
        key = _KEY_OF_TYPE.get(resource.get("resourceType", ""))
        if key is not None:
            values[key].append(resource)
    return PatientData(values=dict(values))


# Organizations go with the coverages they pay for, ServiceRequests with the appointments based on them (the
# prefetch templates `_include` them the same way). Observations are the charted pain scores of the checklist.
_KEY_OF_TYPE = {
    "Procedure": DataKey.PROCEDURES,
    "Condition": DataKey.CONDITIONS,
    "ImagingStudy": DataKey.IMAGING_STUDIES,
    "Coverage": DataKey.COVERAGE,
    "Organization": DataKey.COVERAGE,
    "Appointment": DataKey.APPOINTMENTS,
    "ServiceRequest": DataKey.APPOINTMENTS,
    "Observation": DataKey.OBSERVATIONS,
}


def review_patient(patient: str, data: PatientData, catalog: PolicyCatalog, period: Period) -> PatientReview:
    record = read_record(data)
    care = read_care(data)
    rows: list[WorklistRow] = []
    failed: list[str] = []
    by_day: dict[date, list[PerformedInjection]] = {}
    for injection in record.performed:
        if injection.counts_as_performed and period.covers(injection.performed_on):
            by_day.setdefault(injection.performed_on, []).append(injection)
    for day, injections in sorted(by_day.items()):
        rows.extend(_performed_rows(patient, day, injections, record, care, catalog, failed))
    ahead = tuple(
        booking
        for booking in record.bookings
        # A cancelled or no-show appointment ahead reserves no session, so it breaks nothing.
        if booking.status in RESERVING_STATUSES
        and booking.on is not None
        and period.today <= booking.on <= period.horizon_end
    )
    if ahead:
        facts = HookFacts(record=record, proposed=ahead)
        policy = _policy(catalog, record, period.today)
        findings = _judge(BOOKING_RULES, facts, policy, period.today, failed)
        for booking in ahead:
            breaks = _open(finding for finding in findings if finding.subject == booking.source)
            if breaks and booking.on is not None:
                code = next(iter(booking.codes), "")
                rows.append(
                    WorklistRow("booking", patient, booking.on, booking.source, code, policy.payer.title, breaks)
                )
    return PatientReview(
        rows=tuple(rows),
        injections=sum(len(injections) for injections in by_day.values()),
        skipped=len(record.skipped),
        failed_rules=tuple(sorted(set(failed))),
    )


def _performed_rows(
    patient: str,
    day: date,
    injections: Sequence[PerformedInjection],
    record: ClinicalRecord,
    care: CareHistory,
    catalog: PolicyCatalog,
    failed: list[str],
) -> Iterable[WorklistRow]:
    policy = _policy(catalog, record, day)
    as_of_day = _as_of(record, day, include_day=True)
    before_day = _as_of(record, day, include_day=False)
    scored = msgspec.structs.replace(care, pain_scores=tuple(score for score in care.pain_scores if score.on <= day))
    discharge = HookFacts(record=as_of_day, performed_here=tuple(injections), care=scored)
    as_orders = HookFacts(record=before_day, orders=tuple(injection.as_ordered() for injection in injections))
    findings = [
        *_judge(DISCHARGE_RULES, discharge, policy, day, failed),
        *_judge(PERFORMED_AS_ORDER_RULES, as_orders, policy, day, failed),
    ]
    for injection in injections:
        mine = tuple(finding for finding in findings if finding.subject in (None, injection.source))
        yield WorklistRow("performed", patient, day, injection.source, injection.code, policy.payer.title, _open(mine))


def _policy(catalog: PolicyCatalog, record: ClinicalRecord, day: date) -> AppliedPolicy:
    return applied(catalog.select(record.coverages, day), catalog)


def _judge(
    rules: Iterable[Rule], facts: HookFacts, policy: AppliedPolicy, day: date, failed: list[str]
) -> list[Finding]:
    findings: list[Finding] = []
    for rule in rules:
        try:
            findings.extend(rule(facts, policy, day))
        except Exception:
            # As in the hooks: one faulty check costs its own findings, never the rest of the worklist.
            logger.exception("rule failed", extra={"rule": rule.__name__})
            failed.append(rule.__name__)
    return findings


def _open(findings: Iterable[Finding]) -> tuple[OpenFinding, ...]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for finding in findings:
        key = (finding.rule.value, finding.summary)
        if finding.rule in _NOT_OPEN or key in seen:
            continue
        seen.add(key)
        kept.append(OpenFinding(finding.rule.value, finding.severity.value, finding.summary))
    return tuple(kept)


def _as_of(record: ClinicalRecord, day: date, *, include_day: bool) -> ClinicalRecord:
    """The record as it stood on `day`: what was done, recorded or imaged by then, and no bookings (a booking made
    after the date of service, or one since fulfilled, says nothing about that day)."""

    def by(when: date | None) -> bool:
        return when is None or when < day or (include_day and when == day)

    return ClinicalRecord(
        performed=tuple(injection for injection in record.performed if by(injection.performed_on)),
        other_procedures=tuple(other for other in record.other_procedures if by(other.performed_on)),
        diagnoses=tuple(
            diagnosis for diagnosis in record.diagnoses if diagnosis.recorded_on is None or diagnosis.recorded_on <= day
        ),
        imaging=tuple(study for study in record.imaging if study.started_on is None or study.started_on <= day),
        coverages=record.coverages,
        skipped=record.skipped,
    )

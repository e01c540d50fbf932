"""A patient's worklist rows: each injection judged on the record as it stood on its date of service."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest

from bench.population import patient_bundle
from plugin.policies.catalog import PolicyCatalog, load_catalog
from plugin.sandbox.resources import appointment, condition, imaging_study, procedure
from plugin.worklist.review import Period, WorklistRow, may_have_rows, patient_data, review_patient

TODAY = date(2026, 12, 1)


@pytest.fixture(scope="module")
def catalog() -> PolicyCatalog:
    return load_catalog(None)


def _rows(catalog: PolicyCatalog, resources: list[dict[str, Any]], start: date, end: date = TODAY) -> list[WorklistRow]:
    review = review_patient("p1", patient_data(resources), catalog, Period(start, end, TODAY, horizon_days=30))
    return list(review.rows)


def _rules(row: WorklistRow) -> set[str]:
    return {finding.rule for finding in row.findings}


def _injection(id: str, on: str, **extra: Any) -> dict[str, Any]:
    return procedure(id, "62323", f"{on}T10:00:00Z", encounter=f"Encounter/enc-{id}", **extra)


def test_each_injection_in_the_period_is_a_row_with_its_open_findings(catalog: PolicyCatalog) -> None:
    rows = _rows(catalog, [_injection("esi-1", "2026-11-20")], start=date(2026, 11, 1))

    assert [(row.kind, row.on, row.resource, row.code) for row in rows] == [
        ("performed", date(2026, 11, 20), "Procedure/esi-1", "62323")
    ]
    assert "imaging-evidence-missing" in _rules(rows[0])
    assert "diagnosis-missing" in _rules(rows[0])


def test_injections_outside_the_period_are_not_reviewed(catalog: PolicyCatalog) -> None:
    rows = _rows(catalog, [_injection("old", "2025-03-02"), _injection("new", "2026-11-20")], start=date(2026, 11, 1))

    assert [row.resource for row in rows] == ["Procedure/new"]


def test_archived_images_of_the_session_close_the_evidence_finding(catalog: PolicyCatalog) -> None:
    resources = [
        _injection("esi-1", "2026-11-20"),
        imaging_study("img-1", "RF", "2026-11-20T10:05:00Z", procedure="Procedure/esi-1"),
        condition("dx-1", "M54.16", "Radiculopathy, lumbar region"),
    ]

    (row,) = _rows(catalog, resources, start=date(2026, 11, 1))

    assert "imaging-evidence-missing" not in _rules(row)


def _pain(id: str, at: str, value: float, encounter: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "encounter": {"reference": encounter},
        "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
        "effectiveDateTime": at,
        "valueQuantity": {"value": value},
    }


def test_pain_scores_charted_before_and_after_the_session_close_that_checklist_item(catalog: PolicyCatalog) -> None:
    injection = _injection("esi-1", "2026-11-20")
    charted = [
        _pain("pre", "2026-11-20T09:45:00Z", 7, "Encounter/enc-esi-1"),
        _pain("post", "2026-11-20T10:30:00Z", 2, "Encounter/enc-esi-1"),
    ]

    (without,) = _rows(catalog, [injection], start=date(2026, 11, 1))
    (scored,) = _rows(catalog, [injection, *charted], start=date(2026, 11, 1))

    def missing_items(row: WorklistRow) -> str:
        (finding,) = [finding for finding in row.findings if finding.rule == "documentation-incomplete"]
        return finding.summary.split(": ", 1)[1]

    assert (missing_items(without), missing_items(scored)) == (
        "5 documentation items missing before billing",
        "4 documentation items missing before billing",
    )


def test_a_session_is_judged_against_the_sessions_before_it_not_after(catalog: PolicyCatalog) -> None:
    # The conservative default allows 3 sessions in 6 months: the 4th breaks it, the 3rd does not.
    sessions = [
        _injection(f"esi-{n}", day) for n, day in enumerate(("2026-06-01", "2026-07-01", "2026-08-03", "2026-09-01"))
    ]

    rows = {row.resource: row for row in _rows(catalog, sessions, start=date(2026, 8, 1), end=date(2026, 9, 30))}

    assert "frequency-limit-exceeded" not in _rules(rows["Procedure/esi-2"])
    assert "frequency-limit-exceeded" in _rules(rows["Procedure/esi-3"])


def test_a_booking_ahead_that_breaks_the_limit_is_listed(catalog: PolicyCatalog) -> None:
    resources = [
        *(_injection(f"esi-{n}", day) for n, day in enumerate(("2026-08-03", "2026-09-14", "2026-10-26"))),
        appointment("appt-1", "62323", "2026-12-10T09:00:00Z"),
        appointment("appt-2", "62323", "2027-06-10T09:00:00Z"),
        appointment("appt-3", "62323", "2026-12-12T09:00:00Z", status="cancelled"),
    ]

    rows = [row for row in _rows(catalog, resources, start=date(2026, 11, 1)) if row.kind == "booking"]

    assert [(row.resource, row.on) for row in rows] == [("Appointment/appt-1", date(2026, 12, 10))]
    assert _rules(rows[0]) == {"frequency-limit-exceeded"}


def test_an_injection_not_done_is_not_reviewed(catalog: PolicyCatalog) -> None:
    rows = _rows(catalog, [_injection("esi-1", "2026-11-20", status="not-done")], start=date(2026, 11, 1))

    assert rows == []


def test_patients_passed_over_by_their_dates_are_exactly_those_without_rows(catalog: PolicyCatalog) -> None:
    period = Period(date(2026, 11, 1), TODAY, TODAY, horizon_days=30)
    passed_over = 0
    for index in random.Random(3).sample(range(10_000), 60):
        resources = [r for r in patient_bundle(index, TODAY, seed=11) if r["resourceType"] != "Patient"]
        review = review_patient("p", patient_data(resources), catalog, period)
        if not may_have_rows(resources, period):
            passed_over += 1
            assert review.rows == ()
            assert review.injections == 0
    assert passed_over > 0

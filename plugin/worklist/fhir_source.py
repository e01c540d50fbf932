"""Patients read from a FHIR server by the hooks' own fetch code: a list of patient ids, or a Group's members."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import httpx

from cds_hooks.errors import PrefetchUnavailable
from cds_hooks.models import FhirAuthorization, HookRequest
from plugin.hooks.fhir_client import FhirClient, FhirUnavailable
from plugin.hooks.patient_data import FetchSettings, gather
from plugin.hooks.record_data import DataKey, PatientData

logger = logging.getLogger(__name__)

# Observations: the charted pain scores the discharge checklist reads.
_OPTIONAL = frozenset(
    {DataKey.CONDITIONS, DataKey.IMAGING_STUDIES, DataKey.COVERAGE, DataKey.APPOINTMENTS, DataKey.OBSERVATIONS}
)


class PatientsUnavailable(Exception):
    """The list of patients cannot be had: the Group cannot be read, or names no patient."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """One patient's data, or why it could not be read (`data` is None then)."""

    patient: str
    data: PatientData | None
    problem: str = ""


async def group_members(
    server: str, group_id: str, http: httpx.AsyncClient, settings: FetchSettings, token: str | None = None
) -> list[str]:
    """The patient ids a Group's `member.entity` references name, in the Group's order."""
    loop = asyncio.get_running_loop()
    client = FhirClient(http, server, token, page_cap=settings.page_cap, deadline=loop.time() + settings.budget_seconds)
    try:
        group = await client.read(f"Group/{group_id}")
    except FhirUnavailable as error:
        raise PatientsUnavailable(f"Group {group_id}: {error}") from None
    members = group.get("member") if isinstance(group, dict) else None
    patients = [
        reference.rsplit("/", 1)[1]
        for member in members or []
        if isinstance(member, dict)
        and isinstance(reference := (member.get("entity") or {}).get("reference"), str)
        and reference.rsplit("/", 2)[-2:-1] == ["Patient"]
    ]
    if not patients:
        raise PatientsUnavailable(f"Group {group_id} names no patient")
    return patients


async def fetch_patients(
    server: str,
    patients: Sequence[str],
    http: httpx.AsyncClient,
    settings: FetchSettings,
    token: str | None = None,
    concurrency: int = 4,
) -> AsyncIterator[Fetched]:
    """Each patient's history, conditions, imaging, coverage, appointments and pain scores, in the order given; at
    most `concurrency` patients are read at once, so memory holds a few patients whatever the list's length."""
    slots = asyncio.Semaphore(concurrency)
    authorization = FhirAuthorization(access_token=token) if token else None

    async def one(patient: str) -> Fetched:
        async with slots:
            request = HookRequest(
                hook="patient-view",
                hook_instance=f"worklist-{patient}",
                context={"patientId": patient},
                fhir_server=server,
                fhir_authorization=authorization,
            )
            try:
                data = await gather(
                    request, required=(DataKey.PROCEDURES,), optional=_OPTIONAL, http=http, settings=settings
                )
            except PrefetchUnavailable as error:
                return Fetched(patient, None, error.message)
            return Fetched(patient, data)

    pending: list[asyncio.Task[Fetched]] = []
    for patient in patients:
        pending.append(asyncio.create_task(one(patient)))
        if len(pending) >= concurrency * 2:
            yield await pending.pop(0)
    for task in pending:
        yield await task

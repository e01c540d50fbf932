"""The rules replayed on a patient's FHIR record as of a denied line's date of service: would the hooks have flagged
it then? The same data gathering, readers, policy selection and rule tuples as the hooks (`plugin.hooks.services`).

A denied line is first matched to the performed injection (a Procedure of the same CPT code on the date of service).
The record is then cut back to that date: injections before it count as history, bookings are dropped. The injection
is judged twice, as the order it was (the order-sign rules: frequency, levels, prior authorization, coding,
diagnosis) and as the injection performed (the encounter-discharge rules: evidence and documentation). Without a
matching Procedure nothing is replayed: a rule run on the claim line alone would only find that the record says nothing.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import msgspec

from cds_hooks.errors import CdsHooksError
from cds_hooks.models import HookRequest
from fhir_mappings.bundles import resources_in
from fhir_mappings.facts import ClinicalRecord
from plugin.denials.matching import MatchedLine, Replay
from plugin.hooks.patient_data import FetchSettings, gather
from plugin.hooks.record_data import DataKey, PatientData
from plugin.hooks.services import RULES_BY_HOOK, applied, read_record
from plugin.policies.catalog import PolicyCatalog, load_catalog
from plugin.rules.hook_facts import HookFacts

logger = logging.getLogger(__name__)

_OPTIONAL = frozenset({DataKey.CONDITIONS, DataKey.COVERAGE, DataKey.IMAGING_STUDIES})
_BUDGET_SECONDS = 30.0  # a batch run, not a clinician waiting: the hooks' 4 s budget would drop long histories
_CONCURRENCY = 4


class Replayer:
    def __init__(self, fhir_server: str, policy_dir: Path | None = None) -> None:
        self._server = fhir_server.rstrip("/")
        self._catalog: PolicyCatalog = load_catalog(policy_dir)
        self._fetch = FetchSettings(budget_seconds=_BUDGET_SECONDS)

    def patients_of(self, member_ids: Iterable[str]) -> dict[str, str]:
        """Member id → "Patient/…": the beneficiary of the Coverage carrying the id, else the Patient with it."""
        return asyncio.run(self._patients_of(sorted(set(member_ids))))

    def replay(self, lines: Sequence[MatchedLine]) -> dict[str, Replay]:
        """Line key → the injection the line was matched to, and the rule ids that fire as of its date of service."""
        return asyncio.run(self._replay(lines))

    async def _patients_of(self, member_ids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        async with self._client() as http:
            for member_id in member_ids:
                coverage = await self._search(http, f"Coverage?identifier={quote(member_id, safe='')}")
                beneficiaries = [
                    r["beneficiary"]["reference"]
                    for r in coverage
                    if isinstance(r.get("beneficiary"), dict) and isinstance(r["beneficiary"].get("reference"), str)
                ]
                if beneficiaries:
                    found[member_id] = beneficiaries[0]
                    continue
                patients = await self._search(http, f"Patient?identifier={quote(member_id, safe='')}")
                if patients and isinstance(patients[0].get("id"), str):
                    found[member_id] = f"Patient/{patients[0]['id']}"
        return found

    async def _search(self, http: httpx.AsyncClient, query: str) -> list[dict[str, Any]]:
        try:
            response = await http.get(f"{self._server}/{query}", headers={"Accept": "application/fhir+json"})
        except httpx.HTTPError:
            return []
        if response.status_code != 200:
            return []
        return [r for r in resources_in(response.json()) if isinstance(r, dict)]

    async def _replay(self, lines: Sequence[MatchedLine]) -> dict[str, Replay]:
        limit = asyncio.Semaphore(_CONCURRENCY)
        async with self._client() as http:

            async def one(line: MatchedLine) -> tuple[str, Replay]:
                async with limit:
                    return line.line.key, await self._replay_line(http, line)

            return dict(await asyncio.gather(*(one(line) for line in lines if line.patient)))

    async def _replay_line(self, http: httpx.AsyncClient, matched: MatchedLine) -> Replay:
        assert matched.patient is not None
        request = HookRequest(
            hook="order-sign",
            hook_instance=str(uuid.uuid4()),
            context={"patientId": matched.patient.removeprefix("Patient/"), "draftOrders": {"resourceType": "Bundle"}},
            fhir_server=self._server,
        )
        try:
            data = await gather(
                request, required=frozenset({DataKey.PROCEDURES}), optional=_OPTIONAL, http=http, settings=self._fetch
            )
        except CdsHooksError:  # one record out of reach must not stop the report
            logger.warning("denial replay: a record could not be fetched; that line is not replayed")
            return Replay(None, ())
        return judge_as_of(self._catalog, read_record(data), data, matched.line.cpt, matched.line.service_date)

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=self._fetch.budget_seconds, trust_env=False)


def judge_as_of(catalog: PolicyCatalog, record: ClinicalRecord, data: PatientData, cpt: str, served: date) -> Replay:
    """The injection of `cpt` performed on `served`, and the rules that fire for it on the record as it stood then."""
    injection = next((p for p in record.performed if p.code == cpt and p.performed_on == served), None)
    if injection is None:
        return Replay(None, ())
    before = msgspec.structs.replace(
        record, performed=tuple(p for p in record.performed if p.performed_on < served), bookings=()
    )
    # Applied as the hooks apply it: a replay that lost `by_default` would flag what the service never shows (a
    # default policy's prior authorization, a critical frequency card for an unmapped plan).
    policy = applied(catalog.select(record.coverages, served), catalog)
    conditions_known = DataKey.CONDITIONS not in data.unavailable
    imaging_known = DataKey.IMAGING_STUDIES not in data.unavailable
    as_ordered = HookFacts(
        record=before,
        orders=(injection.as_ordered(" ".join(injection.notes)),),
        conditions_known=conditions_known,
        imaging_known=imaging_known,
    )
    as_performed = HookFacts(
        record=msgspec.structs.replace(before, performed=(*before.performed, injection)),
        performed_here=(injection,),
        encounter=injection.encounter,
        conditions_known=conditions_known,
        imaging_known=imaging_known,
    )
    fired = [
        finding.rule.value
        for facts, rules in (
            (as_ordered, RULES_BY_HOOK["order-sign"]),
            (as_performed, RULES_BY_HOOK["encounter-discharge"]),
        )
        for rule in rules
        for finding in rule(facts, policy, served)
    ]
    return Replay(injection.source, tuple(sorted(set(fired))))

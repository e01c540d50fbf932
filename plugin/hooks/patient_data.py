"""The patient's data for one hook call: prefetch first, the EHR's FHIR server for the rest, inside a time budget.

Per prefetch key: absent → fetched from `fhirServer`; `null` → no data; an OperationOutcome → the EHR's own fetch
failed, so we fetch it ourselves when we can. Required data that can be neither prefetched nor fetched is a 412;
optional data that fails is reported so the checks that need it are skipped and a `data-incomplete` card says so.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from cds_hooks.access_log import annotate
from cds_hooks.errors import PrefetchUnavailable
from cds_hooks.models import HookRequest
from fhir_mappings.bundles import is_operation_outcome, opened
from plugin.hooks.fhir_client import (
    DEFAULT_MAX_CALL_BYTES,
    DEFAULT_MAX_RESPONSE_BYTES,
    FhirClient,
    FhirUnavailable,
    SearchResult,
)
from plugin.hooks.record_data import DataKey, PatientData

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FetchSettings:
    budget_seconds: float = 4.0
    page_cap: int = 20
    page_size: int = 100
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_call_bytes: int = DEFAULT_MAX_CALL_BYTES


def _query_for(key: DataKey, context_value: str, page_size: int) -> str:
    query = key.template.replace(f"{{{{context.{key.context_field}}}}}", quote(context_value, safe=""))
    if "?" in query:
        query += f"&_count={page_size}"
    return query


async def gather(
    request: HookRequest,
    *,
    required: Collection[DataKey],
    optional: Collection[DataKey],
    http: httpx.AsyncClient,
    settings: FetchSettings,
) -> PatientData:
    data = PatientData()
    prefetch = request.prefetch or {}
    to_fetch: dict[DataKey, Any] = {}
    for key in (*required, *optional):
        if _context_value(request, key) is None:
            # The hook named no encounter: there is nothing to read, as when the EHR prefetched null.
            continue
        if key.value in prefetch and not is_operation_outcome(value := opened(prefetch[key.value])):
            data.values[key] = value
            if _has_next_page(value):
                to_fetch[key] = value
        else:
            to_fetch[key] = None
    if to_fetch:
        if request.fhir_server is None:
            for key in to_fetch:
                if key not in data.values:
                    data.unavailable[key] = "not prefetched and no fhirServer was given"
        else:
            await _fetch_all(request, to_fetch, data, http, settings)
    missing = [key for key in required if key in data.unavailable]
    if missing:
        detail = "; ".join(f"{key.value}: {data.unavailable[key]}" for key in missing)
        raise PrefetchUnavailable(f"required data could not be obtained ({detail})")
    return data


def _context_value(request: HookRequest, key: DataKey) -> str | None:
    value = request.patient_id if key.context_field == "patientId" else request.context.get(key.context_field)
    return value if isinstance(value, str) and value else None


def _has_next_page(value: Any) -> bool:
    return isinstance(value, dict) and any(
        isinstance(link, dict) and link.get("relation") == "next" for link in value.get("link") or []
    )


async def _fetch_all(
    request: HookRequest,
    to_fetch: dict[DataKey, Any],
    data: PatientData,
    http: httpx.AsyncClient,
    settings: FetchSettings,
) -> None:
    assert request.fhir_server is not None
    token = request.fhir_authorization.access_token if request.fhir_authorization else None
    deadline = time.monotonic() + settings.budget_seconds
    client = FhirClient(
        http,
        request.fhir_server,
        token,
        page_cap=settings.page_cap,
        deadline=deadline,
        max_response_bytes=settings.max_response_bytes,
        max_call_bytes=settings.max_call_bytes,
    )
    # Pages read before a later page fails or the budget runs out are kept, and reported as incomplete.
    partial = {key: SearchResult() for key in to_fetch}

    async def fetch(key: DataKey, first_page: Any) -> Any:
        if first_page is not None:
            return await client.continue_search(first_page, partial[key])
        context_value = _context_value(request, key)
        assert context_value is not None
        query = _query_for(key, context_value, settings.page_size)
        if key in (DataKey.PATIENT, DataKey.ENCOUNTER):
            return await client.read(query)
        return await client.search(query, partial[key])

    tasks = {key: asyncio.create_task(fetch(key, first_page)) for key, first_page in to_fetch.items()}
    started = time.perf_counter()
    _, pending = await asyncio.wait(tasks.values(), timeout=settings.budget_seconds)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    for key, task in tasks.items():
        if task in pending:
            reason = "the FHIR server did not answer within the time budget"
        elif isinstance(task.exception(), FhirUnavailable):
            reason = str(task.exception())
        elif task.exception() is not None:
            logger.warning("fhir fetch failed", extra={"key": key.value, "error_type": type(task.exception()).__name__})
            reason = "the FHIR server's answer could not be read"
        else:
            result = task.result()
            data.fetched.append(key)
            if isinstance(result, SearchResult):
                data.values[key] = result.resources
                if result.incomplete:
                    data.incomplete[key] = result.incomplete
            else:
                data.values[key] = result
            continue
        if partial[key].resources:
            data.values[key] = partial[key].resources
            data.incomplete[key] = f"later pages: {reason}"
        elif key in data.values:
            data.incomplete[key] = f"later pages: {reason}"
        else:
            data.unavailable[key] = reason
    annotate(
        fetched=[key.value for key in tasks],
        unavailable=[key.value for key in data.unavailable],
        fetch_ms=round((time.perf_counter() - started) * 1000, 1),
    )

"""Calling the service the way an EHR does, for a scenario patient: discovery, the hook request, the cards.

The request carries what an EHR's screen holds (draft orders, the appointment being booked, the encounter) and the
`fhirServer` the service should read the record from. By default nothing is prefetched, so the service fetches the
whole record itself; `partial` prefetches the patient and the first page of procedures, as an EHR with a page size
would, leaving the service to follow the `next` links.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from cds_hooks.models import CdsResponse
from plugin.sandbox.chart import PRACTITIONER
from plugin.sandbox.loader import describe_problem, fhir_headers
from plugin.sandbox.resources import cds_request, collection, fhir_authorization
from plugin.sandbox.scenarios import Hook, Scenario

DEFAULT_SERVICE_URL = "http://127.0.0.1:8080"


class Prefetch(StrEnum):
    NONE = "none"
    PARTIAL = "partial"
    FULL = "full"


_PARTIAL_KEYS = frozenset({"patient", "procedures"})


class RunFailed(Exception):
    """The service could not be asked at all (unreachable, no discovery, no service for the hook)."""


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    hook: str
    prefetch: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class HookOutcome:
    service: Service
    status: int
    response: CdsResponse | None
    problem: str
    elapsed_seconds: float

    @property
    def rule_ids(self) -> frozenset[str]:
        if self.response is None:
            return frozenset()
        return frozenset(card.source.topic.code for card in self.response.cards if card.source.topic is not None)


@dataclass(frozen=True, slots=True)
class Comparison:
    """A hook's cards against a scenario's expected rule ids; an answer without cards (412, say) never passes."""

    expected: frozenset[str]
    outcome: HookOutcome

    @property
    def actual(self) -> frozenset[str]:
        return self.outcome.rule_ids

    @property
    def missing(self) -> list[str]:
        return sorted(self.expected - self.actual)

    @property
    def unexpected(self) -> list[str]:
        return sorted(self.actual - self.expected)

    @property
    def ok(self) -> bool:
        return self.outcome.response is not None and self.expected == self.actual

    def describe(self) -> str:
        if self.outcome.response is None:
            return f"HTTP {self.outcome.status}: {self.outcome.problem or 'no cards'}"
        if self.ok:
            return "as expected"
        parts = []
        if self.missing:
            parts.append("missing " + ", ".join(self.missing))
        if self.unexpected:
            parts.append("unexpected " + ", ".join(self.unexpected))
        return "; ".join(parts)


def rule_words(rules: Iterable[str]) -> str:
    return ", ".join(sorted(rules)) or "(no cards)"


def service_base(service_url: str) -> str:
    """The service's base URL, whether given as the base or as its discovery URL."""
    return service_url.rstrip("/").removesuffix("/cds-services")


def discover(client: httpx.Client, service_url: str) -> dict[str, Service]:
    """The service for each hook, from the discovery endpoint."""
    url = f"{service_base(service_url)}/cds-services"
    try:
        response = client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as error:
        raise RunFailed(f"cannot reach {url}: {type(error).__name__}") from None
    if response.status_code == 401:
        raise RunFailed(f"discovery at {url} answered 401: the sandbox sends no JWT, run the service with --no-auth")
    if response.status_code != 200:
        raise RunFailed(f"discovery at {url} answered {response.status_code}")
    try:
        services = response.json()["services"]
        return {
            entry["hook"]: Service(entry["id"], entry["hook"], dict(entry.get("prefetch") or {})) for entry in services
        }
    except (ValueError, KeyError, TypeError):
        raise RunFailed(f"discovery at {url} did not answer with a list of services") from None


def _hook_context(hook: str, scenario: Scenario | None, encounter_id: str | None) -> dict[str, Any]:
    context: dict[str, Any] = {}
    if encounter_id:
        context["encounterId"] = encounter_id
    drafts = scenario.draft_orders if scenario else ()
    if hook in (Hook.ORDER_SELECT, Hook.ORDER_SIGN):
        context["draftOrders"] = collection(drafts)
    if hook == Hook.ORDER_SELECT:
        context["selections"] = [f"{order['resourceType']}/{order['id']}" for order in drafts]
    if hook == Hook.APPOINTMENT_BOOK:
        context["appointments"] = collection(scenario.appointments if scenario else ())
    return context


def hook_request(
    hook: str,
    patient_id: str,
    fhir_server: str,
    *,
    scenario: Scenario | None = None,
    token: str | None = None,
    encounter_id: str | None = None,
    prefetch: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    return cds_request(
        hook,
        _hook_context(hook, scenario, encounter_id or (scenario.encounter_id if scenario else None)),
        patient=patient_id,
        user=PRACTITIONER,
        hook_instance=str(uuid.uuid4()),
        fhir_server=fhir_server.rstrip("/"),
        authorization=fhir_authorization(token, "epidural-cds-sandbox") if token else None,
        prefetch=prefetch,
    )


def fetch_prefetch(
    client: httpx.Client,
    fhir_server: str,
    service: Service,
    mode: Prefetch,
    patient_id: str,
    *,
    token: str | None = None,
    page_size: int | None = None,
) -> dict[str, Any]:
    """What an EHR would prefetch for `service`: its templates filled in and read from the FHIR server.

    Like EHRs, a key whose read fails is left out (the service then fetches it itself); `page_size` adds `_count`
    to searches, to make the service continue from a first page.
    """
    if mode is Prefetch.NONE:
        return {}
    keys = _PARTIAL_KEYS if mode is Prefetch.PARTIAL else frozenset(service.prefetch)
    values: dict[str, Any] = {}
    for key, template in service.prefetch.items():
        if key not in keys:
            continue
        query = template.replace("{{context.patientId}}", quote(patient_id, safe=""))
        if page_size is not None and "?" in query:
            query += f"&_count={page_size}"
        try:
            response = client.get(f"{fhir_server.rstrip('/')}/{query}", headers=fhir_headers(token))
            if response.status_code == 200:
                values[key] = response.json()
        except (httpx.HTTPError, ValueError):
            continue
    return values


def call(client: httpx.Client, service_url: str, service: Service, request: Mapping[str, Any]) -> HookOutcome:
    url = f"{service_base(service_url)}/cds-services/{quote(service.id, safe='')}"
    started = time.perf_counter()
    try:
        response = client.post(url, json=dict(request), headers={"Accept": "application/json"})
    except httpx.HTTPError as error:
        raise RunFailed(f"cannot reach {url}: {type(error).__name__}") from None
    elapsed = time.perf_counter() - started
    try:
        body = response.json()
    except ValueError:
        return HookOutcome(service, response.status_code, None, "the answer is not JSON", elapsed)
    if response.status_code != 200:
        return HookOutcome(service, response.status_code, None, describe_problem(body), elapsed)
    try:
        cards = CdsResponse.model_validate(body)
    except ValidationError as error:
        return HookOutcome(
            service, 200, None, f"not a valid CDS Hooks response ({error.error_count()} errors)", elapsed
        )
    return HookOutcome(service, 200, cards, "", elapsed)


def run_hook(
    client: httpx.Client,
    *,
    service_url: str,
    fhir_server: str,
    services: Mapping[str, Service],
    hook: str,
    patient_id: str,
    scenario: Scenario | None = None,
    token: str | None = None,
    encounter_id: str | None = None,
    prefetch: Prefetch = Prefetch.NONE,
    page_size: int | None = None,
) -> HookOutcome:
    """Ask the service for `hook` about `patient_id`, carrying the scenario's drafts, as an EHR would."""
    service = services.get(hook)
    if service is None:
        raise RunFailed(f"the service offers nothing for the {hook} hook (it offers: {', '.join(sorted(services))})")
    prefetched = fetch_prefetch(client, fhir_server, service, prefetch, patient_id, token=token, page_size=page_size)
    request = hook_request(
        hook,
        patient_id,
        fhir_server,
        scenario=scenario,
        token=token,
        encounter_id=encounter_id,
        prefetch=prefetched,
    )
    return call(client, service_url, service, request)


def compare(scenario: Scenario, hook: Hook, outcome: HookOutcome) -> Comparison:
    return Comparison(frozenset(str(rule) for rule in scenario.expected[hook]), outcome)

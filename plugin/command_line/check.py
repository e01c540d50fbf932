"""`epidural-cds check REQUEST.json`: one CDS Hooks request evaluated offline, its cards and the policy applied.

Read-only: no database is opened or created. The exit status is 0 whatever the cards say (the contract), unless
`--fail-on` names an indicator: then 1 when a card at or above it is present, for scripts and CI jobs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

import httpx
import orjson

from cds_hooks.errors import CdsHooksError
from cds_hooks.models import CdsResponse, HookRequest
from plugin.command_line.request_file import read_request_file
from plugin.command_line.terminal import cards_table
from plugin.hooks.patient_data import FetchSettings, gather
from plugin.hooks.services import SERVICES, Evaluator, ServiceSpec, read_record
from plugin.policies.catalog import PolicySelection, load_catalog
from plugin.serving.settings import load_settings

_SEVERITY: Final = {"info": 0, "warning": 1, "critical": 2}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "check",
        help="evaluate one CDS Hooks request file offline and print its cards",
        description="Evaluate one CDS Hooks request offline (prefetch inside, or fhirServer to fetch from) and print "
        "the policy applied and the cards. The shipped examples/ are dated around 2026-11-27: run them with "
        "--as-of 2026-11-27 to see the cards they were written for.",
    )
    check.add_argument("request", type=Path, help="a CDS Hooks request (JSON)")
    check.add_argument("--service", help="service id (default: the service for the request's hook)")
    check.add_argument("--json", action="store_true", help="print the raw CDS Hooks response")
    check.add_argument("--as-of", type=date.fromisoformat, help="evaluate as if today were this date (YYYY-MM-DD)")
    check.add_argument("--config", type=Path, help="TOML configuration file (for policy_dir)")
    check.add_argument(
        "--fail-on",
        choices=["warning", "critical"],
        help="exit 1 when a card at or above this indicator is present (default: exit 0 whatever the cards)",
    )
    check.set_defaults(run=run)


@dataclass(frozen=True)
class _Outcome:
    response: CdsResponse
    selection: PolicySelection


def run(arguments: argparse.Namespace) -> int:
    request = read_request_file(arguments.request)
    if request is None:
        return 2
    spec = _service_for(request, arguments.service)
    if spec is None:
        print(f"epidural-cds: no service answers {arguments.service or request.hook!r}", file=sys.stderr)
        return 2
    settings = load_settings(arguments.config, os.environ)
    as_of = arguments.as_of or date.today()
    try:
        outcome = asyncio.run(_evaluate(spec, request, settings.policy_dir, as_of, settings.fhir_budget_seconds))
    except CdsHooksError as error:
        print(f"epidural-cds: {error.status}: {error.message}", file=sys.stderr)
        return 1
    response = outcome.response
    if arguments.json:
        sys.stdout.write(_indented_json(response.to_wire()) + "\n")
    else:
        policy = outcome.selection.policy
        print(f"{spec.id} ({spec.hook}) as of {as_of.isoformat()}")
        print(f"policy: {policy.title} ({policy.id} {policy.version}): {outcome.selection.why}")
        print()
        print(cards_table(response))
    if arguments.fail_on is not None:
        threshold = _SEVERITY[arguments.fail_on]
        if any(_SEVERITY[card.indicator] >= threshold for card in response.cards):
            return 1
    return 0


def _service_for(request: HookRequest, service_id: str | None) -> ServiceSpec | None:
    for spec in SERVICES:
        if (service_id is not None and spec.id == service_id) or (service_id is None and spec.hook == request.hook):
            return spec
    return None


async def _evaluate(
    spec: ServiceSpec, request: HookRequest, policy_dir: Path | None, as_of: date, budget: float
) -> _Outcome:
    """The service's own pipeline, step by step, so the policy it selects can be shown beside the cards."""
    async with httpx.AsyncClient(timeout=budget, trust_env=False) as http:
        catalog = load_catalog(policy_dir)
        evaluator = Evaluator(catalog, http, FetchSettings(budget_seconds=budget), lambda: as_of)
        data = await gather(
            request, required=spec.required, optional=spec.optional, http=http, settings=evaluator.fetch
        )
        record = read_record(data)
        selection = catalog.select(spec.subjects(request, data, record).record.coverages, as_of)
        return _Outcome(evaluator.judge(spec, request, data, record), selection)


def _indented_json(body: Any) -> str:
    try:
        return orjson.dumps(body, option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONEncodeError:
        # An integer beyond 64 bits in a draft order is carried back unchanged in a suggestion; orjson refuses it.
        return json.dumps(body, ensure_ascii=False, indent=2)

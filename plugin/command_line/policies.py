"""`epidural-cds policies list | check [DIR] | explain REQUEST.json`: the tools of the people who maintain policies."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from cds_hooks.errors import CdsHooksError
from cds_hooks.models import HookRequest
from plugin.command_line.request_file import read_request_file
from plugin.command_line.terminal import table
from plugin.hooks.patient_data import FetchSettings, gather
from plugin.hooks.record_data import DataKey
from plugin.hooks.services import SERVICES, read_record
from plugin.policies.catalog import PolicyCatalog, PolicySelection, check_directory, load_catalog
from plugin.policies.quotes import quoted_numbers
from plugin.serving.settings import load_settings


def register(subparsers: Any) -> None:
    policies = subparsers.add_parser("policies", help="list, validate and explain payer policies")
    actions = policies.add_subparsers(required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the policies with versions, sources and each number's verification")
    listing.add_argument("--config", type=Path, help="TOML configuration file (for policy_dir)")
    listing.set_defaults(run=_list)
    validate = actions.add_parser("check", help="validate policy files; every error with file and field")
    validate.add_argument("directory", type=Path, nargs="?", help="a directory of extra or overriding policy files")
    validate.set_defaults(run=_check)
    explain = actions.add_parser("explain", help="which policy applies to a request's patient, and why")
    explain.add_argument("request", type=Path, help="a CDS Hooks request (JSON)")
    explain.add_argument("--as-of", type=date.fromisoformat, help="judge as if today were this date (YYYY-MM-DD)")
    explain.add_argument("--config", type=Path, help="TOML configuration file (for policy_dir)")
    explain.set_defaults(run=_explain)


def _list(arguments: argparse.Namespace) -> int:
    catalog = load_catalog(load_settings(arguments.config, os.environ).policy_dir)
    for policy_id in sorted(catalog.versions):
        versions = catalog.versions[policy_id]
        latest = versions[-1]
        print(f"{latest.title}\n  id {policy_id}  [{catalog.origins[policy_id]}]")
        for source in latest.sources:
            print(f"  source: {source.title}\n          {source.url}")
        for policy in versions:
            until = f" to {policy.effective.end.isoformat()}" if policy.effective.end else ""
            print(f"  version {policy.version}, in force from {policy.effective.start.isoformat()}{until}")
            rows = [
                [number.what, "verified" if number.verified else "UNVERIFIED", str(number.source.url)]
                if number.source is not None
                else [number.what, "NO QUOTE", ""]
                for number in quoted_numbers(policy)
            ]
            print("    " + table(["number", "status", "quoted from"], rows).replace("\n", "\n    "))
        print()
    print("Coverage → policy (first match on the primary coverage wins):")
    for rule in catalog.mapping.rules:
        print(f"  {_selector_words(rule.when.model_dump(exclude_defaults=True))} → {rule.policy}")
    print(f"  anything else, or no coverage → {catalog.mapping.default_policy} (the typical commercial rule)")
    state = catalog.mapping.service_state
    print(f"Service state: {state}" if state else "Service state: not configured (service_state in the mapping)")
    return 0


def _selector_words(selector: dict[str, Any]) -> str:
    parts = []
    if "type_code_prefix" in selector:
        parts.append(f"type {selector['type_system']} code {selector['type_code_prefix']}*")
    if "payer_identifiers" in selector:
        parts.append(f"payer identifier in {', '.join(selector['payer_identifiers'])}")
    if "payer_name_matches" in selector:
        parts.append(f"payer name ~ {selector['payer_name_matches']}")
    if "states" in selector:
        parts.append(f"state in {' '.join(selector['states'])}")
    return " and ".join(parts)


def _check(arguments: argparse.Namespace) -> int:
    problems = check_directory(arguments.directory)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        count = len(problems)
        print(f"{count} problem{'s' if count != 1 else ''} found", file=sys.stderr)
        return 1
    where = f"shipped policies and {arguments.directory}" if arguments.directory else "shipped policies"
    print(f"ok: {where} are valid; every number has a quote and a source")
    return 0


def _explain(arguments: argparse.Namespace) -> int:
    request = read_request_file(arguments.request)
    if request is None:
        return 2
    settings = load_settings(arguments.config, os.environ)
    catalog = load_catalog(settings.policy_dir)
    as_of = arguments.as_of or date.today()
    try:
        selection = asyncio.run(select_for(request, catalog, as_of, settings.fhir_budget_seconds))
    except CdsHooksError as error:
        print(f"epidural-cds: {error.status}: {error.message}", file=sys.stderr)
        return 1
    print(explanation(selection, catalog, as_of))
    return 0


async def select_for(request: HookRequest, catalog: PolicyCatalog, as_of: date, budget: float) -> PolicySelection:
    """The policy selection for the request's patient, reading coverage and where the service is furnished as the
    hook's service does (prefetch, then fetch), so `explain` says what the cards say."""
    spec = next((spec for spec in SERVICES if spec.hook == request.hook), None)
    # What the selection reads: coverage, and the encounter or the appointments a Location may come with.
    keys = {DataKey.COVERAGE} | ((spec.optional if spec else frozenset()) & _PLACE_KEYS)
    async with httpx.AsyncClient(timeout=budget, trust_env=False) as http:
        data = await gather(
            request, required=(), optional=keys, http=http, settings=FetchSettings(budget_seconds=budget)
        )
    record = read_record(data)
    place = spec.subjects(request, data, record).place if spec else None
    return catalog.select(record.coverages, as_of, place)


_PLACE_KEYS = frozenset({DataKey.ENCOUNTER, DataKey.APPOINTMENTS})


def explanation(selection: PolicySelection, catalog: PolicyCatalog, as_of: date) -> str:
    policy = selection.policy
    lines = [
        f"Policy: {policy.title} (version {policy.version}, in force on {as_of.isoformat()})",
        f"Why: {selection.why}.",
    ]
    coverage = selection.coverage
    if coverage is not None:
        types = ", ".join(f"{system or '(no system)'}|{code}" for system, code in coverage.type_codes) or "none"
        lines.append(f"Primary coverage: {coverage.source}; payer and plan names: {', '.join(coverage.payor_names)}")
        lines.append(f"  type codes: {types}; payer identifiers: {', '.join(coverage.payer_identifiers) or 'none'}")
    state = selection.service_state or selection.chosen_in
    lines.append(
        f"Service state: {state.code}, {state.words}"
        if state
        else "Service state: not known (no service_state in the mapping, no location in the request's data)"
    )
    if selection.by_default:
        lines.append(
            "This is the typical commercial rule for plans without a configured policy: its cards are never above a "
            "warning, and it asks for no prior authorization (only a policy chosen for the payer names a reviewer). "
            "To map the plan, add a rule to a coverage-mapping file in your policy_dir, e.g.\n"
            '  - policy: <policy id>\n    when: {payer_identifiers: ["<payer id>"]}\n'
            f"Policy ids: {', '.join(sorted(catalog.policies))}"
        )
    return "\n".join(lines)

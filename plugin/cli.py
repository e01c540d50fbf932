"""`epidural-cds`: serve the hooks, check a request offline, list and validate policies."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import httpx
import orjson
import uvicorn
from pydantic import ValidationError

from cds_hooks.endpoints import describe_validation_error
from cds_hooks.errors import CdsHooksError
from cds_hooks.models import CdsResponse, HookRequest
from plugin.app import StartupRefused, create_app
from plugin.denials import cli as denials_cli
from plugin.feedback import FeedbackStore
from plugin.log_format import configure_logging
from plugin.patient_data import FetchSettings
from plugin.policies.catalog import PolicyCatalogError, check_directory, load_catalog
from plugin.sandbox.cli import add_sandbox_commands
from plugin.services import SERVICES, Evaluator, ServiceSpec
from plugin.settings import CONFIG_FILE_VARIABLE, SettingsError, load_settings
from plugin.terminal import cards_table, table
from plugin.worklist import cli as worklist_cli
from plugin.workspace import cli as workspace_cli

logger = logging.getLogger("epidural_cds")

NO_AUTH_WARNING = (
    "!" * 78 + "\n"
    "!! --no-auth: JWT checks and the fhirServer allow-list are OFF. Any caller can use this service and make\n"
    "!! it fetch from any FHIR server. For local sandbox work only; never expose this port.\n" + "!" * 78
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    try:
        result: int = arguments.run(arguments)
    except (SettingsError, PolicyCatalogError) as error:
        print(f"epidural-cds: {error}", file=sys.stderr)
        return 2
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="epidural-cds",
        description="CDS Hooks 2.0 service for epidural and transforaminal injection orders.",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the CDS Hooks service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--config", type=Path, help="TOML configuration file")
    serve.add_argument("--no-auth", action="store_true", help="turn off JWT checks and the fhirServer allow-list")
    serve.set_defaults(run=_serve)

    check = commands.add_parser("check", help="evaluate one CDS Hooks request file offline and print its cards")
    check.add_argument("request", type=Path, help="a CDS Hooks request (JSON)")
    check.add_argument("--service", help="service id (default: the service for the request's hook)")
    check.add_argument("--json", action="store_true", help="print the raw CDS Hooks response")
    check.add_argument("--as-of", type=date.fromisoformat, help="evaluate as if today were this date (YYYY-MM-DD)")
    check.add_argument("--config", type=Path, help="TOML configuration file (for policy_dir)")
    check.set_defaults(run=_check)

    policies = commands.add_parser("policies", help="list or validate payer policies")
    policy_commands = policies.add_subparsers(required=True, metavar="ACTION")
    listing = policy_commands.add_parser("list", help="list the policies with versions and sources")
    listing.add_argument("--config", type=Path, help="TOML configuration file (for policy_dir)")
    listing.set_defaults(run=_policies_list)
    validate = policy_commands.add_parser("check", help="validate policy files; every error with file and field")
    validate.add_argument("directory", type=Path, nargs="?", help="a directory of extra or overriding policy files")
    validate.set_defaults(run=_policies_check)

    feedback = commands.add_parser("feedback", help="what clinicians did with the cards")
    feedback_commands = feedback.add_subparsers(required=True, metavar="ACTION")
    report = feedback_commands.add_parser(
        "report", help="accept and override rates per rule, with top override reasons"
    )
    report.add_argument("--config", type=Path, help="TOML configuration file (for feedback_db)")
    report.add_argument("--db", help="feedback database URL (default: the configured feedback_db)")
    report.set_defaults(run=_feedback_report)

    add_sandbox_commands(commands)
    worklist_cli.register(commands)
    denials_cli.register(commands)
    workspace_cli.register(commands)
    return parser


def _serve(arguments: argparse.Namespace) -> int:
    configure_logging()
    if arguments.config is not None:
        os.environ[CONFIG_FILE_VARIABLE] = str(arguments.config)
    auth = not arguments.no_auth
    if not auth:
        # The banner goes to the terminal as text, where a person sees it; each worker logs it for log collectors.
        print(NO_AUTH_WARNING, file=sys.stderr)
    settings = load_settings(arguments.config, os.environ)
    try:
        create_app(settings, auth=auth)  # fail here, once, with a readable message, rather than in every worker
    except StartupRefused as error:
        print(f"epidural-cds: refusing to start: {error}", file=sys.stderr)
        return 2
    uvicorn.run(
        "plugin.asgi:app_from_environment" if auth else "plugin.asgi:app_without_auth",
        factory=True,
        host=arguments.host,
        port=arguments.port,
        workers=arguments.workers,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    return 0


def _check(arguments: argparse.Namespace) -> int:
    try:
        body = arguments.request.read_bytes()
        # Read as the service reads a request body; the ordinary reading words what is wrong with one it cannot.
        request = HookRequest.from_json(body) or HookRequest.model_validate(orjson.loads(body))
    except OSError as error:
        print(f"epidural-cds: cannot read {arguments.request}: {error.strerror}", file=sys.stderr)
        return 2
    except orjson.JSONDecodeError as error:
        print(f"epidural-cds: {arguments.request} is not valid JSON: {error}", file=sys.stderr)
        return 2
    except ValidationError as error:
        print(
            f"epidural-cds: {arguments.request} is not a CDS Hooks request: {describe_validation_error(error)}",
            file=sys.stderr,
        )
        return 2
    spec = _service_for(request, arguments.service)
    if spec is None:
        print(f"epidural-cds: no service answers {arguments.service or request.hook!r}", file=sys.stderr)
        return 2
    settings = load_settings(arguments.config, os.environ)
    as_of = arguments.as_of or date.today()
    try:
        response = asyncio.run(_evaluate(spec, request, settings.policy_dir, as_of, settings.fhir_budget_seconds))
    except CdsHooksError as error:
        print(f"epidural-cds: {error.status}: {error.message}", file=sys.stderr)
        return 1
    if arguments.json:
        sys.stdout.write(orjson.dumps(response.to_wire(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(f"{spec.id} ({spec.hook}) as of {as_of.isoformat()}")
        print(cards_table(response))
    return 0


def _service_for(request: HookRequest, service_id: str | None) -> ServiceSpec | None:
    for spec in SERVICES:
        if (service_id is not None and spec.id == service_id) or (service_id is None and spec.hook == request.hook):
            return spec
    return None


async def _evaluate(
    spec: ServiceSpec, request: HookRequest, policy_dir: Path | None, as_of: date, budget: float
) -> CdsResponse:
    async with httpx.AsyncClient(timeout=budget, trust_env=False) as http:
        evaluator = Evaluator(load_catalog(policy_dir), http, FetchSettings(budget_seconds=budget), lambda: as_of)
        return await evaluator.evaluate(spec, request)


def _policies_list(arguments: argparse.Namespace) -> int:
    settings = load_settings(arguments.config, os.environ)
    catalog = load_catalog(settings.policy_dir)
    rows = []
    for policy in sorted(catalog.policies.values(), key=lambda policy: policy.id):
        windows = ", ".join(
            f"{limit.max_sessions or '-'} sessions/{limit.max_injections or '-'} injections per {limit.months} mo"
            for limit in policy.frequency.limits
        )
        rows.append([policy.id, policy.version, policy.effective.start.isoformat(), policy.frequency.scope, windows])
    print(table(["policy", "version", "effective", "scope", "limits"], rows))
    print()
    for policy in sorted(catalog.policies.values(), key=lambda policy: policy.id):
        print(f"{policy.id}: {policy.title}  [{catalog.origins[policy.id]}]")
        for source in policy.sources:
            print(f"  - {source.title}\n    {source.url}")
    print("\nCoverage → policy (first match on the primary coverage wins):")
    for rule in catalog.mapping.rules:
        selector = rule.when
        what = (
            f"type {selector.type_system} code {selector.type_code_prefix}*"
            if selector.type_system
            else f"payer name ~ {selector.payer_name_matches}"
        )
        print(f"  {what} → {rule.policy}")
    print(f"  anything else, or no coverage → {catalog.mapping.default_policy}")
    return 0


def _feedback_report(arguments: argparse.Namespace) -> int:
    settings = load_settings(arguments.config, os.environ)
    store = FeedbackStore(arguments.db or settings.feedback_db)
    try:
        summaries = store.report()
    finally:
        store.close()
    if not summaries:
        print("no feedback recorded yet")
        return 0
    rows = [
        [
            summary.rule_id or "(unattributed)",
            str(summary.accepted),
            str(summary.overridden),
            f"{summary.override_rate:.0%}",
            "; ".join(f"{reason.display or reason.code} ({reason.count})" for reason in summary.top_override_reasons),
        ]
        for summary in summaries
    ]
    print(table(["rule", "accepted", "overridden", "override rate", "top override reasons"], rows))
    return 0


def _policies_check(arguments: argparse.Namespace) -> int:
    problems = check_directory(arguments.directory)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    where = f"shipped policies and {arguments.directory}" if arguments.directory else "shipped policies"
    print(f"ok: {where} are valid")
    return 0

"""`epidural-cds sandbox ...`: load the scenario patients into a FHIR server, run hooks for them, verify them all."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from typing import Any

import httpx
import orjson

from plugin.command_line.terminal import cards_table, table
from plugin.sandbox.loader import LoadFailed, load
from plugin.sandbox.runner import (
    DEFAULT_SERVICE_URL,
    HookOutcome,
    Prefetch,
    RunFailed,
    compare,
    discover,
    rule_words,
    run_hook,
)
from plugin.sandbox.scenarios import Hook, Scenario, UnknownScenario, build_scenarios, for_patient, select

_TIMEOUT_SECONDS = 30.0


def add_sandbox_commands(commands: Any) -> None:
    sandbox: argparse.ArgumentParser = commands.add_parser(
        "sandbox",
        help="load scenario patients into a FHIR server and run hooks against them",
        description="Synthetic scenario patients, one per rule, dated relative to today: load them into any FHIR R4 "
        "server and call the service for them as an EHR would (fhirServer set, nothing prefetched).",
    )
    actions = sandbox.add_subparsers(required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="list the scenarios with their patient ids and expected rules")
    listing.set_defaults(run=_list)

    loading = actions.add_parser("load", help="load scenarios into a FHIR R4 server (PUT: loading again replaces)")
    _fhir_arguments(loading)
    loading.add_argument("--scenario", default="all", metavar="NAME|all", help="one scenario, or all (default)")
    loading.set_defaults(run=_load)

    running = actions.add_parser("run", help="call one hook for one patient and show the cards")
    _fhir_arguments(running)
    _service_arguments(running)
    running.add_argument("--patient", required=True, metavar="ID", help="patient id (a scenario's, or any)")
    running.add_argument("--hook", required=True, choices=[hook.value for hook in Hook])
    running.add_argument("--encounter", metavar="ID", help="encounter id (default: the scenario's visit today)")
    running.add_argument(
        "--expect", action="store_true", help="compare with the scenario's expected rules; exit 1 on a difference"
    )
    running.add_argument("--json", action="store_true", help="print the CDS Hooks response as JSON")
    running.set_defaults(run=_run)

    verifying = actions.add_parser("verify", help="run every scenario's hooks and print a pass/fail table")
    _fhir_arguments(verifying)
    _service_arguments(verifying)
    verifying.add_argument("--scenario", default="all", metavar="NAME|all", help="one scenario, or all (default)")
    verifying.add_argument("--skip-load", action="store_true", help="do not (re)load the scenarios first")
    verifying.set_defaults(run=_verify)


def _fhir_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fhir-server", required=True, metavar="URL", help="FHIR R4 base URL")
    parser.add_argument(
        "--token", metavar="T", help="bearer token for the FHIR server (sent to the service as fhirAuthorization)"
    )


def _service_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--service-url", default=DEFAULT_SERVICE_URL, metavar="URL", help=f"the service (default {DEFAULT_SERVICE_URL})"
    )
    parser.add_argument(
        "--prefetch",
        type=Prefetch,
        choices=list(Prefetch),
        default=Prefetch.NONE,
        help="what the request prefetches: none (default; the service fetches everything), partial (patient and "
        "procedures), full",
    )


def _fail(message: str) -> int:
    print(f"epidural-cds: {message}", file=sys.stderr)
    return 2


def _client() -> httpx.Client:
    return httpx.Client(timeout=_TIMEOUT_SECONDS)


def _expected_words(scenario: Scenario) -> str:
    return "; ".join(f"{hook}: {rule_words(rules)}" for hook, rules in scenario.expected.items())


def _list(arguments: argparse.Namespace) -> int:
    scenarios = build_scenarios(date.today())
    print(
        table(
            ["scenario", "patient id", "expected rules per hook"],
            [[scenario.name, scenario.patient_id, _expected_words(scenario)] for scenario in scenarios],
        )
    )
    print()
    for scenario in scenarios:
        print(f"{scenario.name}: {scenario.title}")
    return 0


def _load_all(
    client: httpx.Client, fhir_server: str, scenarios: Sequence[Scenario], token: str | None
) -> list[list[str]]:
    rows = []
    for scenario in scenarios:
        written = load(client, fhir_server, scenario, token)
        rows.append([scenario.name, scenario.patient_id, str(written)])
    return rows


def _load(arguments: argparse.Namespace) -> int:
    try:
        scenarios = select(build_scenarios(date.today()), arguments.scenario)
        with _client() as client:
            rows = _load_all(client, arguments.fhir_server, scenarios, arguments.token)
    except (UnknownScenario, LoadFailed) as error:
        return _fail(str(error))
    print(table(["scenario", "patient id", "resources"], rows))
    print(f"\nloaded {len(rows)} scenario(s) into {arguments.fhir_server}")
    return 0


def _run(arguments: argparse.Namespace) -> int:
    scenario = for_patient(build_scenarios(date.today()), arguments.patient)
    hook = Hook(arguments.hook)
    if arguments.expect and (scenario is None or hook not in scenario.expected):
        return _fail(f"no expected rules are recorded for patient {arguments.patient!r} and hook {hook}")
    try:
        with _client() as client:
            outcome = run_hook(
                client,
                service_url=arguments.service_url,
                fhir_server=arguments.fhir_server,
                services=discover(client, arguments.service_url),
                hook=hook,
                patient_id=arguments.patient,
                scenario=scenario,
                token=arguments.token,
                encounter_id=arguments.encounter,
                prefetch=arguments.prefetch,
            )
    except RunFailed as error:
        return _fail(str(error))
    _show(outcome, arguments.patient, arguments.json)
    if outcome.response is None:
        return 1
    if arguments.expect:
        assert scenario is not None
        comparison = compare(scenario, hook, outcome)
        print(f"\nexpected {rule_words(comparison.expected)}: {comparison.describe()}")
        return 0 if comparison.ok else 1
    return 0


def _show(outcome: HookOutcome, patient_id: str, as_json: bool) -> None:
    if as_json and outcome.response is not None:
        sys.stdout.write(orjson.dumps(outcome.response.to_wire(), option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    service = outcome.service
    print(
        f"{service.id} ({service.hook}) for Patient/{patient_id}: "
        f"HTTP {outcome.status} in {outcome.elapsed_seconds:.2f} s"
    )
    if outcome.response is None:
        print(outcome.problem or "no cards")
        return
    print(cards_table(outcome.response))


def _verify(arguments: argparse.Namespace) -> int:
    rows: list[list[str]] = []
    failures = 0
    try:
        scenarios = select(build_scenarios(date.today()), arguments.scenario)
        with _client() as client:
            if not arguments.skip_load:
                _load_all(client, arguments.fhir_server, scenarios, arguments.token)
            services = discover(client, arguments.service_url)
            for scenario in scenarios:
                for hook in scenario.hooks:
                    outcome = run_hook(
                        client,
                        service_url=arguments.service_url,
                        fhir_server=arguments.fhir_server,
                        services=services,
                        hook=hook,
                        patient_id=scenario.patient_id,
                        scenario=scenario,
                        token=arguments.token,
                        prefetch=arguments.prefetch,
                    )
                    comparison = compare(scenario, hook, outcome)
                    failures += not comparison.ok
                    rows.append(
                        [
                            scenario.name,
                            hook,
                            rule_words(comparison.expected),
                            "PASS" if comparison.ok else "FAIL",
                            "" if comparison.ok else comparison.describe(),
                        ]
                    )
    except (UnknownScenario, LoadFailed, RunFailed) as error:
        return _fail(str(error))
    print(table(["scenario", "hook", "expected", "result", "difference"], rows))
    print(f"\n{len(rows) - failures} of {len(rows)} passed")
    return 1 if failures else 0

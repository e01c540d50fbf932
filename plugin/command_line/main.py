"""`epidural-cds`: serve the hooks, check a request offline, list and validate policies."""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy.exc
from fastapi import FastAPI

from plugin.command_line import check, policies
from plugin.command_line.terminal import table
from plugin.denials import cli as denials_cli
from plugin.policies.catalog import PolicyCatalogError
from plugin.sandbox.cli import add_sandbox_commands
from plugin.serving.log_format import configure_logging
from plugin.serving.server import AddressInUse, ServeOptions, serve
from plugin.serving.settings import CONFIG_FILE_VARIABLE, SettingsError, StartupRefused, load_settings
from plugin.storage.database import sqlite_file
from plugin.storage.feedback import FeedbackStore
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
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the CDS Hooks service")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8080, help="TCP port to listen on (default: %(default)s)")
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="worker processes, each with its own socket on the port (default: %(default)s; about one per core)",
    )
    serve.add_argument("--config", type=Path, help="TOML configuration file (see the README's Configuration)")
    serve.add_argument("--no-auth", action="store_true", help="turn off JWT checks and the fhirServer allow-list")
    serve.set_defaults(run=_serve)

    check.register(commands)

    policies.register(commands)

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
    options = ServeOptions(
        host=arguments.host,
        port=arguments.port,
        workers=arguments.workers,
        header_timeout_seconds=settings.header_timeout_seconds,
        app="plugin.serving.asgi:app_from_environment" if auth else "plugin.serving.asgi:app_without_auth",
    )

    def prepare() -> FastAPI | None:
        # Imported only now: with several workers the metrics must know where their files go before the app loads.
        from plugin.serving import asgi  # noqa: PLC0415
        from plugin.serving.app import load_shared  # noqa: PLC0415

        try:
            # The workers' own factory: fail here, once, with a readable message, rather than in every worker.
            app = asgi.app_from_environment() if auth else asgi.app_without_auth()
        except ValueError as error:  # a feedback_db that is not a database URL
            raise StartupRefused(str(error)) from None
        if options.workers == 1:
            return app  # served as it is: building it again cost ~0.1-0.3 s of start-up
        load_shared()  # once, before the workers fork, rather than in each of them
        return None

    try:
        return serve(options, prepare)
    except AddressInUse as error:
        print(f"epidural-cds: {error}", file=sys.stderr)
        return 2
    except StartupRefused as error:
        print(f"epidural-cds: refusing to start: {error}", file=sys.stderr)
        return 2


def _feedback_report(arguments: argparse.Namespace) -> int:
    settings = load_settings(arguments.config, os.environ)
    url = arguments.db or settings.feedback_db
    try:
        database = sqlite_file(url, "--db" if arguments.db else "feedback_db")
    except ValueError as error:
        print(f"epidural-cds: {error}", file=sys.stderr)
        return 2
    if database is not None and not database.exists():  # a report must not create the database it reads
        print(f"no feedback recorded yet (no database at {database})")
        return 0
    store = FeedbackStore(url)
    try:
        summaries = store.report()
    except sqlalchemy.exc.SQLAlchemyError as error:
        # The class says what failed (OperationalError: unreachable or refused); the text could quote the URL.
        print(f"epidural-cds: cannot read the feedback database ({type(error).__name__})", file=sys.stderr)
        return 2
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


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _version() -> str:
    try:
        return importlib.metadata.version("epidural-cds")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"

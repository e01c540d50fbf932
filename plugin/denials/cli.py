"""`epidural-cds denials import FILE...` and `epidural-cds denials report`."""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy.exc

from plugin.command_line.terminal import table
from plugin.denials.errors import DenialsError, MalformedFile
from plugin.denials.lines import spinal_injection_codes
from plugin.denials.report import DenialReport, denial_report
from plugin.denials.store import DenialStore
from plugin.policies.catalog import load_catalog
from plugin.serving.settings import load_settings


def register(subparsers: Any) -> None:
    """Add `denials import` and `denials report` to the `epidural-cds` command line."""
    denials = subparsers.add_parser("denials", help="import remittances and EOBs; which denials cards would prevent")
    actions = denials.add_subparsers(required=True, metavar="ACTION")

    importing = actions.add_parser(
        "import", help="read X12 835 remittances and FHIR ExplanationOfBenefit / ClaimResponse (JSON or NDJSON)"
    )
    importing.add_argument("files", nargs="+", type=Path, metavar="FILE")
    _database_options(importing)
    importing.set_defaults(run=_import)

    report = actions.add_parser("report", help="denials per rule family and payer, and what the cards did about them")
    report.add_argument("--since", type=date.fromisoformat, help="dates of service from this day (YYYY-MM-DD)")
    report.add_argument("--fhir-server", help="replay the rules on each denied line's record from this FHIR server")
    output = report.add_mutually_exclusive_group()
    output.add_argument("--csv", action="store_true", help="print CSV")
    output.add_argument("--json", action="store_true", help="print JSON")
    _database_options(report)
    report.set_defaults(run=_report)


def _database_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML configuration file (for feedback_db and policy_dir)")
    parser.add_argument("--db", help="service database URL (default: the configured feedback_db)")


def _import(arguments: argparse.Namespace) -> int:
    # The X12 models take ~0.2 s to import, and every service worker imports the command line: only this action
    # loads them.
    from plugin.denials.importer import import_file  # noqa: PLC0415

    settings = load_settings(arguments.config, os.environ)
    codes = spinal_injection_codes(frozenset(load_catalog(settings.policy_dir).conventions.guidance_codes))
    refused = 0
    try:
        store = DenialStore(arguments.db or settings.feedback_db)
    except ValueError as error:
        print(f"epidural-cds: {error}", file=sys.stderr)
        return 2
    except sqlalchemy.exc.SQLAlchemyError as error:
        print(f"epidural-cds: the database cannot be opened ({type(error).__name__})", file=sys.stderr)
        return 2
    with store:
        for path in arguments.files:
            try:
                result = import_file(store, path, codes)
            except MalformedFile as error:
                refused += 1
                print(f"epidural-cds: refused {error} (nothing of this file was stored)", file=sys.stderr)
                continue
            except sqlalchemy.exc.SQLAlchemyError as error:
                refused += 1
                print(
                    f"epidural-cds: {path}: not stored, the database failed ({type(error).__name__})", file=sys.stderr
                )
                continue
            members = f", {result.new_members} new member ids" if result.new_members else ""
            print(
                f"{result.file}: {_count(result.lines, 'spinal injection line')} read, {result.new_lines} new{members}"
            )
    return 1 if refused else 0


def _report(arguments: argparse.Namespace) -> int:
    settings = load_settings(arguments.config, os.environ)
    try:
        report = denial_report(
            arguments.db or settings.feedback_db,
            since=arguments.since,
            fhir_server=arguments.fhir_server,
            policy_dir=settings.policy_dir,
        )
    except (ValueError, DenialsError) as error:
        print(f"epidural-cds: {error}", file=sys.stderr)
        return 2
    except sqlalchemy.exc.SQLAlchemyError as error:
        print(f"epidural-cds: the database cannot be read ({type(error).__name__})", file=sys.stderr)
        return 2
    if arguments.json:
        sys.stdout.write(orjson.dumps(report, default=_json_value, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif arguments.csv:
        sys.stdout.write(_csv(report))
    else:
        print(_text(report))
    return 0


def _text(report: DenialReport) -> str:
    since = f" (dates of service from {report.since.isoformat()})" if report.since else ""
    if not report.lines:
        return f"no remittance lines imported{since}: run `epidural-cds denials import FILE...` first"
    lines = [
        f"{_count(report.lines, 'spinal injection line')}, {_count(report.denials, 'denial')}{since}; "
        f"a card would have prevented {report.preventable} (${_money(report.preventable_amount)} "
        f"of ${_money(report.denied_amount)} denied)"
    ]
    if report.patient_unknown:
        lines.append(
            f"{_count(report.patient_unknown, 'denial')} not matched to a patient (no reference or known member id)"
        )
    if report.injections_found is not None:
        lines.append(
            f"{report.injections_found} of {_count(report.denials, 'denial')} matched to the performed injection on "
            "the FHIR server, where the rules were replayed as of the date of service"
        )
    lines += ["", "Denials by rule family and payer"]
    lines.append(
        table(
            ["family", "payer", "denials", "a card would have prevented", "denied", "preventable"],
            [
                [
                    r.family_title,
                    r.payer,
                    str(r.denials),
                    str(r.preventable),
                    _money(r.denied_amount),
                    _money(r.preventable_amount),
                ]
                for r in report.families
            ],
        )
    )
    lines += ["", "Cards per rule: overridden then denied, accepted then paid"]
    if report.rules:
        lines.append(
            table(
                ["rule", "overridden, denied", "denied", "override reasons", "accepted, paid", "paid"],
                [
                    [
                        r.rule_id,
                        str(r.overridden_then_denied),
                        _money(r.denied_amount),
                        "; ".join(f"{reason.reason} ({reason.count})" for reason in r.override_reasons),
                        str(r.accepted_then_paid),
                        _money(r.paid_amount),
                    ]
                    for r in report.rules
                ],
            )
        )
    else:
        lines.append("no card issued for these patients and dates had feedback")
    return "\n".join(lines)


def _csv(report: DenialReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "family", "payer", "rule", "denials", "preventable", "denied_amount",
                     "preventable_amount", "overridden_then_denied", "override_reasons", "accepted_then_paid",
                     "paid_amount"])  # fmt: skip
    for f in report.families:
        writer.writerow(["family", f.family, f.payer, "", f.denials, f.preventable, f"{f.denied_amount:.2f}",
                         f"{f.preventable_amount:.2f}", "", "", "", ""])  # fmt: skip
    for r in report.rules:
        reasons = "; ".join(f"{reason.reason} ({reason.count})" for reason in r.override_reasons)
        writer.writerow(["rule", "", "", r.rule_id, "", "", f"{r.denied_amount:.2f}", "", r.overridden_then_denied,
                         reasons, r.accepted_then_paid, f"{r.paid_amount:.2f}"])  # fmt: skip
    return out.getvalue()


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    raise TypeError(type(value).__name__)


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"

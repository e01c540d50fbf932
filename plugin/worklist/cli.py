"""`epidural-cds worklist`: the pre-submission worklist from a FHIR server or a Bulk NDJSON export."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

import httpx

from fhir_mappings import icd10cm
from plugin.hooks.patient_data import FetchSettings
from plugin.policies.catalog import load_catalog
from plugin.serving.settings import load_settings
from plugin.worklist.fhir_source import PatientsUnavailable, fetch_patients, group_members
from plugin.worklist.ndjson import NdjsonError
from plugin.worklist.output import CsvWriter, JsonLinesWriter, RowWriter, TableWriter
from plugin.worklist.review import PatientReview, Period, review_patient
from plugin.worklist.runner import ExportReview, Progress

# The hooks' fetch budget is set for a clinician waiting on a card; nobody waits on one patient of a batch.
BATCH_FETCH_SECONDS = 30.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worklist = subparsers.add_parser(
        "worklist",
        help="performed injections with open findings before claims go out, and bookings that break a limit",
        description="Judges every performed injection in the date range as of its date of service, with the hooks' "
        "readers and rules, and every booking in the next --days days as of today.",
    )
    source = worklist.add_mutually_exclusive_group(required=True)
    source.add_argument("--fhir-server", metavar="URL", help="a FHIR R4 server's base URL")
    source.add_argument("--ndjson", type=Path, metavar="DIR", help="a FHIR Bulk Data export: DIR/*.ndjson")
    patients = worklist.add_mutually_exclusive_group()
    patients.add_argument("--patients", type=Path, metavar="FILE", help="with --fhir-server: patient ids, one a line")
    patients.add_argument("--group", metavar="ID", help="with --fhir-server: the patients of this Group")
    worklist.add_argument("--token-env", metavar="NAME", help="environment variable holding a bearer token")
    worklist.add_argument(
        "--from", dest="start", type=date.fromisoformat, help="first date of service (default: 7 days ago)"
    )
    worklist.add_argument("--to", dest="end", type=date.fromisoformat, help="last date of service (default: today)")
    worklist.add_argument("--days", type=int, default=30, help="bookings this many days ahead are checked (default 30)")
    worklist.add_argument("--as-of", type=date.fromisoformat, help="take today to be this date (YYYY-MM-DD)")
    worklist.add_argument("--all", action="store_true", help="list injections with no open finding too")
    form = worklist.add_mutually_exclusive_group()
    form.add_argument("--csv", action="store_true", help="CSV, one line per injection or booking")
    form.add_argument("--json", action="store_true", help="JSON Lines, one object per injection or booking")
    worklist.add_argument("--output", type=Path, help="write here instead of standard output")
    worklist.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes judging patients")
    worklist.add_argument("--config", type=Path, help="TOML configuration file (policy_dir, FHIR fetch settings)")
    worklist.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    if arguments.fhir_server and not (arguments.patients or arguments.group):
        return _refuse("--fhir-server needs --patients FILE or --group ID")
    if arguments.ndjson and (arguments.patients or arguments.group):
        return _refuse("--patients and --group go with --fhir-server, not --ndjson")
    today = arguments.as_of or date.today()
    end = arguments.end or today
    period = Period(start=arguments.start or end - timedelta(days=7), end=end, today=today, horizon_days=arguments.days)
    if period.start > period.end:
        return _refuse("--from is after --to")
    if arguments.days < 0:
        return _refuse("--days must be 0 or more")
    settings = load_settings(arguments.config, os.environ)
    out: TextIO = arguments.output.open("w", encoding="utf-8", newline="") if arguments.output else sys.stdout
    try:
        writer: RowWriter = (
            CsvWriter(out) if arguments.csv else JsonLinesWriter(out) if arguments.json else TableWriter(out)
        )
        progress = Progress()
        try:
            if arguments.ndjson:
                export = ExportReview(arguments.ndjson, period, settings.policy_dir, arguments.workers, progress)
                _write(export.reviews(), writer, progress, arguments.all)
                progress.finish()
                for note in export.notes:
                    print(
                        f"skipped in {note.file}: {note.malformed} lines that are not JSON, "
                        f"{note.unowned} resources naming no patient",
                        file=sys.stderr,
                    )
            else:
                token = os.environ.get(arguments.token_env) if arguments.token_env else None
                if arguments.token_env and not token:
                    return _refuse(f"--token-env: {arguments.token_env} is not set")
                budget = max(settings.fhir_budget_seconds, BATCH_FETCH_SECONDS)
                fetch = FetchSettings(budget, settings.fhir_page_cap, settings.fhir_page_size)
                asyncio.run(_from_server(arguments, period, fetch, token, settings.policy_dir, writer, progress))
                progress.finish()
        except (NdjsonError, PatientsUnavailable) as error:
            return _refuse(str(error))
        except BrokenPipeError:
            # The reader (`head`, a pager) has all it wanted; the rest of the worklist is not needed.
            sys.stderr.close()
            return 0
        except OSError as error:
            return _refuse(f"{error.filename}: {error.strerror}")
    finally:
        if arguments.output:
            out.close()
    if progress.failed_rules:
        print(f"checks that failed and were left out: {', '.join(sorted(progress.failed_rules))}", file=sys.stderr)
    if progress.skipped:
        print(f"{progress.skipped:,} resources could not be read and were skipped", file=sys.stderr)
    return 0


async def _from_server(
    arguments: argparse.Namespace,
    period: Period,
    fetch: FetchSettings,
    token: str | None,
    policy_dir: Path | None,
    writer: RowWriter,
    progress: Progress,
) -> None:
    catalog = load_catalog(policy_dir)
    icd10cm.load()
    async with httpx.AsyncClient(timeout=fetch.budget_seconds, trust_env=False) as http:
        if arguments.group:
            patients = await group_members(arguments.fhir_server, arguments.group, http, fetch, token)
        else:
            patients = [line.strip() for line in arguments.patients.read_text("utf-8").splitlines() if line.strip()]
        async for fetched in fetch_patients(arguments.fhir_server, patients, http, fetch, token):
            if fetched.data is None:
                print(f"\npatient {fetched.patient} skipped: {fetched.problem}", file=sys.stderr)
                continue
            review = review_patient(fetched.patient, fetched.data, catalog, period)
            _write((review,), writer, progress, arguments.all)


def _write(reviews: Iterable[PatientReview], writer: RowWriter, progress: Progress, everything: bool) -> None:
    for review in reviews:
        progress.add(review)
        for row in review.rows:
            if row.findings or everything:
                writer.write(row)


def _refuse(message: str) -> int:
    print(f"epidural-cds worklist: {message}", file=sys.stderr)
    return 2

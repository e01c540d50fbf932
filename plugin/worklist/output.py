"""Worklist rows written as they come: an aligned terminal listing, CSV, or JSON Lines."""

from __future__ import annotations

import csv
import textwrap
from typing import Protocol, TextIO

import msgspec

from plugin.worklist.review import WorklistRow

_HEADERS = ("kind", "patient", "date", "resource", "code", "policy", "open", "rules", "summaries")


class RowWriter(Protocol):
    def write(self, row: WorklistRow) -> None: ...


class TableWriter:
    """One block per row: the injection or booking on a line, each open finding indented under it."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.out.write(f"{'date':<10}  {'kind':<9}  {'patient':<14}  {'code':<5}  {'resource':<40}  policy\n")

    def write(self, row: WorklistRow) -> None:
        self.out.write(
            f"{row.on.isoformat():<10}  {row.kind:<9}  {row.patient:<14}  {row.code:<5}  {row.resource:<40}  "
            f"{row.policy}\n"
        )
        if not row.findings:
            self.out.write("    ready: no open findings\n")
        for finding in row.findings:
            line = textwrap.shorten(
                f"{finding.severity.upper():<8} {finding.rule}: {finding.summary}", 156, placeholder="…"
            )
            self.out.write(f"    {line}\n")


class CsvWriter:
    """One line per row; its findings' rule ids and summaries joined with " | " in the last two columns."""

    def __init__(self, out: TextIO) -> None:
        self.writer = csv.writer(out, lineterminator="\n")
        self.writer.writerow(_HEADERS)

    def write(self, row: WorklistRow) -> None:
        self.writer.writerow(
            [
                row.kind,
                row.patient,
                row.on.isoformat(),
                row.resource,
                row.code,
                row.policy,
                len(row.findings),
                " | ".join(finding.rule for finding in row.findings),
                " | ".join(finding.summary for finding in row.findings),
            ]
        )


class JsonLinesWriter:
    """One JSON object per row and line, so a worklist of any length streams and is read back a line at a time."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.encoder = msgspec.json.Encoder()

    def write(self, row: WorklistRow) -> None:
        self.out.write(self.encoder.encode(row).decode() + "\n")

"""The denials tables in the service database: import (one transaction per file, idempotent) and reads."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from plugin.denials.lines import Adjustment, RemittanceLine
from plugin.denials.tables import members, metadata, remittance_lines
from plugin.storage.database import WRITE_TRANSACTION, EngineStore, create_tables, insert_new, open_engine
from plugin.storage.feedback import feedback_table

_CENT = Decimal("0.01")


class DenialStore(EngineStore):
    """Remittance lines and member ids in SQLite or PostgreSQL (the service database)."""

    def __init__(self, url: str) -> None:
        self._engine, self._backend = open_engine(url, setting="--db", logging_name="denials", synchronous="FULL")
        try:
            create_tables(self._engine, self._backend, metadata)
            create_tables(self._engine, self._backend, feedback_table.metadata)  # read beside the denials
        except BaseException:
            self._engine.dispose()
            raise

    @property
    def engine(self) -> sa.Engine:
        return self._engine

    def import_file(
        self, file_name: str, lines: Sequence[RemittanceLine], member_patients: Mapping[str, str]
    ) -> tuple[int, int]:
        """Store one file's lines and member ids in one transaction; (new lines, new member ids). Lines already
        stored (by `RemittanceLine.key`) and member ids already known are left as they are."""
        now = datetime.now(UTC)
        rows = [_row(line, file_name, now) for line in {line.key: line for line in lines}.values()]
        member_rows = [{"member_id": m, "patient_reference": p} for m, p in sorted(member_patients.items())]
        with self._engine.connect() as conn:
            conn.execution_options(**{WRITE_TRANSACTION: True})
            with conn.begin():
                new_lines = self._insert(conn, remittance_lines, rows, "line_key")
                new_members = self._insert(conn, members, member_rows, "member_id")
        return new_lines, new_members

    def _insert(self, conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], key: str) -> int:
        """Insert the rows that are not there yet; how many were."""
        if not rows:
            return 0
        return len(conn.execute(insert_new(table, self._backend, [key]), rows).all())

    def lines(self, since: date | None = None) -> list[RemittanceLine]:
        """Stored lines (with a date of service on or after `since`), by date of service."""
        query = sa.select(remittance_lines).order_by(remittance_lines.c.service_date, remittance_lines.c.id)
        if since is not None:
            query = query.where(remittance_lines.c.service_date >= since)
        with self._engine.connect() as conn, conn.begin():
            return [_line(row._mapping) for row in conn.execute(query)]

    def member_patients(self) -> dict[str, str]:
        with self._engine.connect() as conn, conn.begin():
            return {row.member_id: row.patient_reference for row in conn.execute(sa.select(members))}

    def feedback(self, card_uuids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """Per card, the clinician's last word on it: (outcome, override reason display or code)."""
        if not card_uuids:
            return {}
        t = feedback_table
        query = (
            sa.select(t.c.card_uuid, t.c.outcome, t.c.override_reason_display, t.c.override_reason_code)
            .where(t.c.card_uuid.in_(sorted(set(card_uuids))))
            .order_by(t.c.outcome_timestamp, t.c.id)
        )
        with self._engine.connect() as conn, conn.begin():
            return {
                row.card_uuid: (row.outcome, row.override_reason_display or row.override_reason_code)
                for row in conn.execute(query)
            }

    def count(self) -> int:
        with self._engine.connect() as conn, conn.begin():
            return int(conn.execute(sa.select(sa.func.count()).select_from(remittance_lines)).scalar_one())


def _row(line: RemittanceLine, file_name: str, now: datetime) -> dict[str, Any]:
    return {
        "line_key": line.key,
        "source": line.source,
        "file_name": file_name,
        "payer": line.payer,
        "claim_id": line.claim_id,
        "claim_status": line.claim_status,
        "line_number": line.line_number,
        "patient_reference": line.patient_reference,
        "member_id": line.member_id,
        "service_date": line.service_date,
        "cpt": line.cpt,
        "modifiers": ",".join(line.modifiers),
        "units": line.units,
        "billed": line.billed.quantize(_CENT),
        "paid": line.paid.quantize(_CENT),
        "adjustments": json.dumps([[a.group, a.carc, str(a.amount.quantize(_CENT))] for a in line.adjustments]),
        "rarcs": ",".join(line.rarcs),
        "policy": line.policy,
        "imported_at": now,
    }


def _line(row: sa.RowMapping) -> RemittanceLine:
    return RemittanceLine(
        source=row["source"],
        payer=row["payer"],
        claim_id=row["claim_id"],
        claim_status=row["claim_status"],
        line_number=row["line_number"],
        patient_reference=row["patient_reference"],
        member_id=row["member_id"],
        service_date=row["service_date"],
        cpt=row["cpt"],
        modifiers=tuple(m for m in row["modifiers"].split(",") if m),
        units=Decimal(row["units"]),
        billed=Decimal(row["billed"]).quantize(_CENT),
        paid=Decimal(row["paid"]).quantize(_CENT),
        adjustments=tuple(Adjustment(g, c, Decimal(a)) for g, c, a in json.loads(row["adjustments"])),
        rarcs=tuple(r for r in row["rarcs"].split(",") if r),
        policy=row["policy"],
    )

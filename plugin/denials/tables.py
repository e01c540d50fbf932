"""The denials tables of the service database: remittance lines, and the cards issued per patient and day."""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa

metadata: Final = sa.MetaData()

remittance_lines: Final = sa.Table(
    "denial_remittance_lines",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("line_key", sa.String(64), nullable=False, unique=True),  # RemittanceLine.key: re-imports add nothing
    sa.Column("source", sa.String(24), nullable=False),
    sa.Column("file_name", sa.String, nullable=False),  # the file's name only, for an operator tracing a figure
    sa.Column("payer", sa.String, nullable=False),
    sa.Column("claim_id", sa.String, nullable=False),
    sa.Column("claim_status", sa.String(4), nullable=True),
    sa.Column("line_number", sa.Integer, nullable=False),
    sa.Column("patient_reference", sa.String, nullable=True),
    sa.Column("member_id", sa.String, nullable=True),
    sa.Column("service_date", sa.Date, nullable=False, index=True),
    sa.Column("cpt", sa.String(8), nullable=False),
    sa.Column("modifiers", sa.String, nullable=False),  # comma-separated, in claim order
    sa.Column("units", sa.Numeric(9, 2), nullable=False),
    sa.Column("billed", sa.Numeric(12, 2), nullable=False),
    sa.Column("paid", sa.Numeric(12, 2), nullable=False),
    sa.Column("adjustments", sa.Text, nullable=False),  # JSON [[group, carc, amount], ...]
    sa.Column("rarcs", sa.String, nullable=False),  # comma-separated
    sa.Column("policy", sa.String, nullable=True),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
)

cards_issued: Final = sa.Table(
    "cds_cards_issued",
    metadata,
    sa.Column("card_uuid", sa.String(36), primary_key=True),
    sa.Column("service_id", sa.String, nullable=False),
    sa.Column("rule_id", sa.String, nullable=False),
    sa.Column("patient_id", sa.String, nullable=False),
    sa.Column("issued_on", sa.Date, nullable=False),
    sa.Index("ix_cds_cards_issued_patient_day", "patient_id", "issued_on"),
)

members: Final = sa.Table(
    "denial_members",
    metadata,
    sa.Column("member_id", sa.String, primary_key=True),  # the payer's member id, as a remittance carries it
    sa.Column("patient_reference", sa.String, nullable=False),  # "Patient/123" in the EHR's FHIR server
)

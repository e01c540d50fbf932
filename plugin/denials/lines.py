"""A remittance line: one adjudicated spinal-injection service line, as read from an 835 or a FHIR claim resource."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from fhir_mappings.spine import injection_codes

Source = Literal["x12-835", "fhir-eob", "fhir-claimresponse"]


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One CAS reason: group code (CO, OA, PI, PR), claim adjustment reason code and the amount not paid."""

    group: str | None
    carc: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class RemittanceLine:
    source: Source
    payer: str
    claim_id: str  # the payer's claim number (CLP07) or the FHIR resource's identity
    claim_status: str | None  # CLP02 ("22" is a reversal: the same line again, with its own key)
    line_number: int  # position of the line within its claim, from 1
    patient_reference: str | None  # "Patient/123" when the source names one
    member_id: str | None
    service_date: date
    cpt: str
    modifiers: tuple[str, ...]
    units: Decimal
    billed: Decimal
    paid: Decimal
    adjustments: tuple[Adjustment, ...]
    rarcs: tuple[str, ...]
    policy: str | None  # the policy the payer named (REF*0K), e.g. an LCD id

    @property
    def key(self) -> str:
        """The line's identity across imports: the same line read twice, from any copy of its file, has one key."""
        parts = (
            self.source,
            self.payer,
            self.claim_id,
            self.claim_status or "",
            str(self.line_number),
            self.cpt,
            self.service_date.isoformat(),
        )
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def spinal_injection_codes(guidance_codes: frozenset[str]) -> frozenset[str]:
    """The CPT codes whose lines are stored: the injection codes the rules know (epidural, transforaminal,
    neurolytic) and the imaging guidance codes that are bundled into them."""
    return frozenset(injection_codes().codes) | guidance_codes

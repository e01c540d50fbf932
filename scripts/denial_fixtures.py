"""Write the synthetic denial fixtures (tests/fixtures/denials/, copied to examples/denials/): X12 835 remittances,
CARIN Blue Button ExplanationOfBenefits (NDJSON), a ClaimResponse answering a Claim (a JSON Bundle), and the
Coverages that map member ids to patients (NDJSON, as a Bulk Data export of the EHR gives them). No real patient
data: names are SYNTHETIC, member ids SYNM…, NPIs from the test range.

The segment counts (SE01) and the balance of every line and claim (charge − adjustments = paid) are computed, not
typed; `epidural-cds denials import` reads the result through x12sdk, which checks both.

    .venv/bin/python scripts/denial_fixtures.py
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "denials"
EXAMPLES = ROOT / "examples" / "denials"


@dataclass(frozen=True)
class Line:
    cpt: str
    charge: str
    paid: str
    served: str  # YYYYMMDD
    adjustments: tuple[tuple[str, str, str], ...] = ()  # (group, CARC, amount)
    modifiers: tuple[str, ...] = ()
    units: int = 1
    rarcs: tuple[str, ...] = ()
    policy: str | None = None


@dataclass(frozen=True)
class Claim:
    control_number: str
    member_id: str
    lines: tuple[Line, ...]
    status: str = "1"
    remarks: tuple[str, ...] = field(default=())  # MOA claim-level remark codes


def remittance(number: int, payer: str, claims: tuple[Claim, ...], paid_on: str) -> str:
    body = [
        "BPR*I*{total}*C*CHK************" + paid_on,
        f"TRN*1*EFT{number:07d}*1999999999",
        f"DTM*405*{paid_on}",
        f"N1*PR*{payer}",
        "N3*1 SYNTHETIC WAY",
        "N4*EXAMPLE CITY*ND*58102",
        "PER*BL*PROVIDER SERVICES*TE*8005550100",
        "N1*PE*EXAMPLE SPINE CLINIC*XX*1999999984",
        "LX*1",
    ]
    total = Decimal(0)
    for index, claim in enumerate(claims, start=1):
        charge = sum((Decimal(line.charge) for line in claim.lines), Decimal(0))
        paid = sum((Decimal(line.paid) for line in claim.lines), Decimal(0))
        total += paid
        body += [
            f"CLP*{claim.control_number}*{claim.status}*{charge}*{paid}**MB*PAYER{number:03d}{index:04d}",
            f"NM1*QC*1*SYNTHETIC*PATIENT{index}****MI*{claim.member_id}",
        ]
        if claim.remarks:
            body.append("MOA***" + "*".join(claim.remarks))
        for position, line in enumerate(claim.lines, start=1):
            adjusted = sum((Decimal(amount) for _, _, amount in line.adjustments), Decimal(0))
            assert Decimal(line.charge) - adjusted == Decimal(line.paid), f"{claim.control_number} line {position}"
            composite = ":".join(("HC", line.cpt, *line.modifiers))
            body += [f"SVC*{composite}*{line.charge}*{line.paid}**{line.units}", f"DTM*472*{line.served}"]
            body += [f"CAS*{group}*{carc}*{amount}" for group, carc, amount in line.adjustments]
            body.append(f"REF*6R*{claim.control_number}-{position}")
            if line.policy:
                body.append(f"REF*0K*{line.policy}")
            body += [f"LQ*HE*{rarc}" for rarc in line.rarcs]
    body[0] = body[0].format(total=total)
    transaction = [f"ST*835*{number:04d}", *body]
    transaction.append(f"SE*{len(transaction) + 1}*{number:04d}")
    envelope = [
        f"ISA*00*          *00*          *ZZ*SYNTHPAYER     *ZZ*SYNTHPROV      *261215*1200*^*00501*{number:09d}*0*T*:",
        f"GS*HP*SYNTHPAYER*SYNTHPROV*{paid_on}*1200*{number}*X*005010X221A1",
        *transaction,
        f"GE*1*{number}",
        f"IEA*1*{number:09d}",
    ]
    return "~\n".join(envelope) + "~\n"


NORIDIAN = remittance(
    101,
    "SYNTHETIC MEDICARE JF",
    (
        # Frequency: a fifth session in 12 months, decided under the LCD.
        Claim(
            "PCN-F-0001",
            "SYNM0000001",
            (
                Line(
                    "62323", "900.00", "0.00", "20261203", (("CO", "151", "900.00"),), rarcs=("N115",), policy="L39240"
                ),
            ),
        ),
        # Levels and units: three transforaminal levels; N362 on CO-96, Noridian's way.
        Claim(
            "PCN-U-0002",
            "SYNM0000002",
            (
                Line("64483", "450.00", "380.00", "20261204", (("CO", "45", "70.00"),), modifiers=("RT",)),
                Line(
                    "64484",
                    "600.00",
                    "160.00",
                    "20261204",
                    (("CO", "45", "40.00"), ("CO", "96", "400.00")),
                    modifiers=("RT",),
                    units=3,
                    rarcs=("N362",),
                ),
            ),
        ),
        # Bundling: fluoroscopy billed beside 62323, which includes it.
        Claim(
            "PCN-B-0003",
            "SYNM0000003",
            (
                Line("62323", "900.00", "820.00", "20261205", (("CO", "45", "80.00"),)),
                Line("77003", "150.00", "0.00", "20261205", (("CO", "236", "150.00"),)),
            ),
        ),
        # Diagnosis coverage: not medically necessary under the LCD.
        Claim(
            "PCN-D-0004",
            "SYNM0000004",
            (Line("62323", "900.00", "0.00", "20261208", (("CO", "50", "900.00"),), rarcs=("N115",), policy="L39240"),),
        ),
        # Modifiers: a bilateral transforaminal injection without its modifier.
        Claim("PCN-M-0005", "SYNM0000005", (Line("64483", "450.00", "0.00", "20261209", (("CO", "4", "450.00"),)),)),
        # Documentation: the claim lacks information; the remark code names it.
        Claim(
            "PCN-N-0006",
            "SYNM0000006",
            (Line("62321", "800.00", "0.00", "20261210", (("CO", "16", "800.00"),), rarcs=("N29",)),),
        ),
        # Paid: an injection the same patient had later, after the frequency card was followed.
        Claim(
            "PCN-P-0007",
            "SYNM0000001",
            (Line("64483", "450.00", "380.00", "20261210", (("CO", "45", "70.00"),), modifiers=("LT",)),),
        ),
    ),
    "20261215",
)

CGS = remittance(
    102,
    "SYNTHETIC MEDICARE CGS",
    (
        # Levels and units again: CGS sends N362 with CO-151, so the RARC decides, not the CARC.
        Claim(
            "PCN-U-0101",
            "SYNM0000008",
            (Line("64480", "400.00", "0.00", "20261211", (("CO", "151", "400.00"),), units=2, rarcs=("N362",)),),
        ),
    ),
    "20261216",
)


CPT = "http://www.ama-assn.org/go/cpt"
CARC = "https://x12.org/codes/claim-adjustment-reason-codes"
GROUP = "https://x12.org/codes/claim-adjustment-group-codes"
ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
C4BB_ADJUDICATION = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication"
DISCRIMINATOR = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudicationDiscriminator"
COMMERCIAL = "SYNTHETIC COMMERCIAL PLAN"


def amount(category_system: str, category: str, value: str) -> dict[str, object]:
    return {
        "category": {"coding": [{"system": category_system, "code": category}]},
        "amount": {"value": float(value), "currency": "USD"},
    }


def denial_reason(carc: str) -> dict[str, object]:
    return {
        "category": {"coding": [{"system": DISCRIMINATOR, "code": "denialreason"}]},
        "reason": {"coding": [{"system": CARC, "code": carc}, {"system": GROUP, "code": "CO"}]},
    }


def eob(number: int, patient: str, served: str, items: list[tuple[str, str, str, str | None]]) -> dict[str, object]:
    """items: (CPT, billed, paid, CARC or None)."""
    return {
        "resourceType": "ExplanationOfBenefit",
        "id": f"eob-{number}",
        "meta": {
            "profile": [
                "http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-ExplanationOfBenefit-Professional-NonClinician"
            ]
        },
        "identifier": [{"system": "https://synthetic-commercial.example.org/claim", "value": f"SYNCLM{number:05d}"}],
        "status": "active",
        "use": "claim",
        "outcome": "complete",
        "patient": {"reference": patient},
        "insurer": {"display": COMMERCIAL},
        "billablePeriod": {"start": served},
        "item": [
            {
                "sequence": sequence,
                "productOrService": {"coding": [{"system": CPT, "code": cpt}]},
                "servicedDate": served,
                "quantity": {"value": 1},
                "adjudication": [
                    amount(ADJUDICATION, "submitted", billed),
                    amount(C4BB_ADJUDICATION, "paidtoprovider", paid),
                    *([denial_reason(carc)] if carc else []),
                ],
            }
            for sequence, (cpt, billed, paid, carc) in enumerate(items, start=1)
        ],
    }


EOBS = [
    eob(1, "Patient/p7", "2026-12-02", [("62323", "900.00", "0.00", "197")]),  # prior authorization
    eob(2, "Patient/p8", "2026-12-07", [("64483", "450.00", "0.00", "119")]),  # frequency: plan maximum reached
    eob(3, "Patient/p9", "2026-12-09", [("62323", "900.00", "0.00", "11"), ("99213", "120.00", "95.00", None)]),
    eob(4, "Patient/p10", "2026-12-11", [("62323", "900.00", "820.00", None)]),  # paid
]

CLAIM_RESPONSE_BUNDLE = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {
            "resource": {
                "resourceType": "Claim",
                "id": "claim-13",
                "status": "active",
                "use": "claim",
                "patient": {"reference": "Patient/p13"},
                "item": [
                    {
                        "sequence": 1,
                        "productOrService": {"coding": [{"system": CPT, "code": "62321"}]},
                        "servicedDate": "2026-12-14",
                        "quantity": {"value": 1},
                        "net": {"value": 800.0, "currency": "USD"},
                    }
                ],
            }
        },
        {
            "resource": {
                "resourceType": "ClaimResponse",
                "id": "claimresponse-13",
                "status": "active",
                "use": "claim",
                "outcome": "complete",
                "patient": {"reference": "Patient/p13"},
                "insurer": {"display": "SYNTHETIC MEDICAID PLAN"},
                "request": {"reference": "Claim/claim-13"},
                "item": [
                    {
                        "itemSequence": 1,
                        "adjudication": [amount(C4BB_ADJUDICATION, "paidtoprovider", "0.00"), denial_reason("15")],
                    }
                ],
            }
        },
    ],
}

COVERAGES = [
    {
        "resourceType": "Coverage",
        "id": f"coverage-p{n}",
        "status": "active",
        "subscriberId": f"SYNM000000{n}",
        "identifier": [
            {
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MB"}]},
                "value": f"SYNM000000{n}",
            }
        ],
        "beneficiary": {"reference": f"Patient/p{n}"},
        "payor": [{"display": "SYNTHETIC MEDICARE JF"}],
    }
    for n in range(1, 7)
]


def ndjson(resources: list[dict[str, object]]) -> str:
    return "".join(json.dumps(resource, separators=(",", ":")) + "\n" for resource in resources)


def main() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    EXAMPLES.mkdir(parents=True, exist_ok=True)
    for name, text in (
        ("medicare-jf.835", NORIDIAN),
        ("medicare-cgs.835", CGS),
        ("commercial-eob.ndjson", ndjson(EOBS)),
        ("medicaid-claimresponse.json", json.dumps(CLAIM_RESPONSE_BUNDLE, indent=2) + "\n"),
        ("coverages.ndjson", ndjson(COVERAGES)),
    ):
        (FIXTURES / name).write_text(text)
    for path in sorted(FIXTURES.glob("*")):
        if path.is_file():
            shutil.copyfile(path, EXAMPLES / path.name)


if __name__ == "__main__":
    main()

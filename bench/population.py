"""A synthetic FHIR Bulk Data export (NDJSON, one file per resource type) of a pain clinic's patients.

`python -m bench.population --patients N --out DIR [--seed S] [--today DATE]`

Each patient is the benchmark's realistic patient (`bench.patients.PatientFactory`: real-EHR-sized resources with
meta, narrative, identifiers and zone-less dateTimes) with its own ids and references, about 20 Procedures (a fifth
of them spinal injections over ten years), a few Conditions, ImagingStudies linked to injections, one or two
Coverages of varied payers and five Appointments. Resource types are written to their own files in patient order
interleaved with nothing else, as a Bulk export does; readers must not rely on that order. Seeded: the same
arguments give the same bytes. No real patient data: names, ids and dates are drawn from the seed.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from bench.patients import PATIENT_ID, PatientFactory
from fhir_mappings.code_systems import SOURCE_OF_PAYMENT_TYPOLOGY

RESOURCE_TYPES = ("Patient", "Procedure", "Condition", "ImagingStudy", "Coverage", "Appointment", "ServiceRequest")
_FAMILY = ("Rivera", "Nguyen", "Okafor", "Schmidt", "Haddad", "Kowalski", "Tanaka", "Moreau", "Silva", "Larsen")
_GIVEN = ("Alex", "Sam", "Robin", "Jordan", "Casey", "Morgan", "Quinn", "Avery", "Riley", "Taylor")
# (weight, payer name, Source of Payment Typology code): Medicare, Molina and a plan with no specific policy.
_PAYERS = ((5, "Medicare Part B", "121"), (2, "Molina Healthcare", "2"), (3, "Acme Commercial PPO", "511"))


def patient_id(index: int) -> str:
    return f"pt-{index:07d}"


def patient_bundle(index: int, today: date, seed: int) -> Iterator[dict[str, Any]]:
    """Every resource of patient `index`, its ids prefixed by the patient's so they are unique in the export."""
    chooser = random.Random(seed * 1_000_003 + index)
    factory = PatientFactory(today, seed=chooser.getrandbits(64))
    pid = patient_id(index)
    procedures = factory.procedures(max(1, round(chooser.gauss(20, 6))))
    if chooser.random() < 0.15:
        # A patient in an active course: injections every few weeks lately, so limits are reached and broken.
        procedures.extend(_recent_injection(factory, len(procedures) + n, 20 + 45 * n) for n in range(3))
    injections = [procedure for procedure in procedures if len(procedure["code"]["coding"]) > 1]
    studies = [
        factory.imaging_study(n, injections[n] if n < len(injections) and chooser.random() < 0.8 else None)
        for n in range(chooser.randrange(1, 5))
    ]
    conditions = [factory.condition(chooser.randrange(40)) for _ in range(chooser.randrange(2, 8))]
    yield {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"family": chooser.choice(_FAMILY), "given": [chooser.choice(_GIVEN)]}],
        "gender": chooser.choice(("female", "male")),
        "birthDate": (today - timedelta(days=chooser.randrange(40 * 365, 85 * 365))).isoformat(),
    }
    # The factory books two sessions 40 and 100 days after its `today`; a shifted one spreads bookings over the weeks.
    booker = PatientFactory(today - timedelta(days=chooser.randrange(-20, 40)), seed=chooser.getrandbits(64))
    appointments = booker.appointments()
    for resource in (*procedures, *conditions, *studies, *_coverages(factory, chooser), *appointments):
        yield _owned(resource, pid)


def _recent_injection(factory: PatientFactory, index: int, days_ago: int) -> dict[str, Any]:
    while True:
        procedure = factory.procedure(index, days_ago)
        if len(procedure["code"]["coding"]) > 1 and procedure["status"] == "completed":
            return procedure


def _coverages(factory: PatientFactory, chooser: random.Random) -> list[dict[str, Any]]:
    medicare, supplement = factory.coverages()
    weights = [weight for weight, _, _ in _PAYERS]
    _, name, code = chooser.choices(_PAYERS, weights)[0]
    medicare["type"] = {"coding": [{"system": SOURCE_OF_PAYMENT_TYPOLOGY, "code": code, "display": name}]}
    medicare["payor"] = [{"reference": "Organization/payer", "display": name}]
    return [medicare, supplement] if chooser.random() < 0.4 else [medicare]


def _owned(resource: dict[str, Any], pid: str) -> dict[str, Any]:
    """The resource with its id and its references to the patient's other resources made unique to `pid`."""
    text = orjson.dumps(resource).decode()
    text = text.replace(f"Patient/{PATIENT_ID}", f"Patient/{pid}")
    for prefix in ("proc-", "cond-", "img-", "cov-", "appt-", "sr-", "draft-"):
        text = text.replace(f'"{prefix}', f'"{pid}-{prefix}').replace(f"/{prefix}", f"/{pid}-{prefix}")
    owned: dict[str, Any] = orjson.loads(text)
    return owned


def write_population(out: Path, patients: int, today: date, seed: int, progress: bool = False) -> dict[str, int]:
    """Writes `<Type>.ndjson` files under `out`; returns how many resources of each type were written."""
    out.mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(RESOURCE_TYPES, 0)
    files: dict[str, BinaryIO] = {kind: (out / f"{kind}.ndjson").open("wb") for kind in RESOURCE_TYPES}
    try:
        for index in range(patients):
            for resource in patient_bundle(index, today, seed):
                kind = resource["resourceType"]
                files[kind].write(orjson.dumps(resource) + b"\n")
                counts[kind] += 1
            if progress and index % 1000 == 999:
                print(f"\r{index + 1}/{patients} patients", end="", file=sys.stderr, flush=True)
    finally:
        for handle in files.values():
            handle.close()
    if progress:
        print(file=sys.stderr)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.population", description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--today", type=date.fromisoformat, default=date(2026, 12, 1))
    arguments = parser.parse_args(argv)
    counts = write_population(arguments.out, arguments.patients, arguments.today, arguments.seed, progress=True)
    print(" ".join(f"{kind}={count}" for kind, count in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

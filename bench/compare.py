"""order-sign over HTTP, this checkout against another, measured side by side:
python -m bench.compare --against DIR [--rounds N] [--seconds S].

On a shared machine the same service measures 2.4 ms in one minute and 3.8 ms in the next, so two checkouts timed
one after the other compare the machine's moods, not the code. Here both are served at once (one worker each, the
realistic order-sign body of bench/patients.py), and wrk runs against each in turn, N rounds of S seconds at
concurrency 1, alternating which goes first. Printed per checkout: the median of the rounds' p50 latencies, the
worker CPU time per request, each round's p50, and the ratio to the other checkout's median. DIR holds another
checkout's cds_hooks/, fhir_mappings/ and plugin/ (e.g. `git worktree add /tmp/base <commit>`).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import orjson

from bench.patients import order_sign_request
from bench.runner import ORDER_SIGN, Service, wrk


@dataclass
class Measured:
    name: str
    service: Service
    p50s: list[float] = field(default_factory=list)
    cpu_ms_per_request: list[float] = field(default_factory=list)


def compare(against: Path, rounds: int, seconds: int) -> list[Measured]:
    with tempfile.TemporaryDirectory(prefix="epidural-cds-compare-") as temporary:
        workdir = Path(temporary)
        body = orjson.dumps(order_sign_request(date.today()))
        body_file = workdir / "order-sign.json"
        body_file.write_bytes(body)
        measured = [
            Measured("this checkout", Service(1, workdir, None)),
            Measured(str(against), Service(1, workdir, against.resolve())),
        ]
        try:
            for each in measured:
                each.service.start()
                each.service.first_answer(body)
                wrk(each.service.base + ORDER_SIGN, 1, 2, body_file)  # warm-up
            for round_number in range(rounds):
                for each in measured if round_number % 2 == 0 else reversed(measured):
                    cpu_before = sum(each.service.worker_cpu())
                    load = wrk(each.service.base + ORDER_SIGN, 1, seconds, body_file)
                    cpu_used = sum(each.service.worker_cpu()) - cpu_before
                    each.p50s.append(load.p50)
                    each.cpu_ms_per_request.append(cpu_used * 1000 / max(load.requests, 1))
        finally:
            for each in measured:
                each.service.stop()
    return measured


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", type=Path, required=True, help="the other checkout")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=3)
    arguments = parser.parse_args(argv)
    ours, theirs = compare(arguments.against, arguments.rounds, arguments.seconds)
    for this, other in ((ours, theirs), (theirs, ours)):
        median = statistics.median(this.p50s)
        print(
            f"{this.name}: order-sign p50 {median:.2f} ms (median of {len(this.p50s)} rounds; "
            f"{median / statistics.median(other.p50s):.2f}x the other), "
            f"CPU {statistics.median(this.cpu_ms_per_request):.2f} ms per request; "
            f"rounds {' '.join(f'{p50:.2f}' for p50 in this.p50s)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Denials: import and report figures on a large synthetic remittance, and the cost of writing down issued cards.

    python -m bench.denials [--claims 5000]

Prints one JSON object: seconds to read (x12sdk) and to store (SQLite) an 835 of `--claims` claims with two spinal
injection lines each, to import it again (nothing new), to build the report over it, and the median milliseconds of
one `CardLedger.record` call (one card, SQLite, synchronous=NORMAL), which each hook call that returns cards adds in a
worker thread.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from types import ModuleType

from plugin.denials.card_ledger import CardLedger, IssuedCard
from plugin.denials.lines import spinal_injection_codes
from plugin.denials.report import denial_report
from plugin.denials.store import DenialStore
from plugin.denials.x12_835 import read_835

_GENERATOR = Path(__file__).resolve().parents[1] / "scripts" / "denial_fixtures.py"
_CODES = spinal_injection_codes(frozenset({"76000", "77002", "77003", "77012", "72275"}))


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("denial_fixtures", _GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _remittance(claims: int) -> str:
    g = _generator()
    return str(
        g.remittance(
            900,
            "SYNTHETIC MEDICARE JF",
            tuple(
                g.Claim(
                    f"PCN-{n:07d}",
                    f"SYNM{n:07d}",
                    (
                        g.Line("62323", "900.00", "0.00", "20261203", (("CO", "151", "900.00"),), rarcs=("N115",)),
                        g.Line("77003", "150.00", "0.00", "20261203", (("CO", "236", "150.00"),)),
                    ),
                )
                for n in range(claims)
            ),
            "20261215",
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=5000)
    arguments = parser.parse_args()
    text = _remittance(arguments.claims)
    figures: dict[str, float | int] = {"claims": arguments.claims, "bytes": len(text)}
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{scratch}/service.db"
        started = time.perf_counter()
        lines = read_835(text, "bench.835", _CODES)
        figures["lines"] = len(lines)
        figures["read_s"] = round(time.perf_counter() - started, 2)
        with DenialStore(url) as store:
            started = time.perf_counter()
            figures["new"] = store.import_file("bench.835", lines, {})[0]
            figures["store_s"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            figures["new_again"] = store.import_file("bench.835", lines, {})[0]
            figures["store_again_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        denial_report(url)
        figures["report_s"] = round(time.perf_counter() - started, 2)
        ledger = CardLedger(url)
        timings = []
        for _ in range(200):
            card = IssuedCard(str(uuid.uuid4()), "epidural-order-sign", "levels-exceeded", "Patient/p1", date.today())
            started = time.perf_counter()
            ledger.record([card])
            timings.append((time.perf_counter() - started) * 1000)
        ledger.close()
        figures["ledger_record_ms_p50"] = round(statistics.median(timings), 3)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

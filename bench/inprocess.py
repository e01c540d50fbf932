"""The service's own request path, timed in one process, beside `json.loads` of the same body.

    python -m bench.inprocess --procedures 10000 [--repeats 5] [--profile] [--src DIR]

Builds the evaluator exactly as `create_app` does (shipped policies, ICD-10-CM table loaded) and runs the steps of
`POST /cds-services/epidural-order-sign` on an order-sign body with full prefetch: reading the `HookRequest` from the
body (prefetch values left raw), the evaluation (readers → rules → cards), and the response's serialisation. Prints
one JSON object of best-of-N CPU times in milliseconds; `handle_unseen_texts_ms` is the whole path for a worker that
has not read this patient's texts before (the memo of readings emptied before each run). `--profile` prints a
pyinstrument profile of the whole path instead.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import orjson

from bench.patients import order_sign_request

_PACKAGES = frozenset({"cds_hooks", "fhir_mappings", "plugin"})


def _best_ms(step: Callable[[], object], repeats: int) -> float:
    """Best of `repeats` runs, in CPU time of this process: other work on a shared machine slows the wall clock of
    each step, not the CPU it needs."""
    timings = []
    for _ in range(repeats):
        started = time.process_time()
        step()
        timings.append(time.process_time() - started)
    return min(timings) * 1000


def measure(body: bytes, procedures: int, repeats: int, profile: bool) -> dict[str, Any]:
    # Imported here, after `--src` has had its say on which tree is measured.
    from cds_hooks.models import HookRequest  # noqa: PLC0415
    from fhir_mappings import icd10cm  # noqa: PLC0415
    from plugin.policies.catalog import load_catalog  # noqa: PLC0415

    # A tree from before plugin/ was grouped by role is asked first: the editable install would otherwise find
    # plugin.hooks in this checkout whatever tree `--src` names.
    try:
        from plugin import patient_data, services  # noqa: PLC0415
    except ImportError:
        from plugin.hooks import patient_data, services  # noqa: PLC0415

    gather, read_record = patient_data.gather, services.read_record
    icd10cm.load()
    spec = next(spec for spec in services.SERVICES if spec.id == "epidural-order-sign")
    http = httpx.AsyncClient()
    evaluator = services.Evaluator(
        catalog=load_catalog(None), http=http, fetch=patient_data.FetchSettings(), today=date.today
    )
    loop = asyncio.new_event_loop()

    def handle() -> bytes:
        # What the endpoint does for one request, in order (cds_hooks.endpoints.call_service).
        request = HookRequest.from_json(body)
        assert request is not None
        response = loop.run_until_complete(evaluator.evaluate(spec, request))
        return orjson.dumps(response.to_wire())

    handle()  # warm caches (vocabulary, code tables) as a running worker has them
    if profile:
        from pyinstrument import Profiler  # noqa: PLC0415 - a profiling-only dependency

        profiler = Profiler(interval=0.0002)
        profiler.start()
        for _ in range(repeats):
            handle()
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False))
        return {}

    request = HookRequest.from_json(body)
    assert request is not None
    data = loop.run_until_complete(
        gather(request, required=spec.required, optional=spec.optional, http=http, settings=evaluator.fetch)
    )
    record = read_record(data)
    response = evaluator.respond(spec, request, data)
    assert isinstance(data, patient_data.PatientData)
    gc.collect()
    result = {
        "procedures": procedures,
        "body_bytes": len(body),
        "json_loads_ms": _best_ms(lambda: json.loads(body), repeats),
        "orjson_loads_ms": _best_ms(lambda: orjson.loads(body), repeats),
        "hook_request_ms": _best_ms(lambda: HookRequest.from_json(body), repeats),
        "read_record_ms": _best_ms(lambda: read_record(data), repeats),
        "rules_and_cards_ms": _best_ms(lambda: evaluator.judge(spec, request, data, record), repeats),
        "respond_ms": _best_ms(lambda: evaluator.respond(spec, request, data), repeats),
        "serialise_ms": _best_ms(lambda: orjson.dumps(response.to_wire()), repeats),
        "handle_ms": _best_ms(handle, repeats),
        "handle_unseen_texts_ms": _best_ms(lambda: (_forget_readings(), handle()), repeats),
        "cards": len(response.cards),
    }
    loop.run_until_complete(http.aclose())
    loop.close()
    return result


def _forget_readings() -> None:
    """A worker meets this patient's texts for the first time: the memo of readings (fhir_mappings.reading_memo) is
    emptied. Trees from before the memo have nothing to forget."""
    from fhir_mappings import intent  # noqa: PLC0415 - after `--src`

    if hasattr(intent, "_READINGS"):
        from fhir_mappings.reading_memo import ReadingMemo  # noqa: PLC0415

        intent._READINGS = ReadingMemo()


def _measure_packages_of(src: str) -> None:
    """From here on the service's packages are imported from `src`. Building the body imported this checkout's
    (bench.patients builds with plugin.sandbox.resources); they are forgotten, or every later import would find them
    already loaded and the other checkout would never be measured."""
    for name in [name for name in sys.modules if name.partition(".")[0] in _PACKAGES]:
        del sys.modules[name]
    sys.path.insert(0, src)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--procedures", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print a pyinstrument profile of the request path")
    parser.add_argument("--src", help="measure the packages of another checkout (put first on sys.path)")
    arguments = parser.parse_args()
    body = orjson.dumps(order_sign_request(date.today(), arguments.procedures))
    if arguments.src:
        _measure_packages_of(arguments.src)
    result = measure(body, arguments.procedures, arguments.repeats, arguments.profile)
    if result:
        sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()

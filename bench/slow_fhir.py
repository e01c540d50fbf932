"""A slow FHIR server on loopback: the benchmark patient's searches, paged, each request answered after a delay.

    python -m bench.slow_fhir --port P [--delay 0.05] [--page-size 20] [--procedures 60]

Serves `GET /fhir/{Type}?patient=...` as searchset pages with `next` links (page size is the smaller of `_count` and
`--page-size`, as servers cap it), `_include=Appointment:based-on` on the Appointment search, and
`GET /fhir/Patient/{id}`. Every request sleeps `--delay` seconds before answering, concurrently (asyncio), like a
remote EHR. `GET /_stats` gives the number of requests served so far.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
from typing import Any
from urllib.parse import urlencode

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.patients import patient_resources, searchset

FHIR_JSON = "application/fhir+json"
_SEARCHES = {
    "Procedure": "procedures",
    "Condition": "conditions",
    "ImagingStudy": "imagingStudies",
    "Coverage": "coverage",
    "Appointment": "appointments",
}


def build_app(delay: float, page_size: int, procedures: int, today: date) -> Starlette:
    data = patient_resources(today, procedures)
    served = {"requests": 0}

    def fhir(body: Any, status: int = 200) -> Response:
        return Response(orjson.dumps(body), status_code=status, media_type=FHIR_JSON)

    async def search(request: Request) -> Response:
        served["requests"] += 1
        await asyncio.sleep(delay)
        resource_type = request.path_params["type"]
        key = _SEARCHES.get(resource_type)
        if key is None:
            return fhir(
                {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}, 404
            )
        resources = data[key]
        included = [r for r in resources if r["resourceType"] != resource_type]
        matches = [r for r in resources if r["resourceType"] == resource_type]
        count = min(int(request.query_params.get("_count", page_size)), page_size)
        page = int(request.query_params.get("_page", "0"))
        chunk = matches[page * count : (page + 1) * count]
        last = (page + 1) * count >= len(matches)
        if last and "_include" in request.query_params:
            chunk = chunk + included
        bundle = searchset(chunk, included=len(included) if last and "_include" in request.query_params else 0)
        bundle["total"] = len(matches)
        base = str(request.base_url).rstrip("/")
        if not last:
            params = dict(request.query_params)
            params["_page"] = str(page + 1)
            bundle["link"].append({"relation": "next", "url": f"{base}/fhir/{resource_type}?{urlencode(params)}"})
        return fhir(bundle)

    async def patient(request: Request) -> Response:
        served["requests"] += 1
        await asyncio.sleep(delay)
        return fhir(data["patient"][0])

    async def stats(request: Request) -> Response:
        return fhir(served)

    return Starlette(
        routes=[
            Route("/_stats", stats),
            Route("/fhir/Patient/{id}", patient),
            Route("/fhir/{type}", search),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--page-size", type=int, default=20)
    parser.add_argument("--procedures", type=int, default=60)
    parser.add_argument("--today", type=date.fromisoformat, default=date.today())
    arguments = parser.parse_args()
    app = build_app(arguments.delay, arguments.page_size, arguments.procedures, arguments.today)
    uvicorn.run(app, host="127.0.0.1", port=arguments.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()

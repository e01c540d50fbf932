"""The floor for a request body: the service's own stack (uvicorn, FastAPI, the same CORS middleware) with one POST
endpoint that reads the body, parses it with orjson and answers `{"cards": []}`.

Served like the service (`uvicorn bench.floor_app:app`), it shows how much of order-sign's time any endpoint on this
stack spends just receiving and parsing the same bytes, before reading a single FHIR field.
"""

from __future__ import annotations

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware

app = FastAPI()
app.add_middleware(
    CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "OPTIONS"], allow_headers=["Content-Type"]
)
_ANSWER = orjson.dumps({"cards": []})


@app.post("/cds-services/{service_id}")
async def parse_only(service_id: str, request: Request) -> Response:
    chunks = [chunk async for chunk in request.stream()]
    orjson.loads(b"".join(chunks))
    return Response(_ANSWER, media_type="application/json")

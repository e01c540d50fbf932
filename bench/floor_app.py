"""The floor for a request body: the service's own stack (uvicorn, FastAPI, the same CORS middleware) with one POST
endpoint that reads the body, checks it is a JSON object (msgspec, its values left raw, as the service leaves its
prefetch) and answers `{"cards": []}`.

Served like the service (`uvicorn bench.floor_app:app`), it shows how much of order-sign's time any endpoint on this
stack spends just receiving the same bytes and checking they are JSON, before reading a single FHIR field.
"""

from __future__ import annotations

import msgspec
import orjson
from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware

app = FastAPI()
app.add_middleware(
    CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "OPTIONS"], allow_headers=["Content-Type"]
)
_ANSWER = orjson.dumps({"cards": []})
_JSON_OBJECT = msgspec.json.Decoder(dict[str, msgspec.Raw])


@app.post("/cds-services/{service_id}")
async def check_only(service_id: str, request: Request) -> Response:
    chunks = [chunk async for chunk in request.stream()]
    _JSON_OBJECT.decode(b"".join(chunks))
    return Response(_ANSWER, media_type="application/json")

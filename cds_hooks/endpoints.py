"""The CDS Hooks HTTP surface: discovery, service calls and feedback, with one table from errors to statuses.

The router reads bodies itself (size limit first, then the JSON) instead of letting FastAPI bind a model, so that a
10 MB prefetch is parsed once and a malformed one becomes a 400 OperationOutcome rather than a framework error page.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from cds_hooks.access_log import request_note
from cds_hooks.errors import CdsHooksError, Forbidden, InvalidRequest, PayloadTooLarge, Unauthorized, UnknownService
from cds_hooks.models import CdsResponse, FeedbackItem, FeedbackRequest, HookRequest, ServiceDescriptor
from cds_hooks.operation_outcome import operation_outcome
from cds_hooks.trust import VerifiedToken, fhir_server_allowed

logger = logging.getLogger(__name__)

HookHandler = Callable[[HookRequest], Awaitable[CdsResponse]]
FeedbackSink = Callable[[str, Sequence[FeedbackItem]], Awaitable[int]]
Authenticator = Callable[[Request], Awaitable[VerifiedToken | None]]

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
# Cards echo draft orders from the context in their suggestions, and orjson and pydantic stop serialising at about
# 250 levels; real FHIR resources nest a few dozen at most.
MAX_CONTEXT_DEPTH = 100

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class CdsService:
    descriptor: ServiceDescriptor
    handler: HookHandler


@dataclass(frozen=True, slots=True)
class FeedbackLimits:
    """How much one feedback post may carry: it is stored in one transaction, which other writers wait for."""

    max_items: int = 100
    max_bytes: int = 256 * 1024


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_json_bytes(body), status_code=status, media_type="application/json", headers=headers)


def _json_bytes(body: Any) -> bytes:
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:
        # orjson stops at 64-bit integers; JSON and FHIR decimals do not, and a suggestion must carry the clinician's
        # draft order exactly as it came. The standard library writes integers of any size.
        return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def cds_router(
    services: Sequence[CdsService],
    *,
    feedback: FeedbackSink,
    authenticate: Authenticator,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    feedback_limits: FeedbackLimits = FeedbackLimits(),
) -> APIRouter:
    by_id = {service.descriptor.id: service for service in services}
    discovery = {"services": [service.descriptor.to_wire() for service in services]}
    router = APIRouter()

    def service_named(service_id: str, request: Request) -> CdsService:
        service = by_id.get(service_id)
        if service is None:
            raise UnknownService(f"no CDS service with id {service_id!r}")
        request_note(request).service_id = service_id
        return service

    @router.get("/cds-services", summary="CDS Hooks discovery", responses=_error_responses(401))
    async def discover(request: Request) -> Response:
        await authenticate(request)
        return json_response(discovery)

    @router.post(
        "/cds-services/{service_id}",
        summary="Call a CDS service",
        openapi_extra=_json_body_schema(HookRequest),
        responses=_error_responses(400, 401, 403, 404, 412, 413, 503),
    )
    async def call_service(service_id: str, request: Request) -> Response:
        service = service_named(service_id, request)
        caller = await authenticate(request)
        note = request_note(request)
        if caller is not None:
            note.fields.update(iss=caller.issuer, jti=caller.jti)
        body = await read_body(request, max_body_bytes)
        _require_utf8(body)
        hook_request = HookRequest.from_json(body) or _parse(HookRequest, body)
        note.hook_instance = hook_request.hook_instance
        if _nests_deeper(hook_request.context, MAX_CONTEXT_DEPTH):
            raise InvalidRequest(f"context nests deeper than {MAX_CONTEXT_DEPTH} levels")
        if hook_request.hook != service.descriptor.hook:
            raise InvalidRequest(
                f"service {service_id!r} answers the {service.descriptor.hook!r} hook, not {hook_request.hook!r}"
            )
        if (
            caller is not None
            and hook_request.fhir_server is not None
            and not fhir_server_allowed(hook_request.fhir_server, caller.client.fhir_servers)
        ):
            raise Forbidden("fhirServer is not on the allow-list for this client")
        response = await service.handler(hook_request)
        note.fields["cards"] = len(response.cards)
        return json_response(response.to_wire())

    @router.post(
        "/cds-services/{service_id}/feedback",
        summary="Report what happened to cards",
        openapi_extra=_json_body_schema(FeedbackRequest),
        responses=_error_responses(400, 401, 404, 413, 503),
    )
    async def receive_feedback(service_id: str, request: Request) -> Response:
        service_named(service_id, request)
        caller = await authenticate(request)
        note = request_note(request)
        if caller is not None:
            note.fields.update(iss=caller.issuer, jti=caller.jti)
        body = await read_body(request, min(max_body_bytes, feedback_limits.max_bytes))
        feedback_request = _parse(FeedbackRequest, body)
        items = feedback_request.feedback
        if len(items) > feedback_limits.max_items:
            raise PayloadTooLarge(f"a feedback post may carry at most {feedback_limits.max_items} items")
        note.fields["received"] = len(items)
        note.fields["stored"] = await feedback(service_id, items)
        return json_response({})

    return router


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _require_utf8(body: bytes) -> None:
    """JSON is UTF-8. The fast reading keeps prefetch values as raw bytes, so without this a bad byte inside a
    resource would travel on to a reader instead of being the malformed request it is."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidRequest(f"request body is not valid UTF-8 (byte {error.start})") from None


def _parse(model: type[M], body: bytes) -> M:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidRequest(f"request body is not valid JSON: {error.msg} at position {error.pos}") from None
    if not isinstance(document, dict):
        raise InvalidRequest("request body must be a JSON object")
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise InvalidRequest(describe_validation_error(error)) from None


def _nests_deeper(value: Any, limit: int) -> bool:
    """Whether `value` nests objects or arrays more than `limit` deep; a loop, not recursion, so any depth works."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        # Only containers are queued: most values of a FHIR resource are strings and numbers.
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def describe_validation_error(error: ValidationError) -> str:
    """Where and what, never the offending value: request values can hold patient data."""
    problems = []
    for problem in error.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in problem["loc"]) or "body"
        problems.append(f"{where}: {problem['msg']}")
    return "; ".join(problems)


def _json_body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The request body schema with pydantic's `$defs` inlined: `#/$defs/...` would resolve against the whole
    OpenAPI document, where there are none."""
    schema = model.model_json_schema(by_alias=True)
    definitions = schema.pop("$defs", {})

    def inlined(node: Any) -> Any:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/$defs/"):
                return inlined(definitions[node["$ref"].removeprefix("#/$defs/")])
            return {key: inlined(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inlined(item) for item in node]
        return node

    return {"requestBody": {"required": True, "content": {"application/json": {"schema": inlined(schema)}}}}


_OPERATION_OUTCOME_SCHEMA = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {"type": "array", "items": {"type": "object"}},
    },
}
_ERROR_DESCRIPTIONS = {
    400: "Malformed or invalid request",
    401: "Missing or bad JWT (no body)",
    403: "fhirServer not on the client's allow-list",
    404: "No CDS service with that id",
    412: "Required data neither prefetched nor obtainable from fhirServer",
    413: "Request body over the size limit (for feedback: over its byte or item limit)",
    503: "The service's own storage failed; retry later",
}


def _error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the errors a route can give: each an OperationOutcome, except the bare 401."""
    return {
        status: {"description": _ERROR_DESCRIPTIONS[status]}
        if status == 401
        else {
            "description": _ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"schema": _OPERATION_OUTCOME_SCHEMA}},
        }
        for status in statuses
    }


def install_error_handlers(app: FastAPI) -> None:
    """Every error a client can cause becomes a 4xx OperationOutcome; anything else a logged 500 without detail."""

    async def protocol_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, CdsHooksError)
        note = request_note(request)
        note.reason = error.reason
        if isinstance(error, Unauthorized):
            note.fields.update(error.log_fields)
        if error.status == 401:
            return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return json_response(operation_outcome(error.code, error.message), status=error.status)

    async def http_error(_: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        code = "not-found" if error.status_code == 404 else "not-supported"
        return json_response(operation_outcome(code, str(error.detail)), status=error.status_code)

    async def validation_error(_: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        return json_response(operation_outcome("invalid", "request does not match the CDS Hooks schema"), status=400)

    async def unexpected_error(request: Request, error: Exception) -> Response:
        logger.exception("unhandled error", extra={"path": request.url.path, "error_type": type(error).__name__})
        return json_response(operation_outcome("exception", "internal error"), status=500)

    app.add_exception_handler(CdsHooksError, protocol_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected_error)

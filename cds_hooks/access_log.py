"""One access line per request, whatever its answer: the trace an integrator follows when the EHR shows nothing.

The line is a log record (JSON like every other) with the route, the service id when the path names a known service,
the HTTP status, a reason class (`ok`, `bad-request`, `unauthorized:audience`, `not-found`, `precondition`,
`too-large`, ...), the `hookInstance` once the body was read, and the time taken. Handlers add to it through
`request_note`, and code further down (which holds no `Request`) through `annotate`; what they add is ids, counts,
timings and URLs of services, never patient data, request values or tokens. One line per request, not one per step:
in a running worker each log line cost ~0.1 ms of a ~4 ms hook call (bench/README.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

_NOTE = "epidural_cds.request_note"  # the scope key the note travels under, past every middleware and handler
_REASON_OF_STATUS = {
    200: "ok",
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    412: "precondition",
    413: "too-large",
    500: "error",
    503: "unavailable",
}


LogValue = str | int | float | bool | list[str]


@dataclass(slots=True)
class RequestNote:
    """What the handlers learnt about a request, for its access line."""

    service_id: str | None = None
    hook_instance: str | None = None
    reason: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


_CURRENT: ContextVar[RequestNote | None] = ContextVar("epidural_cds_request_note", default=None)


def annotate(**fields: LogValue) -> None:
    """Add `fields` to the access line of the request being answered; outside one (the command line, a batch) they
    go nowhere."""
    note = _CURRENT.get()
    if note is not None:
        note.fields.update(fields)


def request_note(request: Request) -> RequestNote:
    """The note of this request (a fresh one outside `AccessLog`, e.g. in unit tests of a router alone)."""
    note = request.scope.get(_NOTE)
    if not isinstance(note, RequestNote):
        note = request.scope[_NOTE] = RequestNote()
    return note


RequestObserver = Callable[[str, int, float], None]
"""Told each HTTP request's path, status and seconds taken, once answered (e.g. the service's metrics)."""


class AccessLog:
    """ASGI middleware writing the access line when the answer has been sent (or the app has failed), then telling
    `observers`: one place learns each request's status and time for every consumer of them."""

    def __init__(self, app: ASGIApp, observers: Sequence[RequestObserver] = ()) -> None:
        self.app = app
        self._observers = tuple(observers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        note = scope[_NOTE] = RequestNote()
        current = _CURRENT.set(note)
        status = 500  # what the client gets when the app raises before answering

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            _CURRENT.reset(current)
            elapsed = time.perf_counter() - started
            _write(scope, note, status, elapsed)
            for observe in self._observers:
                observe(scope["path"], status, elapsed)


def _write(scope: Scope, note: RequestNote, status: int, elapsed: float) -> None:
    route = scope.get("route")
    method = scope.get("method")
    reason = note.reason or _REASON_OF_STATUS.get(status, f"status-{status}")
    if method == "OPTIONS" and status == 400 and note.reason is None:
        reason = "cors-refused"
    entry: dict[str, Any] = {
        "method": method,
        # The route's template, not the path: a path that matched nothing is whatever the client typed.
        "route": getattr(route, "path", None),
        "service_id": note.service_id,
        "status": status,
        "reason": reason,
        "hook_instance": note.hook_instance,
        "elapsed_ms": round(elapsed * 1000, 2),
        **note.fields,
    }
    logger.info("request", extra={key: value for key, value in entry.items() if value is not None})

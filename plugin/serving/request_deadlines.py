"""Deadlines for slow clients: a request's headers, then its body, must arrive in bounded time.

Without them a client that sends half a request and waits holds a connection, and a body buffer, for ever: uvicorn's
keep-alive timer only runs between requests. Two settings bound the two halves (docs/operations.md):

* ``header_timeout_seconds``: from the connection's first byte (or from the first byte of the next request on a
  kept-alive connection) to the end of the headers. Enforced in the HTTP protocol, before any app code runs; a late
  client gets ``408`` with an OperationOutcome and the connection is closed. A connection that sends nothing at all
  is closed silently after the same time.
* ``body_timeout_seconds``: from the end of the headers to the end of the body, enforced where the app reads the
  body; a late client gets ``408`` with an OperationOutcome and ``Connection: close``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from cds_hooks.errors import RequestTimeout
from cds_hooks.operation_outcome import operation_outcome

_TIMEOUT_BODY = orjson.dumps(operation_outcome("timeout", "the request was not received in time"))
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: application/json\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n"
    b"connection: close\r\n\r\n" + _TIMEOUT_BODY
)


class _HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on each request's headers."""

    header_timeout_seconds = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._headers_deadline: asyncio.TimerHandle | None = None
        self._request_begun = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._request_begun = True
        if self._headers_deadline is None:
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        self._request_begun = False
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._headers_deadline = self.loop.call_later(self.header_timeout_seconds, self._headers_late)

    def _disarm(self) -> None:
        if self._headers_deadline is not None:
            self._headers_deadline.cancel()
            self._headers_deadline = None

    def _headers_late(self) -> None:
        self._headers_deadline = None
        if self.transport.is_closing():
            return
        if self._request_begun:
            self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()


def header_deadline_protocol(seconds: float) -> type[asyncio.Protocol]:
    """The HTTP protocol class for uvicorn's `http` option, with `seconds` to receive each request's headers."""
    return type("HeaderDeadlineProtocol", (_HeaderDeadlineProtocol,), {"header_timeout_seconds": seconds})


class BodyDeadline:
    """ASGI middleware: the request body must be received within `seconds` of the headers."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self._app = app
        self._seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        deadline = anyio.current_time() + self._seconds
        body_complete = False
        timed_out = False

        async def bounded_receive() -> Message:
            nonlocal body_complete, timed_out
            if body_complete:  # later calls only wait for a disconnect, which may take as long as it takes
                return await receive()
            with anyio.move_on_after(deadline - anyio.current_time()):
                message = await receive()
                body_complete = message["type"] != "http.request" or not message.get("more_body", False)
                return message
            timed_out = True
            raise RequestTimeout(f"the request body was not received within {self._seconds:g} s")

        async def closing_send(message: Message) -> None:
            if timed_out and message["type"] == "http.response.start":
                # The rest of the body may still be on its way: the connection cannot carry another request.
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        await self._app(scope, bounded_receive, closing_send)

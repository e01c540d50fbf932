"""A FHIR server that fails on purpose, on loopback: it answers 401, 500, malformed JSON, or too late.

Its base URL names the fault and what fails: ``http://127.0.0.1:<port>/<fault>/<scope>/fhir``. With scope
``everything`` every read fails; with ``optional`` the patient and the procedure history (the data every service
requires) are served healthy and everything else fails, so the service must answer with what it has.
"""

from __future__ import annotations

import json
import threading
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class Fault(StrEnum):
    UNAUTHORIZED = "unauthorized"
    SERVER_ERROR = "server-error"
    MALFORMED = "malformed"
    SLOW = "slow"


class Scope(StrEnum):
    EVERYTHING = "everything"
    OPTIONAL = "optional"


_REQUIRED_TYPES = frozenset({"Patient", "Procedure"})
_OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "security"}]}


class FaultServer:
    def __init__(self, slow_seconds: float) -> None:
        self.slow_seconds = slow_seconds
        self.stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def base_url(self, fault: Fault, scope: Scope) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/{fault}/{scope}/fhir"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path).path.split("/")  # "", fault, scope, "fhir", type, id...
                if len(parts) < 5:
                    self._send(404, _OUTCOME)
                    return
                fault, scope, resource_type = parts[1], parts[2], parts[4]
                if scope == Scope.OPTIONAL and resource_type in _REQUIRED_TYPES:
                    self._send(200, _healthy(resource_type, parts))
                elif fault == Fault.UNAUTHORIZED:
                    self._send(401, _OUTCOME)
                elif fault == Fault.SERVER_ERROR:
                    self._send(500, b"Internal Server Error")
                elif fault == Fault.MALFORMED:
                    self._send(200, b'{"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": ')
                else:
                    server.stopping.wait(server.slow_seconds)
                    self._send(200, _healthy(resource_type, parts))

            def _send(self, status: int, body: object) -> None:
                content = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/fhir+json")
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the service gave up waiting, as it should

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()


def _healthy(resource_type: str, parts: list[str]) -> dict[str, object]:
    if resource_type == "Patient" and len(parts) > 5:
        return {"resourceType": "Patient", "id": parts[5]}
    return {"resourceType": "Bundle", "type": "searchset", "total": 0}

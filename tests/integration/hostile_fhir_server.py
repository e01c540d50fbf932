"""A FHIR server that attacks its client, on loopback: escaping next links, a gzip bomb, oversized and non-UTF-8 pages.

Its base URL names the attack: ``http://127.0.0.1:<port>/<attack>/fhir``. The Patient and every search it does not
attack are served healthy (empty). Every request it receives is recorded with the Authorization header it carried,
so a test can tell whether the EHR's access token ever left the allowed base.
"""

from __future__ import annotations

import json
import threading
import zlib
from dataclasses import dataclass
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from plugin.sandbox.resources import procedure, searchset

SECRET_PATH = "/admin/secret"


class Attack(StrEnum):
    # Next links of the procedure search that leave the base once a server normalises them.
    DOT_SEGMENTS = "dot-segments"
    ENCODED_DOTS = "encoded-dots"
    PARAMETER_DOTS = "parameter-dots"
    ENCODED_SLASHES = "encoded-slashes"
    USERINFO = "userinfo"
    # The conditions search (optional data) answers with these.
    GZIP_BOMB = "gzip-bomb"
    OVERSIZED = "oversized"
    # One procedure of the history is not UTF-8.
    NOT_UTF8 = "not-utf8"


BOMB_INFLATED_BYTES = 512 * 1024 * 1024
OVERSIZED_BYTES = 40 * 1024 * 1024


@dataclass(frozen=True)
class Received:
    path: str
    authorization: str | None


class HostileFhirServer:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()
        # 512 MiB of zeros compress to about half a megabyte: built once, served to every bomb request.
        self._bomb = _gzipped_zeros(BOMB_INFLATED_BYTES)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def base_url(self, attack: Attack) -> str:
        return f"{self.origin}/{attack}/fhir"

    def requests_to(self, path: str) -> list[Received]:
        with self._lock:
            return [request for request in self.received if urlsplit(request.path).path.startswith(path)]

    def _next_link(self, attack: Attack) -> str:
        base = self.base_url(attack)
        return {
            Attack.DOT_SEGMENTS: f"{base}/../..{SECRET_PATH}",
            Attack.ENCODED_DOTS: f"{base}/%2e%2e/%2E%2E{SECRET_PATH}",
            Attack.PARAMETER_DOTS: f"{base}/..;/..;{SECRET_PATH}",
            Attack.ENCODED_SLASHES: f"{base}/..%2f..%2f{SECRET_PATH.strip('/').replace('/', '%2f')}",
            Attack.USERINFO: f"http://attacker@127.0.0.1:{self._server.server_address[1]}{SECRET_PATH}",
        }[attack]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server.received.append(Received(self.path, self.headers.get("Authorization")))
                parts = urlsplit(self.path).path.split("/")  # "", attack, "fhir", type, id...
                if self.path.startswith(SECRET_PATH) or len(parts) < 4:
                    self._send(200, {"resourceType": "Bundle", "type": "searchset", "total": 0})
                    return
                attack, resource_type = parts[1], parts[3]
                if resource_type == "Patient":
                    self._send(200, {"resourceType": "Patient", "id": parts[4] if len(parts) > 4 else "p"})
                elif resource_type == "Procedure" and attack in _ESCAPES:
                    page = searchset([procedure("first-page", "62323", "2026-01-05")])
                    page["link"] = [{"relation": "next", "url": server._next_link(Attack(attack))}]
                    self._send(200, page)
                elif resource_type == "Procedure" and attack == Attack.NOT_UTF8:
                    page = json.dumps(
                        searchset([procedure("latin-1", "62323", "2026-01-05", text="Caudal ÉSI")]), ensure_ascii=False
                    )
                    self._send(200, page.encode("utf-8").replace("É".encode(), "É".encode("latin-1")))
                elif resource_type == "Condition" and attack == Attack.GZIP_BOMB:
                    self._send(200, server._bomb, encoding="gzip")
                elif resource_type == "Condition" and attack == Attack.OVERSIZED:
                    self._send(200, b'{"resourceType": "Bundle", "type": "searchset", "id": "' + b"x" * OVERSIZED_BYTES)
                else:
                    self._send(200, {"resourceType": "Bundle", "type": "searchset", "total": 0})

            def _send(self, status: int, body: object, encoding: str | None = None) -> None:
                content = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/fhir+json")
                    if encoding:
                        self.send_header("Content-Encoding", encoding)
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading, as it should

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler

    def __enter__(self) -> HostileFhirServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


_ESCAPES = frozenset(
    {Attack.DOT_SEGMENTS, Attack.ENCODED_DOTS, Attack.PARAMETER_DOTS, Attack.ENCODED_SLASHES, Attack.USERINFO}
)


def _gzipped_zeros(size: int) -> bytes:
    """One gzip member inflating to `size` zero bytes, compressed a megabyte at a time."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\0" * (1024 * 1024)
    parts = [compressor.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join(parts) + compressor.flush()

"""CORS for browser-based CDS clients (the CDS Hooks Sandbox), with refusals worded like every other error."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from cds_hooks.endpoints import json_response
from cds_hooks.operation_outcome import operation_outcome


class CorsWithOutcomes(CORSMiddleware):
    """Starlette's CORS middleware, but a refused preflight answers an OperationOutcome instead of plain text."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        # Keep the CORS headers Starlette chose (Vary, Allow-Methods...); only the body and its type change.
        headers = {
            name: value
            for name, value in response.headers.items()
            if name.lower() not in ("content-type", "content-length")
        }
        problem = bytes(response.body).decode("utf-8", "replace")
        return json_response(operation_outcome("forbidden", problem), status=response.status_code, headers=headers)

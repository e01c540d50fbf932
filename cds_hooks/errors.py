"""Protocol errors, each bound to the HTTP status the CDS Hooks contract gives it.

CdsHooksError                 (abstract; never raised itself)
├── InvalidRequest            400  malformed JSON, missing hook/hookInstance/context, wrong hook for the service
├── Unauthorized              401  missing or bad JWT (answered bare, no detail)
├── Forbidden                 403  a trusted client asked for something it may not (e.g. a fhirServer off its list)
├── UnknownService            404  no service with that id
├── RequestTimeout            408  the client did not send the whole request in time
├── PrefetchUnavailable       412  required data neither prefetched nor obtainable from fhirServer
├── PayloadTooLarge           413  request body over the configured limit
└── ServiceUnavailable        503  the service's own storage failed; the client may retry
"""

from __future__ import annotations


class CdsHooksError(Exception):
    """A failure the client caused or must know about; `status` is the HTTP answer."""

    status: int = 400
    code: str = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(CdsHooksError):
    status = 400
    code = "invalid"


class Unauthorized(CdsHooksError):
    status = 401
    code = "login"

    def __init__(self, message: str = "unauthorized") -> None:
        super().__init__(message)


class Forbidden(CdsHooksError):
    status = 403
    code = "forbidden"


class UnknownService(CdsHooksError):
    status = 404
    code = "not-found"


class RequestTimeout(CdsHooksError):
    status = 408
    code = "timeout"


class PrefetchUnavailable(CdsHooksError):
    status = 412
    code = "incomplete"


class PayloadTooLarge(CdsHooksError):
    status = 413
    code = "too-costly"


class ServiceUnavailable(CdsHooksError):
    status = 503
    code = "transient"

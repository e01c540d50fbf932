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

from collections.abc import Mapping


class CdsHooksError(Exception):
    """A failure the client caused or must know about; `status` is the HTTP answer, `code` the OperationOutcome's
    issue code, `reason` the class the access log gives it."""

    status: int = 400
    code: str = "invalid"
    reason: str = "bad-request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(CdsHooksError):
    status = 400
    code = "invalid"
    reason = "bad-request"


class Unauthorized(CdsHooksError):
    """Answered bare; `kind` (e.g. `audience`, `expired`, `replayed`) and `log_fields` go to the access log only,
    and hold nothing secret (the expected and received `aud` URLs at most, never the token)."""

    status = 401
    code = "login"

    def __init__(self, kind: str = "token", log_fields: Mapping[str, str] | None = None) -> None:
        super().__init__("unauthorized")
        self.kind = kind
        self.reason = f"unauthorized:{kind}"
        self.log_fields = dict(log_fields or {})


class Forbidden(CdsHooksError):
    status = 403
    code = "forbidden"
    reason = "forbidden"


class UnknownService(CdsHooksError):
    status = 404
    code = "not-found"
    reason = "not-found"


class RequestTimeout(CdsHooksError):
    status = 408
    code = "timeout"


class PrefetchUnavailable(CdsHooksError):
    status = 412
    code = "incomplete"
    reason = "precondition"


class PayloadTooLarge(CdsHooksError):
    status = 413
    code = "too-costly"
    reason = "too-large"


class ServiceUnavailable(CdsHooksError):
    status = 503
    code = "transient"
    reason = "unavailable"

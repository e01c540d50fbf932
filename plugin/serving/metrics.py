"""Prometheus metrics (`GET /metrics`): what the service answered, how fast, and what went wrong, per worker summed.

Every label value comes from a fixed set (service ids of the contract, rule ids, indicators, status codes, reasons
written in the code, exception class names), never from a request's data: the metrics carry no PHI and cannot grow
without bound whatever a client sends. With several workers, `plugin.serving.server` points ``PROMETHEUS_MULTIPROC_DIR``
at a fresh directory before the workers start; each worker then counts in its own files there and `/metrics`, whichever
worker answers, adds them all up (prometheus-client's multi-process mode). docs/operations.md has the scrape config and
the alerts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable
from typing import Final

import httpx
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.exposition import choose_encoder

from plugin.serving.server import MULTIPROCESS_DIR_VARIABLE

_LATENCY_BUCKETS: Final = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_SECONDS: Final = Histogram(
    "epidural_cds_request_duration_seconds",
    "Time from the request's arrival to the end of the answer, per endpoint, CDS service and HTTP status",
    ["endpoint", "service", "status"],
    buckets=_LATENCY_BUCKETS,
)
CARDS: Final = Counter("epidural_cds_cards", "Cards returned, per rule and indicator", ["rule", "indicator"])
OUTBOUND: Final = Counter(
    "epidural_cds_fetches",
    "Requests to EHR servers (FHIR data, JWKS keys) by outcome: the status class, timeout, connect-error or error",
    ["target", "outcome"],
)
JWT_REJECTIONS: Final = Counter("epidural_cds_jwt_rejections", "Hook calls refused with 401, per reason", ["reason"])
FEEDBACK_WRITES: Final = Counter(
    "epidural_cds_feedback_writes", "Feedback posts written (stored) or refused with 503 (failed)", ["outcome"]
)
FEEDBACK_ITEMS: Final = Counter("epidural_cds_feedback_items_stored", "New feedback entries stored")
DATABASE_ERRORS: Final = Counter(
    "epidural_cds_database_errors", "Errors from the service database, per store and error class", ["store", "error"]
)

_REASON: Final = re.compile(r"[A-Za-z][A-Za-z0-9 _-]{0,63}")


def jwt_rejected(reason: str) -> None:
    # Reasons are the fixed reason classes of cds_hooks.trust (`Unauthorized.kind`); the check keeps it that way.
    JWT_REJECTIONS.labels(reason=reason if _REASON.fullmatch(reason) else "other").inc()


def database_error(store: str, error: BaseException) -> None:
    DATABASE_ERRORS.labels(store=store, error=type(error).__name__).inc()


def card_returned(rule: str | None, indicator: str) -> None:
    CARDS.labels(rule=rule or "unattributed", indicator=indicator).inc()


def feedback_written(stored: int | None) -> None:
    """`stored`: how many entries were new, or None when the write failed."""
    FEEDBACK_WRITES.labels(outcome="failed" if stored is None else "stored").inc()
    if stored:
        FEEDBACK_ITEMS.inc(stored)


def exposition(accept: str) -> tuple[bytes, str]:
    """Every metric (summed over the workers' files in multi-process mode) and its content type, in the format the
    scraper's Accept header asks for: Prometheus text, or OpenMetrics."""
    encode, content_type = choose_encoder(accept)
    directory = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    if directory is None:
        return encode(REGISTRY), content_type
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]  # unannotated
    return encode(registry), content_type


class RequestMetrics:
    """Times every HTTP request, as an observer of the access log (cds_hooks.access_log); the service label only
    ever holds a known service id."""

    def __init__(self, service_ids: Collection[str]) -> None:
        self._service_ids = frozenset(service_ids)

    def __call__(self, path: str, status: int, elapsed: float) -> None:
        endpoint, service = self._route(path)
        REQUEST_SECONDS.labels(endpoint=endpoint, service=service, status=str(status)).observe(elapsed)

    def _route(self, path: str) -> tuple[str, str]:
        parts = path.strip("/").split("/")
        if parts[0] != "cds-services":
            return (parts[0] if parts[0] in ("healthz", "readyz", "metrics") else "other"), ""
        if len(parts) == 1:
            return "discovery", ""
        service = parts[1] if parts[1] in self._service_ids else "unknown"
        if len(parts) == 2:
            return "hook", service
        return ("feedback" if parts[2:] == ["feedback"] else "other"), service


class CountingTransport(httpx.AsyncBaseTransport):
    """An httpx transport that counts each outbound request's outcome; requests to a JWKS URL count as `jwks`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, jwks_urls: Iterable[str]) -> None:
        self._inner = inner
        self._jwks_urls = frozenset(jwks_urls)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = "jwks" if str(request.url) in self._jwks_urls else "fhir"
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TimeoutException:
            OUTBOUND.labels(target=target, outcome="timeout").inc()
            raise
        except httpx.ConnectError:
            OUTBOUND.labels(target=target, outcome="connect-error").inc()
            raise
        except Exception:
            OUTBOUND.labels(target=target, outcome="error").inc()
            raise
        outcome = "429" if response.status_code == 429 else f"{response.status_code // 100}xx"
        OUTBOUND.labels(target=target, outcome=outcome).inc()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()

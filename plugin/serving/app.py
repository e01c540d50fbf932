"""The FastAPI application: `create_app(settings)` wires protocol, trust, data, rules and feedback together.

Nothing is built at import time, so tests and workers can each make an app with their own settings.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime

import anyio.to_thread
import httpx
import sqlalchemy.exc
from fastapi import FastAPI, Request, Response

from cds_hooks.access_log import AccessLog
from cds_hooks.cors import CorsWithOutcomes
from cds_hooks.endpoints import (
    CdsService,
    FeedbackLimits,
    HookHandler,
    cds_router,
    install_error_handlers,
    json_response,
)
from cds_hooks.errors import ServiceUnavailable, Unauthorized
from cds_hooks.models import CdsResponse, FeedbackItem, HookRequest
from cds_hooks.operation_outcome import operation_outcome
from cds_hooks.trust import JwtVerifier, TrustedClient, VerifiedToken
from fhir_mappings import icd10cm
from plugin.denials.card_ledger import CardLedger
from plugin.hooks.cards import rule_of_card
from plugin.hooks.patient_data import FetchSettings
from plugin.hooks.services import Evaluator, cds_services
from plugin.policies.catalog import load_catalog
from plugin.serving import metrics
from plugin.serving.request_deadlines import BodyDeadline
from plugin.serving.settings import Settings, StartupRefused
from plugin.storage.feedback import FeedbackRecord, FeedbackStore
from plugin.storage.token_replay import TokenReplayStore
from plugin.workspace.mount import mount_workspace

logger = logging.getLogger(__name__)

# A readiness probe waits this long for the database before calling the worker not ready.
_READINESS_DATABASE_SECONDS = 2.0
_DEFAULT_PORTS = {"http": 80, "https": 443}


def load_shared() -> None:
    """What every worker reads and none changes: loaded once in the supervisor, the workers forked from it share it."""
    icd10cm.load()


def create_app(
    settings: Settings,
    *,
    auth: bool = True,
    today: Callable[[], date] = date.today,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The service app. `auth=False` is what `serve --no-auth` asks for and nothing else may; `today` and `transport`
    exist so tests can fix the date and reach fake FHIR servers."""
    if auth and not settings.trusted_clients:
        raise StartupRefused(
            "no trusted clients are configured: add [[trusted_clients]] (issuer, jwks_url or jwks, fhir_servers) "
            "to the --config file, or run with --no-auth for local sandbox work only"
        )
    if auth and settings.public_base_url is None:
        logger.warning(
            "public_base_url is not set: tokens are checked against the address this process listens on, so behind "
            "a proxy or under another host name every call gets 401 until public_base_url is the URL EHRs call"
        )
    catalog = load_catalog(settings.policy_dir)
    store = FeedbackStore(settings.feedback_db)
    ledger = CardLedger(settings.feedback_db)  # cards issued per patient and day, for matching denials later
    counted = metrics.CountingTransport(
        transport or httpx.AsyncHTTPTransport(),
        (client.jwks_url for client in settings.trusted_clients if client.jwks_url),
    )
    http = httpx.AsyncClient(transport=counted, timeout=httpx.Timeout(settings.fhir_budget_seconds), trust_env=False)
    # Seen token ids live in the service database, so a token replayed to another worker is refused too.
    replay_store = TokenReplayStore(settings.feedback_db) if auth else None
    verifier = (
        JwtVerifier(
            _trusted_clients(settings), http, leeway_seconds=settings.jwt_leeway_seconds, replay_guard=replay_store
        )
        if auth
        else None
    )
    evaluator = Evaluator(
        catalog=catalog,
        http=http,
        fetch=FetchSettings(
            settings.fhir_budget_seconds,
            settings.fhir_page_cap,
            settings.fhir_page_size,
            max_response_bytes=settings.fhir_max_response_bytes,
            max_call_bytes=settings.fhir_max_call_bytes,
        ),
        today=today,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Loading the ICD-10-CM table before the first request keeps it out of a clinician's wait.
        table = await anyio.to_thread.run_sync(icd10cm.load)
        if today() > table.valid_through:
            # Diagnosis checks still run (codes rarely change), but an operator should ship the newer release.
            logger.warning(
                "ICD-10-CM table is past its release period",
                extra={"release": table.release, "valid_through": table.valid_through.isoformat()},
            )
        # The ~100k long-lived objects of the code tables would otherwise be walked by every full collection, which
        # showed as 20-40 ms latency spikes (bench/RESULTS.md); frozen, the collector skips them.
        gc.collect()
        gc.freeze()
        app.state.ready = True
        try:
            yield
        finally:
            await http.aclose()
            await ledger.drain()
            store.close()
            ledger.close()
            if replay_store is not None:
                replay_store.close()

    app = FastAPI(
        title="epidural-cds",
        summary="CDS Hooks 2.0 service for epidural and transforaminal injection orders",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.ready = False
    app.state.catalog = catalog
    app.state.feedback_store = store

    async def authenticate(request: Request) -> VerifiedToken | None:
        if verifier is None:
            return None
        try:
            return await verifier.verify(request.headers.get("authorization"), _audience(settings, request))
        except Unauthorized as refusal:
            metrics.jwt_rejected(refusal.kind)
            raise

    async def feedback(service_id: str, items: Sequence[FeedbackItem]) -> int:
        received = datetime.now(UTC)
        records = [_feedback_record(service_id, item, received) for item in items]
        try:
            stored = await anyio.to_thread.run_sync(store.record, records)
        except sqlalchemy.exc.SQLAlchemyError as error:
            metrics.database_error("feedback", error)
            metrics.feedback_written(None)
            # Nothing was acknowledged, so the EHR's retry loses nothing; 503 tells it to retry.
            logger.error("feedback not stored", extra={"service_id": service_id, "error_type": type(error).__name__})
            raise ServiceUnavailable("feedback could not be stored; retry later") from None
        metrics.feedback_written(stored)
        return stored

    async def database_answers() -> bool:
        checks = [store.check] + ([replay_store.check] if replay_store is not None else [])
        with anyio.move_on_after(_READINESS_DATABASE_SECONDS):
            try:
                for check in checks:
                    await anyio.to_thread.run_sync(check, abandon_on_cancel=True)
            except sqlalchemy.exc.SQLAlchemyError as error:
                metrics.database_error("readiness", error)
                logger.warning("service database unavailable", extra={"error_type": type(error).__name__})
                return False
            return True
        logger.warning("service database unavailable", extra={"error_type": "timeout"})
        return False

    services = cds_services(evaluator)
    install_error_handlers(app)
    app.add_middleware(
        CorsWithOutcomes,
        allow_origins=settings.cors_allow_origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type"],
    )
    app.add_middleware(BodyDeadline, seconds=settings.body_timeout_seconds)
    # Outside CORS, so it sees refused preflights too; the metrics time each request from the same place.
    app.add_middleware(AccessLog, observers=[metrics.RequestMetrics([service.descriptor.id for service in services])])
    counted_services = [CdsService(service.descriptor, _counting_cards(service.handler)) for service in services]
    app.include_router(
        cds_router(
            mount_workspace(app, settings, catalog, ledger.recording(counted_services, today), today, transport),
            feedback=feedback,
            authenticate=authenticate,
            max_body_bytes=settings.max_body_bytes,
            feedback_limits=FeedbackLimits(settings.feedback_max_items, settings.feedback_max_bytes),
        )
    )

    @app.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> Response:
        return json_response({"status": "ok"})

    @app.get("/readyz", summary="Readiness: policies and code tables loaded, the service database answers")
    async def readyz() -> Response:
        if not app.state.ready:
            return json_response(operation_outcome("transient", "still loading code tables"), status=503)
        if not await database_answers():
            return json_response(operation_outcome("transient", "the service database is unavailable"), status=503)
        return json_response({"status": "ready", "policies": sorted(catalog.policies)})

    # No JWT: Prometheus cannot mint CDS Hooks tokens, and the metrics hold no PHI (docs/operations.md).
    @app.get("/metrics", summary="Prometheus metrics, all workers summed", include_in_schema=False)
    async def prometheus_metrics(request: Request) -> Response:
        body, content_type = metrics.exposition(request.headers.get("accept", ""))
        return Response(body, headers={"Content-Type": content_type})

    return app


def _counting_cards(handler: HookHandler) -> HookHandler:
    async def counted(request: HookRequest) -> CdsResponse:
        response = await handler(request)
        for card in response.cards:
            rule = rule_of_card(card.uuid)
            metrics.card_returned(rule.value if rule else None, card.indicator)
        return response

    return counted


def _audience(settings: Settings, request: Request) -> str:
    """The exact URL the EHR called: the configured public base (behind TLS termination), else the address of the
    socket this request arrived on. Never the Host header: whoever sends the request writes it, and a token minted
    for another service would pass with that service's name in Host."""
    return (settings.public_base_url or _socket_base_url(request)) + request.url.path


def _socket_base_url(request: Request) -> str:
    scheme = request.scope.get("scheme", "http")
    server = request.scope.get("server")
    if not server or server[1] is None:  # a Unix socket has no URL of its own: only public_base_url can say it
        return "unix:"
    host, port = server
    netloc = f"[{host}]" if ":" in host else host
    if port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    return f"{scheme}://{netloc}"


def _trusted_clients(settings: Settings) -> list[TrustedClient]:
    return [
        TrustedClient(
            issuer=client.issuer,
            jwks_url=client.jwks_url,
            jwks=client.jwks,
            fhir_servers=tuple(client.fhir_servers),
        )
        for client in settings.trusted_clients
    ]


def _feedback_record(service_id: str, item: FeedbackItem, received: datetime) -> FeedbackRecord:
    reason = item.override_reason.reason if item.override_reason else None
    rule = rule_of_card(item.card)
    return FeedbackRecord(
        service_id=service_id,
        card_uuid=item.card,
        outcome=item.outcome,
        outcome_timestamp=item.outcome_timestamp,
        accepted_suggestions=tuple(suggestion.id for suggestion in item.accepted_suggestions),
        override_reason_code=reason.code if reason else None,
        override_reason_system=reason.system if reason else None,
        override_reason_display=reason.display if reason else None,
        user_comment=item.override_reason.user_comment if item.override_reason else None,
        rule_id=rule.value if rule else None,
        received_at=received,
    )

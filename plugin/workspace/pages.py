"""The workspace's routes, mounted at /workspace: sign-in, the worklist, denials, card feedback and the timeline.

Every page but sign-in needs an operator's session. Pages that show patients are never cached, send no referrer
and run only the workspace's own scripts (a strict Content-Security-Policy); chart data travels inside the page as
JSON, not in a URL.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import msgspec
import orjson
from fastapi import Depends, FastAPI, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.middleware.sessions import SessionMiddleware

from fhir_mappings import icd10cm
from plugin.denials.report import denial_report
from plugin.hooks.patient_data import FetchSettings
from plugin.hooks.services import read_record
from plugin.policies.catalog import PolicyCatalog
from plugin.serving.settings import Settings, WorkspaceSettings
from plugin.storage.feedback import FeedbackStore
from plugin.worklist.fhir_source import fetch_patients
from plugin.worklist.review import WorklistRow
from plugin.workspace import operators
from plugin.workspace.links import LinkExpired, LinkInvalid, TimelineLinks
from plugin.workspace.timeline import chart_option, timeline

logger = logging.getLogger(__name__)

WORKLIST_PAGE_ROWS = 500
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
_ROW = msgspec.json.Decoder(WorklistRow)


def workspace_app(
    settings: Settings,
    workspace: WorkspaceSettings,
    catalog: PolicyCatalog,
    links: TimelineLinks,
    today: Callable[[], date],
    transport: httpx.AsyncBaseTransport | None = None,
    identity_transport: Any = None,
) -> FastAPI:
    """The workspace as its own app (its own session cookie and error pages), to mount at /workspace. `transport`
    reaches the FHIR server and `identity_transport` the identity provider, for tests."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    templates = Environment(
        loader=PackageLoader("plugin.workspace", "templates"), autoescape=select_autoescape(), auto_reload=False
    )
    templates.filters["json"] = lambda value: Markup(orjson.dumps(value).decode().replace("</", "<\\/"))
    oidc = operators.oidc_client(workspace.oidc, identity_transport) if workspace.oidc is not None else None

    def page(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = templates.get_template(name).render(
            operator=operators.operator_of(request),
            csrf=operators.csrf_token(request),
            base=_path(request, "worklist").rsplit("/", 1)[0],
            **values,
        )
        return HTMLResponse(html, status_code=status, headers=_SECURITY_HEADERS)

    def require_operator(request: Request) -> str:
        name = operators.operator_of(request)
        if name is None:
            request.session["next"] = request.url.path
            raise _SignInFirst
        return name

    async def sign_in_first(request: Request, _: Exception) -> Response:
        return RedirectResponse(_path(request, "login"), status_code=303)

    app.add_exception_handler(_SignInFirst, sign_in_first)
    operator = Depends(require_operator)

    @app.get("/", name="home")
    async def home(request: Request) -> Response:
        return RedirectResponse(_path(request, "worklist"), status_code=303)

    @app.get("/login", name="login")
    async def login_form(request: Request) -> Response:
        return page(request, "login.html", local=workspace.local_user is not None, oidc=oidc is not None)

    @app.post("/login")
    async def login(
        request: Request, username: str = Form(""), password: str = Form(""), csrf: str = Form("")
    ) -> Response:
        user = workspace.local_user
        if not operators.csrf_valid(request, csrf):
            return page(request, "login.html", 400, local=user is not None, oidc=oidc is not None,
                        error="The sign-in form expired. Please try again.")  # fmt: skip
        if user is None or not await anyio.to_thread.run_sync(operators.check_local, user, username, password):
            logger.info("workspace sign-in refused")
            return page(request, "login.html", 401, local=user is not None, oidc=oidc is not None,
                        error="Wrong user name or password.")  # fmt: skip
        return _signed_in(request, username)

    @app.get("/login/oidc", name="login_oidc")
    async def login_oidc(request: Request) -> Response:
        if oidc is None:
            return page(request, "message.html", 404, title="Not configured", text="Single sign-on is not set up.")
        callback = _public(settings, request, "oidc_callback")
        redirect: Response = await oidc.authorize_redirect(request, callback)
        return redirect

    @app.get("/login/oidc/callback", name="oidc_callback")
    async def oidc_callback(request: Request) -> Response:
        if oidc is None or workspace.oidc is None:
            return page(request, "message.html", 404, title="Not configured", text="Single sign-on is not set up.")
        try:
            token = await oidc.authorize_access_token(request)
        except Exception as error:  # Authlib raises its own OAuthError and httpx errors alike
            logger.info("workspace OIDC sign-in failed", extra={"error_type": type(error).__name__})
            return page(request, "login.html", 401, local=workspace.local_user is not None, oidc=True,
                        error="Single sign-on did not complete. Please try again.")  # fmt: skip
        name = operators.oidc_operator(workspace.oidc, dict(token.get("userinfo") or {}))
        if name is None:
            return page(request, "login.html", 403, local=workspace.local_user is not None, oidc=True,
                        error="Your account is not allowed to use the workspace.")  # fmt: skip
        return _signed_in(request, name)

    @app.post("/logout", name="logout")
    async def logout(request: Request, csrf: str = Form("")) -> Response:
        if operators.csrf_valid(request, csrf):
            request.session.clear()
        return RedirectResponse(_path(request, "login"), status_code=303)

    @app.get("/worklist", name="worklist", dependencies=[operator])
    async def worklist(request: Request) -> Response:
        rows, total, by_rule = await anyio.to_thread.run_sync(_worklist_rows, workspace.worklist_file)
        shown = [(row, links.token_for(row.patient)) for row in rows]
        chart = {
            "rules": [rule for rule, _ in by_rule.most_common()],
            "counts": [count for _, count in by_rule.most_common()],
        }
        return page(request, "worklist.html", section="worklist", rows=shown, total=total, chart=chart,
                    source=workspace.worklist_file, limit=WORKLIST_PAGE_ROWS)  # fmt: skip

    @app.get("/denials", name="denials", dependencies=[operator])
    async def denials(request: Request) -> Response:
        report = await anyio.to_thread.run_sync(lambda: denial_report(settings.feedback_db))
        months = sorted({row.month for row in report.months})
        titles = {row.family: row.family_title for row in report.families}
        families = sorted({row.family for row in report.months})
        payers = sorted({row.payer for row in report.months})
        by_family = {
            titles.get(family, family): [
                sum(r.denials for r in report.months if r.family == family and r.month == m) for m in months
            ]
            for family in families
        }
        by_payer = {
            payer: [sum(r.denials for r in report.months if r.payer == payer and r.month == m) for m in months]
            for payer in payers
        }
        chart = {"months": months, "byFamily": by_family, "byPayer": by_payer}
        return page(request, "denials.html", section="denials", report=report, chart=chart)

    @app.get("/feedback", name="feedback", dependencies=[operator])
    async def feedback(request: Request) -> Response:
        summaries = await anyio.to_thread.run_sync(_feedback_report, settings.feedback_db)
        chart = {
            "rules": [summary.rule_id or "(unattributed)" for summary in summaries],
            "accepted": [summary.accepted for summary in summaries],
            "overridden": [summary.overridden for summary in summaries],
        }
        return page(request, "feedback.html", section="feedback", summaries=summaries, chart=chart)

    @app.get("/timeline/{token}", name="timeline", dependencies=[operator])
    async def patient_timeline(request: Request, token: str) -> Response:
        try:
            patient = links.patient_of(token)
        except LinkExpired:
            again = "Open it again from the patient's card or the worklist."
            return page(request, "message.html", 410, title="Link expired", text=f"This link has expired. {again}")
        except LinkInvalid:
            return page(request, "message.html", 404, title="Unknown link", text="This timeline link is not valid.")
        if workspace.fhir_server is None:
            return page(request, "message.html", 503, title="No record source",
                        text="The workspace has no FHIR server configured to read records from.")  # fmt: skip
        record = await _record(workspace, settings, patient, transport)
        if record is None:
            return page(request, "message.html", 502, title="Record unavailable",
                        text="The patient's procedure history could not be read from the FHIR server.")  # fmt: skip
        view = timeline(record, catalog, today())
        return page(request, "timeline.html", section="timeline", view=view, chart=chart_option(view), patient=patient)

    static = resources.files("plugin.workspace") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.add_middleware(
        SessionMiddleware,
        secret_key=workspace.secret_key,
        session_cookie="epidural_workspace",
        max_age=workspace.session_minutes * 60,
        path="/workspace",
        same_site="lax",  # the identity provider's redirect back is a cross-site navigation
        https_only=workspace.secure_cookie,
    )
    return app


class _SignInFirst(Exception):
    """A page was asked for without an operator's session: the answer is the sign-in page."""


def _signed_in(request: Request, name: str) -> Response:
    target = request.session.get("next")
    operators.sign_in(request, name)
    logger.info("workspace sign-in")
    path = target if isinstance(target, str) and target.startswith("/workspace/") else None
    return RedirectResponse(path or _path(request, "worklist"), status_code=303)


def _path(request: Request, route: str) -> str:
    """A route's path only: links and redirects stay on the scheme and host the browser used, behind a proxy too."""
    return request.url_for(route).path


def _public(settings: Settings, request: Request, route: str) -> str:
    """The absolute URL of `route` as the browser reaches it: behind TLS termination, from `public_base_url`."""
    url = str(request.url_for(route))
    if settings.public_base_url:
        return settings.public_base_url + "/workspace" + url.split("/workspace", 1)[1]
    return url


def _worklist_rows(path: Path | None) -> tuple[list[WorklistRow], int, Counter[str]]:
    """The first rows of the worklist file, how many it holds, and its open findings counted by rule."""
    shown: list[WorklistRow] = []
    total = 0
    by_rule: Counter[str] = Counter()
    for row in _read_rows(path):
        total += 1
        by_rule.update(finding.rule for finding in row.findings)
        if len(shown) < WORKLIST_PAGE_ROWS:
            shown.append(row)
    return shown, total, by_rule


def _read_rows(path: Path | None) -> Iterator[WorklistRow]:
    if path is None or not path.exists():
        return
    with path.open("rb") as handle:
        for line in handle:
            try:
                yield _ROW.decode(line)
            except msgspec.DecodeError:
                continue  # a line being written as the page is read, or not a worklist row


def _feedback_report(url: str) -> list[Any]:
    with FeedbackStore(url) as store:
        return store.report()


async def _record(
    workspace: WorkspaceSettings, settings: Settings, patient: str, transport: httpx.AsyncBaseTransport | None
) -> Any:
    assert workspace.fhir_server is not None
    token = os.environ.get(workspace.fhir_token_env) if workspace.fhir_token_env else None
    fetch = FetchSettings(settings.fhir_budget_seconds, settings.fhir_page_cap, settings.fhir_page_size)
    icd10cm.load()
    async with httpx.AsyncClient(transport=transport, timeout=fetch.budget_seconds, trust_env=False) as http:
        async for fetched in fetch_patients(workspace.fhir_server, [patient], http, fetch, token, concurrency=1):
            return None if fetched.data is None else read_record(fetched.data)
    return None

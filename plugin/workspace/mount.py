"""The workspace in the service's app: mounted at /workspace when `[workspace]` is configured, and the budget cards
given their timeline link when the service also knows its public URL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import httpx
from fastapi import FastAPI

from cds_hooks.endpoints import CdsService
from plugin.policies.catalog import PolicyCatalog
from plugin.serving.settings import Settings
from plugin.workspace.links import TimelineLinks, with_timeline_links


def mount_workspace(
    app: FastAPI,
    settings: Settings,
    catalog: PolicyCatalog,
    services: Sequence[CdsService],
    today: Callable[[], date],
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[CdsService]:
    workspace = settings.workspace
    if workspace is None:
        return list(services)
    # The pages bring Jinja2, Authlib and argon2 (~0.2 s of import): a service without a workspace never loads them.
    from plugin.workspace.pages import workspace_app  # noqa: PLC0415

    links = TimelineLinks(workspace.secret_key, workspace.timeline_link_minutes * 60)
    app.mount("/workspace", workspace_app(settings, workspace, catalog, links, today, transport))
    if settings.public_base_url is None:
        return list(services)
    return with_timeline_links(services, links, settings.public_base_url + "/workspace")

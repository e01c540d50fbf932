"""Timeline links name no patient, cannot be forged, expire, and ride on the budget cards only."""

from __future__ import annotations

import time

import pytest

from cds_hooks.endpoints import CdsService
from cds_hooks.models import Card, CdsResponse, Coding, HookRequest, ServiceDescriptor, Source
from plugin.workspace.links import LinkExpired, LinkInvalid, TimelineLinks, with_timeline_links

SECRET = "s" * 40


def test_a_link_opens_to_its_patient_and_does_not_show_the_id() -> None:
    links = TimelineLinks(SECRET, lifetime_seconds=60)

    token = links.token_for("patient-123")

    assert "patient-123" not in token
    assert links.patient_of(token) == "patient-123"


def test_a_link_made_under_another_secret_is_invalid() -> None:
    token = TimelineLinks("t" * 40, 60).token_for("patient-123")

    with pytest.raises(LinkInvalid):
        TimelineLinks(SECRET, 60).patient_of(token)


def test_an_altered_link_is_invalid() -> None:
    token = TimelineLinks(SECRET, 60).token_for("patient-123")

    with pytest.raises(LinkInvalid):
        TimelineLinks(SECRET, 60).patient_of(token[:-6] + "AAAAAA")


def test_a_link_past_its_lifetime_has_expired() -> None:
    links = TimelineLinks(SECRET, lifetime_seconds=60)
    token = links.token_for("patient-123")
    later = TimelineLinks(SECRET, lifetime_seconds=1)
    time.sleep(2.1)  # Fernet dates tokens to the second

    with pytest.raises(LinkExpired):
        later.patient_of(token)


def _service(service_id: str, topic: str) -> CdsService:
    async def handle(request: HookRequest) -> CdsResponse:
        card = Card(summary="s", indicator="info", source=Source(label="x", topic=Coding(code=topic)))
        return CdsResponse(cards=[card])

    return CdsService(ServiceDescriptor(id=service_id, hook="patient-view", title="t", description="d"), handle)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_budget_cards_get_a_timeline_link_and_other_cards_do_not() -> None:
    links = TimelineLinks(SECRET, 60)
    request = HookRequest(hook="patient-view", hook_instance="1", context={"patientId": "p-9"})
    services = with_timeline_links(
        [_service("epidural-patient-view", "frequency-budget"), _service("epidural-order-sign", "frequency-budget"),
         _service("epidural-encounter-start", "diagnosis-missing")],
        links,
        "https://cds.example.org/workspace",
    )  # fmt: skip

    view, sign, start = [await service.handler(request) for service in services]

    (link,) = view.cards[0].links
    assert link.url.startswith("https://cds.example.org/workspace/timeline/")
    assert links.patient_of(link.url.rsplit("/", 1)[1]) == "p-9"
    assert sign.cards[0].links == []
    assert start.cards[0].links == []

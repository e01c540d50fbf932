"""Links to a patient's timeline that carry no PHI: the patient id is encrypted and authenticated (Fernet) under the
workspace's secret and expires, so the URL names nobody and cannot be forged or replayed for long.

The budget cards (patient-view, encounter-start) get such a link, when the workspace is configured and the service
knows its public URL.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken

from cds_hooks.endpoints import CdsService, HookHandler
from cds_hooks.models import CdsResponse, HookRequest, Link
from plugin.rules.findings import RuleId

# The services whose cards state the session budget, and the rule of those cards.
BUDGET_SERVICES = frozenset({"epidural-patient-view", "epidural-encounter-start"})
_BUDGET_TOPIC = RuleId.FREQUENCY_BUDGET.value


class LinkExpired(Exception):
    """The link was made by this workspace but is past its lifetime."""


class LinkInvalid(Exception):
    """The link was not made by this workspace (or was altered)."""


class TimelineLinks:
    def __init__(self, secret_key: str, lifetime_seconds: int) -> None:
        # A key of its own, derived from the secret, so the cookie signer and the link cipher never share one.
        digest = hashlib.sha256(b"epidural-cds timeline links\x00" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))
        self.lifetime_seconds = lifetime_seconds

    def token_for(self, patient_id: str) -> str:
        return self._fernet.encrypt(patient_id.encode()).decode()

    def patient_of(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode(), ttl=self.lifetime_seconds).decode()
        except InvalidToken:
            try:
                self._fernet.decrypt(token.encode())
            except InvalidToken:
                raise LinkInvalid from None
            raise LinkExpired from None


def with_timeline_links(services: Sequence[CdsService], links: TimelineLinks, workspace_url: str) -> list[CdsService]:
    """The services, with a timeline link added to each budget card of the budget services."""

    def linked(handler: HookHandler) -> HookHandler:
        async def handle(request: HookRequest) -> CdsResponse:
            response = await handler(request)
            link = Link(
                label="Injection timeline", url=f"{workspace_url}/timeline/{links.token_for(request.patient_id)}"
            )
            cards = [
                card.model_copy(update={"links": [*card.links, link]})
                if card.source.topic is not None and card.source.topic.code == _BUDGET_TOPIC
                else card
                for card in response.cards
            ]
            return response.model_copy(update={"cards": cards})

        return handle

    return [
        CdsService(service.descriptor, linked(service.handler)) if service.descriptor.id in BUDGET_SERVICES else service
        for service in services
    ]

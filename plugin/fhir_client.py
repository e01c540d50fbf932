"""Reading a patient's data from the EHR's FHIR server when the prefetch does not carry it.

Searches follow `next` links, but only ones under the same server base (a link elsewhere is never followed), never
the same page twice, and at most `page_cap` pages. Redirects are not followed: the allow-list vouches for the server
named in the request, not for wherever it points. The caller bounds the total time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec

from fhir_mappings.bundles import is_operation_outcome, opened

logger = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
_JSON_TEXT = msgspec.json.Decoder(msgspec.Raw)  # checks the text is JSON, keeps it as it is


class FhirUnavailable(Exception):
    """The server could not give us the data; the message is safe to show (no URLs with ids, no tokens)."""


@dataclass
class SearchResult:
    resources: list[Any] = field(default_factory=list)
    incomplete: str | None = None


class FhirClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        access_token: str | None,
        *,
        page_cap: int = 20,
        deadline: float | None = None,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {"Accept": FHIR_JSON}
        if access_token:
            self._headers["Authorization"] = f"Bearer {access_token}"
        self._page_cap = page_cap
        self._deadline = deadline

    def url_for(self, relative: str) -> str:
        return f"{self._base}/{relative.lstrip('/')}"

    def is_under_base(self, url: str) -> bool:
        link, base = urlsplit(url), urlsplit(self._base)
        return (
            link.scheme == base.scheme
            and link.netloc.lower() == base.netloc.lower()
            and (link.path.rstrip("/") + "/").startswith(base.path.rstrip("/") + "/")
        )

    async def read(self, relative: str) -> Any:
        return await self._get(self.url_for(relative))

    async def search(self, relative: str, result: SearchResult | None = None) -> SearchResult:
        url = self.url_for(relative)
        return await self.continue_search(await self._get(url), result, first_url=url)

    async def continue_search(
        self, bundle: Any, result: SearchResult | None = None, *, first_url: str | None = None
    ) -> SearchResult:
        """Entries of `bundle` and of every page after it, gathered into `result`, which keeps the pages read so far
        when a later page fails or the caller's budget runs out."""
        result = result or SearchResult()
        # A next link back to the first page (or to any page read) is a loop: its entries must not be counted twice.
        seen: set[str] = {first_url} if first_url else set()
        pages = 0
        while True:
            if is_operation_outcome(bundle):
                raise FhirUnavailable("the FHIR server answered with an OperationOutcome")
            if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
                raise FhirUnavailable("the FHIR server did not answer with a Bundle")
            entries = bundle.get("entry")
            if isinstance(entries, list):
                result.resources.extend(
                    entry.get("resource") if isinstance(entry, dict) else entry for entry in entries
                )
            pages += 1
            if (self_url := _link(bundle, "self")) is not None:
                seen.add(self_url)
            next_url = _link(bundle, "next")
            if next_url is None:
                return result
            if not self.is_under_base(next_url):
                result.incomplete = "a next page pointed outside the FHIR server and was not followed"
                return result
            if next_url in seen:
                result.incomplete = "the FHIR server's next links loop"
                return result
            if pages >= self._page_cap:
                result.incomplete = f"stopped after {self._page_cap} pages"
                return result
            seen.add(next_url)
            bundle = await self._get(next_url)

    async def _get(self, url: str) -> Any:
        for attempt in range(2):
            try:
                response = await self._http.get(url, headers=self._headers, follow_redirects=False)
            except httpx.TimeoutException:
                raise FhirUnavailable("the FHIR server timed out") from None
            except httpx.HTTPError as error:
                raise FhirUnavailable(f"could not reach the FHIR server ({type(error).__name__})") from None
            except (httpx.InvalidURL, ValueError):  # also UnicodeError, e.g. an IDNA host that cannot be encoded
                raise FhirUnavailable("fhirServer is not a usable URL") from None
            if response.status_code == 429 and attempt == 0:
                delay = _retry_after(response.headers)
                if delay is not None and self._has_time_for(delay):
                    await asyncio.sleep(delay)
                    continue
            if response.status_code != 200:
                raise FhirUnavailable(f"the FHIR server answered {response.status_code}")
            try:
                # Read like prefetch: a page's entry resources stay raw until a reader decodes what it needs.
                return opened(_JSON_TEXT.decode(response.content))
            except (msgspec.DecodeError, RecursionError):
                raise FhirUnavailable("the FHIR server's answer is not JSON") from None
        raise FhirUnavailable("the FHIR server kept answering 429")

    def _has_time_for(self, delay: float) -> bool:
        return self._deadline is None or time.monotonic() + delay < self._deadline


def _link(bundle: Mapping[str, Any], relation: str) -> str | None:
    links = bundle.get("link")
    if not isinstance(links, list):
        return None
    for link in links:
        if isinstance(link, dict) and link.get("relation") == relation and isinstance(link.get("url"), str):
            return str(link["url"])
    return None


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after", "").strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None

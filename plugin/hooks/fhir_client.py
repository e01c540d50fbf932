"""Reading a patient's data from the EHR's FHIR server when the prefetch does not carry it.

Searches follow `next` links, but only ones under the same server base, never the same page twice, and at most
`page_cap` pages. "Under the base" is decided on normalised URLs (scheme and host case, default ports, `.` and `..`
resolved) and a link whose path servers could read in different ways (encoded dots, `;` parameters on a dot segment,
encoded slashes, userinfo) is never requested, so the EHR's access token only goes where the allow-list vouched for.
Redirects are not followed for the same reason. Every answer is read as a stream and counted as it is inflated, per
response and per call, so a small compressed page cannot grow into gigabytes; the caller bounds the total time.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import zlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import msgspec

from fhir_mappings.bundles import is_operation_outcome, opened

logger = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
_JSON_TEXT = msgspec.json.Decoder(msgspec.Raw)  # checks the text is JSON, keeps it as it is
# Only what the client can inflate with a bound on the output; brotli and zstd are not offered.
_ACCEPT_ENCODING = "gzip, deflate"
_PRINTABLE_URL = re.compile(r"[!-~]+")
_DEFAULT_PORTS = {"http": 80, "https": 443}
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_CALL_BYTES = 32 * 1024 * 1024


class FhirUnavailable(Exception):
    """The server could not give us the data; the message is safe to show (no URLs with ids, no tokens)."""


@dataclass
class SearchResult:
    resources: list[Any] = field(default_factory=list)
    incomplete: str | None = None


@dataclass(frozen=True, slots=True)
class _Location:
    """A URL normalised for comparison (`origin`, decoded `segments`) and the same URL rebuilt from those parts, which
    is what gets requested, so the URL checked and the URL fetched cannot differ."""

    origin: tuple[str, str, int]
    segments: tuple[str, ...]
    url: str

    def is_under(self, base: _Location) -> bool:
        return self.origin == base.origin and self.segments[: len(base.segments)] == base.segments


def _located(url: str) -> _Location | None:
    """`url` normalised, or None when it is not plain http(s) or its path could mean different things to different
    servers (encoded or parameterised dot segments, encoded slashes, backslashes), or it carries userinfo."""
    if not _PRINTABLE_URL.fullmatch(url) or "\\" in url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in _DEFAULT_PORTS or not host or "@" in parts.netloc or parts.fragment:
        return None
    segments: list[str] = []
    for raw in parts.path.split("/"):
        if raw == ".":
            continue
        if raw == "..":
            if segments:
                segments.pop()
            continue
        decoded = unquote(raw)
        if decoded.partition(";")[0] in (".", "..") or "/" in decoded or "\\" in decoded:
            return None
        if raw:
            segments.append(raw)
    port = port or _DEFAULT_PORTS[scheme]
    netloc = f"[{host}]" if ":" in host else host
    if port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    rebuilt = f"{scheme}://{netloc}/{'/'.join(segments)}" + (f"?{parts.query}" if parts.query else "")
    return _Location((scheme, host, port), tuple(unquote(segment) for segment in segments), rebuilt)


class FhirClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        access_token: str | None,
        *,
        page_cap: int = 20,
        deadline: float | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_call_bytes: int = DEFAULT_MAX_CALL_BYTES,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._base_location = _located(self._base)
        self._headers = {"Accept": FHIR_JSON, "Accept-Encoding": _ACCEPT_ENCODING}
        if access_token:
            self._headers["Authorization"] = f"Bearer {access_token}"
        self._page_cap = page_cap
        self._deadline = deadline
        self._max_response_bytes = max_response_bytes
        # One client serves one hook call: what its concurrent searches read together is bounded too.
        self._call_bytes_left = max_call_bytes

    def url_for(self, relative: str) -> str:
        return f"{self._base}/{relative.lstrip('/')}"

    def followable(self, url: str) -> str | None:
        """The URL to request for a link, if it lies under the server base once normalised; None otherwise."""
        link = _located(url)
        if link is None or self._base_location is None or not link.is_under(self._base_location):
            return None
        return link.url

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
        seen: set[str] = {_comparable(first_url)} if first_url else set()
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
                seen.add(_comparable(self_url))
            link = _link(bundle, "next")
            if link is None:
                return result
            next_url = self.followable(link)
            if next_url is None:
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
            status, retry_after, body = await self._fetch(url)
            if status == 429 and attempt == 0 and retry_after is not None and self._has_time_for(retry_after):
                await asyncio.sleep(retry_after)
                continue
            if status != 200:
                raise FhirUnavailable(f"the FHIR server answered {status}")
            try:
                # Read like prefetch: a page's entry resources stay raw until a reader decodes what it needs.
                return opened(_JSON_TEXT.decode(body))
            except (msgspec.DecodeError, RecursionError):
                raise FhirUnavailable("the FHIR server's answer is not JSON") from None
        raise FhirUnavailable("the FHIR server kept answering 429")

    async def _fetch(self, url: str) -> tuple[int, float | None, bytes]:
        """The status, the Retry-After delay, and (for a 200) the body, inflated within the byte limits."""
        try:
            async with self._http.stream("GET", url, headers=self._headers, follow_redirects=False) as response:
                if response.status_code != 200:
                    return response.status_code, _retry_after(response.headers), b""
                return 200, None, await self._read_bounded(response)
        except httpx.TimeoutException:
            raise FhirUnavailable("the FHIR server timed out") from None
        except httpx.HTTPError as error:
            raise FhirUnavailable(f"could not reach the FHIR server ({type(error).__name__})") from None
        except (httpx.InvalidURL, ValueError):  # also UnicodeError, e.g. an IDNA host that cannot be encoded
            raise FhirUnavailable("fhirServer is not a usable URL") from None

    async def _read_bounded(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit():
            if int(declared) > self._max_response_bytes:
                raise _response_too_large(self._max_response_bytes)
            if int(declared) > self._call_bytes_left:
                raise _call_too_large()
        if response.is_stream_consumed:
            # A transport may hand back a response it has already read and decoded (an in-process mock does): its
            # bytes are in memory anyway, and are counted all the same.
            chunks: AsyncIterator[bytes] = _once(response.content)
            inflate = _inflater("identity")
        else:
            chunks = response.aiter_raw()
            inflate = _inflater(response.headers.get("content-encoding", ""))
        body = bytearray()
        received = counted = 0
        async for chunk in chunks:
            received += len(chunk)
            # Charged to the call as it arrives, so concurrent searches cannot each read a whole allowance at once.
            room = min(self._max_response_bytes - len(body), self._call_bytes_left + counted - len(body))
            body += inflate(chunk, room)
            size = max(received, len(body))
            self._call_bytes_left -= size - counted
            counted = size
            if size > self._max_response_bytes:
                raise _response_too_large(self._max_response_bytes)
            if self._call_bytes_left < 0:
                raise _call_too_large()
        return bytes(body)

    def _has_time_for(self, delay: float) -> bool:
        return self._deadline is None or time.monotonic() + delay < self._deadline


def _response_too_large(limit: int) -> FhirUnavailable:
    return FhirUnavailable(f"the FHIR server's answer is over the {limit}-byte limit")


def _call_too_large() -> FhirUnavailable:
    return FhirUnavailable("the FHIR server's answers to this call are over the service's byte limit")


async def _once(content: bytes) -> AsyncIterator[bytes]:
    yield content


def _comparable(url: str) -> str:
    location = _located(url)
    return location.url if location is not None else url


def _inflater(content_encoding: str) -> Callable[[bytes, int], bytes]:
    """A function (chunk, room) → the chunk's decoded bytes, at most room + 1 of them, so going over is seen without
    ever holding more: zlib's `max_length` keeps the rest of the input waiting instead of inflating it."""
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return lambda chunk, _room: chunk
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise FhirUnavailable("the FHIR server's answer has an encoding the service did not ask for")
    # 32 + MAX_WBITS reads a gzip or a zlib header, whichever comes.
    decoder = zlib.decompressobj(32 + zlib.MAX_WBITS)

    def inflate(chunk: bytes, room: int) -> bytes:
        out = bytearray()
        pending = chunk
        try:
            while pending and len(out) <= room:
                out += decoder.decompress(pending, room + 1 - len(out))
                pending = decoder.unconsumed_tail
        except zlib.error:
            raise FhirUnavailable("the FHIR server's compressed answer is corrupt") from None
        return bytes(out)

    return inflate


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

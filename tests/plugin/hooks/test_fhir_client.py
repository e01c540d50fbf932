"""The FHIR client and the prefetch-or-fetch logic, against respx-mocked FHIR servers."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from cds_hooks.errors import PrefetchUnavailable
from cds_hooks.models import HookRequest
from fhir_mappings.bundles import parsed
from plugin.hooks.fhir_client import FhirClient, FhirUnavailable
from plugin.hooks.patient_data import FetchSettings, gather
from plugin.hooks.record_data import DataKey
from plugin.sandbox.resources import procedure, searchset

BASE = "https://ehr.example.org/fhir"
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def page(resources: list[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
    bundle = searchset(resources)
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


def request(prefetch: dict[str, Any] | None = None, *, token: str | None = "secret-token") -> HookRequest:
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": "1",
        "fhirServer": BASE,
        "context": {"patientId": "p1"},
        "prefetch": prefetch or {},
    }
    if token:
        body["fhirAuthorization"] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "x",
            "subject": "cds",
        }
    return HookRequest.model_validate(body)


async def test_search_sends_the_access_token_and_follows_next_links() -> None:
    with respx.mock(assert_all_called=True) as mock:
        # respx matches params by inclusion, so the more specific page-2 route is registered first.
        second = mock.get(f"{BASE}/Procedure", params={"page": "2"}).respond(
            json=page([procedure("b", "62323", "2026-02-01")])
        )
        first = mock.get(f"{BASE}/Procedure", params={"patient": "p1"}).respond(
            json=page([procedure("a", "62323", "2026-01-01")], f"{BASE}/Procedure?patient=p1&page=2")
        )
        async with httpx.AsyncClient() as http:
            result = await FhirClient(http, BASE, "secret-token").search("Procedure?patient=p1")
        assert [parsed(r)["id"] for r in result.resources] == ["a", "b"]
        assert result.incomplete is None
        assert first.calls.last.request.headers["authorization"] == "Bearer secret-token"
        assert second.calls.last.request.headers["authorization"] == "Bearer secret-token"


async def test_next_link_to_another_host_is_never_followed() -> None:
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{BASE}/Procedure").respond(json=page([], "https://evil.example.com/fhir/Procedure?page=2"))
        evil = mock.get("https://evil.example.com/fhir/Procedure")
        async with httpx.AsyncClient() as http:
            result = await FhirClient(http, BASE, "t").search("Procedure?patient=p1")
        assert result.incomplete is not None
        assert not evil.called


async def test_paging_stops_at_the_page_cap() -> None:
    with respx.mock() as mock:
        mock.get(f"{BASE}/Procedure").mock(
            side_effect=lambda req: httpx.Response(200, json=page([], f"{BASE}/Procedure?page={len(mock.calls) + 1}"))
        )
        async with httpx.AsyncClient() as http:
            result = await FhirClient(http, BASE, None, page_cap=3).search("Procedure?patient=p1")
        assert len(mock.calls) == 3
        assert result.incomplete == "stopped after 3 pages"


async def test_server_error_is_reported_as_unavailable() -> None:
    with respx.mock() as mock:
        mock.get(f"{BASE}/Procedure").respond(500)
        async with httpx.AsyncClient() as http:
            with pytest.raises(FhirUnavailable, match="500"):
                await FhirClient(http, BASE, None).search("Procedure?patient=p1")


async def test_missing_keys_are_fetched_concurrently_within_one_round_trip() -> None:
    async def slow(req: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.2)
        return httpx.Response(200, json=page([]))

    with respx.mock() as mock:
        mock.get(url__startswith=BASE).mock(side_effect=slow)
        started = time.perf_counter()
        async with httpx.AsyncClient() as http:
            data = await gather(
                request(),
                required={DataKey.PROCEDURES},
                optional={DataKey.COVERAGE, DataKey.APPOINTMENTS, DataKey.CONDITIONS},
                http=http,
                settings=FetchSettings(budget_seconds=2),
            )
        elapsed = time.perf_counter() - started
        assert len(mock.calls) == 4  # respx forgets its calls when its context closes
    assert elapsed < 0.6  # four 0.2 s queries in parallel, not 0.8 s in sequence
    assert data.unavailable == {}


async def test_prefetched_keys_are_not_fetched() -> None:
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get(url__startswith=BASE).respond(json=page([]))
        async with httpx.AsyncClient() as http:
            await gather(
                request({"procedures": page([]), "coverage": None}),
                required={DataKey.PROCEDURES},
                optional={DataKey.COVERAGE},
                http=http,
                settings=FetchSettings(),
            )
        assert not route.called


async def test_a_hanging_server_gives_412_for_required_data_inside_the_budget() -> None:
    async def hang(req: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200, json=page([]))

    with respx.mock(assert_all_called=False) as mock:
        mock.get(url__startswith=BASE).mock(side_effect=hang)
        started = time.perf_counter()
        async with httpx.AsyncClient() as http:
            with pytest.raises(PrefetchUnavailable, match="time budget"):
                await gather(
                    request(),
                    required={DataKey.PROCEDURES},
                    optional={DataKey.COVERAGE},
                    http=http,
                    settings=FetchSettings(budget_seconds=0.3),
                )
        assert time.perf_counter() - started < 1.0


async def test_optional_data_that_fails_is_reported_not_raised() -> None:
    with respx.mock() as mock:
        mock.get(f"{BASE}/Procedure").respond(json=page([]))
        mock.get(f"{BASE}/Coverage").respond(503)
        async with httpx.AsyncClient() as http:
            data = await gather(
                request(),
                required={DataKey.PROCEDURES},
                optional={DataKey.COVERAGE},
                http=http,
                settings=FetchSettings(),
            )
    assert data.unavailable == {DataKey.COVERAGE: "the FHIR server answered 503"}
    assert data.values[DataKey.PROCEDURES] == []


async def test_prefetched_first_page_is_completed_from_the_server() -> None:
    with respx.mock() as mock:
        mock.get(f"{BASE}/Procedure", params={"page": "2"}).respond(json=page([procedure("b", "62323", "2026-02-01")]))
        first = page([procedure("a", "62323", "2026-01-01")], f"{BASE}/Procedure?patient=p1&page=2")
        async with httpx.AsyncClient() as http:
            data = await gather(
                request({"procedures": first}),
                required={DataKey.PROCEDURES},
                optional=(),
                http=http,
                settings=FetchSettings(),
            )
    assert [parsed(r)["id"] for r in data.values[DataKey.PROCEDURES]] == ["a", "b"]


class _Chunks(httpx.AsyncByteStream):
    """A body that arrives in pieces, with no Content-Length, as a chunked answer does."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


def _streamed(body: bytes, encoding: str | None = None, chunk: int = 64 * 1024) -> httpx.Response:
    headers = {"Content-Encoding": encoding} if encoding else {}
    return httpx.Response(
        200, headers=headers, stream=_Chunks([body[i : i + chunk] for i in range(0, len(body), chunk)])
    )


def _gzip_bomb(inflated: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return b"".join(compressor.compress(b" " * (1024 * 1024)) for _ in range(inflated // (1024 * 1024))) + (
        compressor.flush()
    )


@pytest.mark.parametrize(
    "link",
    [
        f"{BASE}/../admin/secret",
        f"{BASE}/Procedure/../../admin",
        f"{BASE}/%2e%2e/admin",
        f"{BASE}/%2E%2E/admin",
        f"{BASE}/..;/admin",
        f"{BASE}/.;x=1/../admin",
        f"{BASE}/..%2fadmin",
        f"{BASE}/..%5cadmin",
        "https://user:pass@ehr.example.org/fhir/Procedure?page=2",
        "https://ehr.example.org/fhirx/Procedure?page=2",
        "https://ehr.example.org:8443/fhir/Procedure?page=2",
        "http://ehr.example.org/fhir/Procedure?page=2",
        f"{BASE}/Procedure?page=2#x",
        f"{BASE}/Proc edure",
    ],
)
async def test_a_next_link_that_leaves_the_base_once_normalised_is_never_requested(link: str) -> None:
    with respx.mock(assert_all_called=False) as mock:
        first = mock.get(f"{BASE}/Procedure", params={"patient": "p1"}).respond(json=page([], link))
        anything_else = mock.route().respond(json=page([]))
        async with httpx.AsyncClient() as http:
            result = await FhirClient(http, BASE, "secret-token").search("Procedure?patient=p1")
        assert first.call_count == 1
        assert not anything_else.called
    assert result.incomplete == "a next page pointed outside the FHIR server and was not followed"


@pytest.mark.parametrize(
    "link",
    [
        "HTTPS://EHR.example.org:443/fhir/Procedure?page=2",
        f"{BASE}/./Procedure?page=2",
        f"{BASE}/Procedure/../Procedure?page=2",
        "https://ehr.example.org/%66hir/Procedure?page=2",
    ],
)
async def test_a_next_link_under_the_base_once_normalised_is_followed_as_normalised(link: str) -> None:
    with respx.mock() as mock:
        second = mock.get(f"{BASE}/Procedure", params={"page": "2"}).respond(json=page([]))
        mock.get(f"{BASE}/Procedure", params={"patient": "p1"}).respond(json=page([], link))
        async with httpx.AsyncClient() as http:
            result = await FhirClient(http, BASE, "secret-token").search("Procedure?patient=p1")
        assert second.call_count == 1
    assert result.incomplete is None


async def test_a_gzip_bomb_is_cut_off_at_the_byte_limit_having_inflated_no_more() -> None:
    bomb = _gzip_bomb(256 * 1024 * 1024)
    with respx.mock() as mock:
        mock.get(f"{BASE}/Procedure").mock(return_value=_streamed(bomb, "gzip"))
        async with httpx.AsyncClient() as http:
            client = FhirClient(http, BASE, None, max_response_bytes=1024 * 1024)
            with pytest.raises(FhirUnavailable, match="over the 1048576-byte limit"):
                await client.search("Procedure?patient=p1")


async def test_a_chunked_answer_without_a_length_is_cut_off_at_the_byte_limit() -> None:
    body = json.dumps(page([procedure(f"p{i}", "62323", "2026-01-01") for i in range(2000)])).encode()
    with respx.mock() as mock:
        mock.get(f"{BASE}/Procedure").mock(return_value=_streamed(body))
        async with httpx.AsyncClient() as http:
            client = FhirClient(http, BASE, None, max_response_bytes=len(body) - 1)
            with pytest.raises(FhirUnavailable, match="byte limit"):
                await client.search("Procedure?patient=p1")


async def test_a_compressed_answer_within_the_limit_is_read() -> None:
    body = json.dumps(page([procedure("a", "62323", "2026-01-01")])).encode()
    with respx.mock() as mock:
        mock.get(f"{BASE}/Procedure").mock(return_value=_streamed(gzip.compress(body), "gzip", chunk=7))
        async with httpx.AsyncClient() as http:
            result = await FhirClient(http, BASE, None, max_response_bytes=len(body)).search("Procedure?patient=p1")
    assert [parsed(r)["id"] for r in result.resources] == ["a"]


async def test_the_answers_of_one_call_share_one_byte_limit() -> None:
    body = json.dumps(page([procedure(f"p{i}", "62323", "2026-01-01") for i in range(50)])).encode()
    with respx.mock() as mock:
        mock.get(url__startswith=BASE).mock(side_effect=lambda request: _streamed(body))
        async with httpx.AsyncClient() as http:
            client = FhirClient(http, BASE, None, max_response_bytes=len(body), max_call_bytes=len(body) * 2)
            await client.search("Procedure?patient=p1")
            await client.search("Condition?patient=p1")
            with pytest.raises(FhirUnavailable, match="answers to this call"):
                await client.search("ImagingStudy?patient=p1")

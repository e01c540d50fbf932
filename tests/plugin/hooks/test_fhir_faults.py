"""FHIR server faults, injected with respx behind the whole app: the right status, inside the budget, no leaked task.

Required data (procedures) that cannot be had is a 412 with an OperationOutcome; optional data (conditions, coverage)
that cannot be had is a 200 whose `data-incomplete` card says what was skipped. Either way the answer comes inside
the configured time budget, and no fetch task outlives the request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from bench.processes import free_port
from cds_hooks.models import HookRequest
from fhir_mappings.bundles import parsed
from plugin.hooks.patient_data import FetchSettings, gather
from plugin.hooks.record_data import DataKey, PatientData
from plugin.sandbox.resources import condition, coverage, order_sign, procedure, searchset, service_request
from plugin.serving.app import create_app
from plugin.serving.settings import Settings
from tests.conftest import TODAY

BASE = "http://fhir.test/fhir"
BUDGET = 0.5
# Generous: the budget plus time to read the data and render cards on a loaded 2-core CI machine.
ANSWER_BOUND = 3 * BUDGET
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Answer:
    status: int
    body: Any
    elapsed: float

    def rule_ids(self) -> list[str]:
        return [card["source"]["topic"]["code"] for card in self.body["cards"]]

    def incomplete_detail(self) -> str:
        details = [
            card["detail"] for card in self.body["cards"] if card["source"]["topic"]["code"] == "data-incomplete"
        ]
        assert len(details) == 1, self.body
        detail: str = details[0]
        return detail


def _request(fetched: DataKey, *, prefetch_overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """An order-sign request for a correct 62323 order whose `fetched` key is left to the FHIR server."""
    order = service_request(
        "order-1",
        "62323",
        "Lumbar interlaminar epidural steroid injection L4-L5 with fluoroscopy",
        occurrence="2026-12-01",
        reasons=[("M51.16", "Intervertebral disc disorders with radiculopathy, lumbar region")],
    )
    document = order_sign(
        order,
        procedures=[procedure("pr-1", "62323", "2026-03-10T09:00:00Z")],
        conditions=[condition("c-1", "M51.16", "Intervertebral disc disorders with radiculopathy, lumbar region")],
        coverages=[coverage("cov-1", payor="Acme Health")],
    )
    document["fhirServer"] = BASE
    document["fhirAuthorization"] = {"access_token": "token-xyz", "token_type": "Bearer", "expires_in": 300}
    del document["prefetch"][fetched.value]
    document["prefetch"].update(prefetch_overrides or {})
    return document


@pytest.fixture(autouse=True)
def _feedback_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the apps below keep their (unused) feedback store in the test's own directory


def _settings(budget: float = BUDGET, page_cap: int = 20) -> Settings:
    return Settings(feedback_db="sqlite:///feedback.db", fhir_budget_seconds=budget, fhir_page_cap=page_cap)


async def _call(
    document: dict[str, Any], router: respx.Router, *, budget: float = BUDGET, page_cap: int = 20
) -> Answer:
    """POSTs `document` to the app, whose FHIR client goes through `router`; checks that no task is left behind."""
    app = create_app(
        _settings(budget, page_cap),
        auth=False,
        today=lambda: TODAY,
        transport=httpx.MockTransport(router.async_handler),
    )
    before = asyncio.all_tasks()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://cds.test") as client,
    ):
        started = time.monotonic()
        response = await client.post("/cds-services/epidural-order-sign", json=document)
        elapsed = time.monotonic() - started
    await asyncio.sleep(0)  # let cancelled tasks finish unwinding before they are counted
    leaked = asyncio.all_tasks() - before
    assert not leaked, f"tasks outlived the request: {leaked}"
    return Answer(response.status_code, response.json(), elapsed)


async def _gather(document: dict[str, Any], router: respx.Router, budget: float = BUDGET) -> PatientData:
    """The patient data of order-sign for `document`, fetched through `router`; checks no task is left behind."""
    before = asyncio.all_tasks()
    async with httpx.AsyncClient(transport=httpx.MockTransport(router.async_handler)) as http:
        data = await gather(
            HookRequest.model_validate(document),
            required={DataKey.PROCEDURES},
            optional={DataKey.CONDITIONS, DataKey.IMAGING_STUDIES, DataKey.COVERAGE, DataKey.APPOINTMENTS},
            http=http,
            settings=FetchSettings(budget_seconds=budget),
        )
    assert asyncio.all_tasks() == before
    return data


def _router() -> respx.Router:
    return respx.Router(assert_all_called=False, assert_all_mocked=True)


async def _hang(request: httpx.Request) -> httpx.Response:
    await asyncio.sleep(30)
    return httpx.Response(200, json=searchset([]))


class _CutShort(httpx.AsyncByteStream):
    """A body that stops half-way, as when the server's connection drops mid-response."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {"resourceType": "Pro'
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


def _respond(status: int, **kwargs: Any) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, **kwargs)


OPERATION_OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "exception"}]}
FAULTS: dict[str, Any] = {
    "connection refused": httpx.ConnectError("[Errno 111] Connection refused"),
    "DNS failure": httpx.ConnectError("[Errno -2] Name or service not known"),
    "connect timeout": httpx.ConnectTimeout("timed out"),
    "read timeout": httpx.ReadTimeout("timed out"),
    "no answer within the budget": _hang,
    "401": _respond(401, json=OPERATION_OUTCOME),
    "403": _respond(403, json=OPERATION_OUTCOME),
    "404": _respond(404, json=OPERATION_OUTCOME),
    "429 without Retry-After": _respond(429),
    "429 with an HTTP-date Retry-After": _respond(429, headers={"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}),
    "500": _respond(500, text="Internal Server Error"),
    "503": _respond(503, headers={"Retry-After": "120"}),
    "redirect": _respond(302, headers={"Location": "http://elsewhere.test/fhir/Condition"}),
    "connection dropped mid-body": _respond(200, stream=_CutShort()),
    "truncated JSON": _respond(200, text='{"resourceType": "Bundle", "entry": [{"resource": '),
    "HTML instead of JSON": _respond(200, text="<html><body>Gateway</body></html>"),
    "empty body": _respond(200, content=b""),
    "an OperationOutcome instead of a Bundle": _respond(200, json=OPERATION_OUTCOME),
    "a Patient instead of a Bundle": _respond(200, json={"resourceType": "Patient", "id": "p1"}),
    "a JSON array": _respond(200, json=[1, 2, 3]),
}


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_fault_fetching_required_procedures_is_a_412_inside_the_budget(fault: str) -> None:
    router = _router()
    router.get(f"{BASE}/Procedure").mock(side_effect=FAULTS[fault])

    answer = await _call(_request(DataKey.PROCEDURES), router)

    assert answer.status == 412
    assert answer.body["resourceType"] == "OperationOutcome"
    assert "procedures" in answer.body["issue"][0]["diagnostics"]
    assert answer.elapsed < ANSWER_BOUND


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_fault_fetching_optional_conditions_is_a_data_incomplete_card_inside_the_budget(fault: str) -> None:
    router = _router()
    router.get(f"{BASE}/Condition").mock(side_effect=FAULTS[fault])

    answer = await _call(_request(DataKey.CONDITIONS), router)

    assert answer.status == 200
    assert "Diagnoses could not be read" in answer.incomplete_detail()
    assert answer.elapsed < ANSWER_BOUND


@pytest.mark.parametrize("fault", ["connection refused", "500", "HTML instead of JSON", "no answer within the budget"])
async def test_a_fault_fetching_coverage_falls_back_to_the_default_policy_and_says_so(fault: str) -> None:
    router = _router()
    router.get(f"{BASE}/Coverage").mock(side_effect=FAULTS[fault])

    answer = await _call(_request(DataKey.COVERAGE), router)

    assert answer.status == 200
    assert "Insurance coverage could not be read" in answer.incomplete_detail()
    assert answer.elapsed < ANSWER_BOUND


async def test_a_short_retry_after_is_waited_for_once_and_the_retry_succeeds() -> None:
    router = _router()
    route = router.get(f"{BASE}/Procedure").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "0.1"}),
            httpx.Response(200, json=searchset([procedure("pr-1", "62323", "2026-03-10")])),
        ]
    )

    answer = await _call(_request(DataKey.PROCEDURES), router)

    assert answer.status == 200
    assert route.call_count == 2
    assert "data-incomplete" not in answer.rule_ids()
    assert answer.elapsed < ANSWER_BOUND


async def test_a_second_429_is_not_retried_again() -> None:
    router = _router()
    route = router.get(f"{BASE}/Procedure").mock(side_effect=_respond(429, headers={"Retry-After": "0.05"}))

    answer = await _call(_request(DataKey.PROCEDURES), router)

    assert answer.status == 412
    assert route.call_count == 2
    assert "429" in answer.body["issue"][0]["diagnostics"]


async def test_a_retry_after_longer_than_the_remaining_budget_is_not_waited_for() -> None:
    router = _router()
    route = router.get(f"{BASE}/Condition").mock(side_effect=_respond(429, headers={"Retry-After": "5"}))

    answer = await _call(_request(DataKey.CONDITIONS), router)

    assert answer.status == 200
    assert route.call_count == 1
    assert "429" in answer.incomplete_detail()
    assert answer.elapsed < BUDGET


async def test_a_next_link_loop_keeps_what_was_read_and_says_the_history_may_be_incomplete() -> None:
    router = _router()
    first = f"{BASE}/Procedure?patient=p1&_count=100"
    second = f"{BASE}/Procedure?page=2"
    looping = {"link": [{"relation": "next", "url": second}]}
    route_2 = router.get(second).respond(json={**searchset([procedure("pr-2", "62323", "2026-05-01")]), **looping})
    route_1 = router.get(first).respond(json={**searchset([procedure("pr-1", "62323", "2026-03-10")]), **looping})

    answer = await _call(_request(DataKey.PROCEDURES), router)

    assert answer.status == 200
    assert route_1.call_count == 1
    assert route_2.call_count == 1
    assert "loop" in answer.incomplete_detail()
    assert answer.elapsed < ANSWER_BOUND


async def test_a_next_link_back_to_the_first_page_counts_no_entry_twice() -> None:
    router = _router()
    first = f"{BASE}/Procedure?patient=p1&_count=100"
    second = f"{BASE}/Procedure?page=2"
    router.get(second).respond(
        json={**searchset([procedure("pr-2", "62323", "2026-05-01")]), "link": [{"relation": "next", "url": first}]}
    )
    route_1 = router.get(first).respond(
        json={**searchset([procedure("pr-1", "62323", "2026-03-10")]), "link": [{"relation": "next", "url": second}]}
    )

    data = await _gather(_request(DataKey.PROCEDURES), router)

    assert [parsed(resource)["id"] for resource in data.values[DataKey.PROCEDURES]] == ["pr-1", "pr-2"]
    assert route_1.call_count == 1
    assert "loop" in data.incomplete[DataKey.PROCEDURES]


@pytest.mark.parametrize("fault", ["connection refused", "500", "no answer within the budget", "truncated JSON"])
async def test_pages_read_before_a_later_page_fails_are_kept_and_reported_incomplete(fault: str) -> None:
    router = _router()
    router.get(f"{BASE}/Procedure", params={"page": "2"}).mock(side_effect=FAULTS[fault])
    router.get(f"{BASE}/Procedure").respond(
        json={
            **searchset([procedure("pr-1", "62323", "2026-03-10")]),
            "link": [{"relation": "next", "url": f"{BASE}/Procedure?patient=p1&page=2"}],
        }
    )

    answer = await _call(_request(DataKey.PROCEDURES), router)

    assert answer.status == 200
    assert "Procedure history may be incomplete (later pages:" in answer.incomplete_detail()
    assert answer.elapsed < ANSWER_BOUND


async def test_a_next_link_to_another_host_is_never_requested() -> None:
    router = _router()
    elsewhere = router.get(url__startswith="http://elsewhere.test/").respond(json=searchset([]))
    router.get(f"{BASE}/Procedure").respond(
        json={
            **searchset([procedure("pr-1", "62323", "2026-03-10")]),
            "link": [{"relation": "next", "url": "http://elsewhere.test/fhir/Procedure?page=2"}],
        }
    )

    answer = await _call(_request(DataKey.PROCEDURES), router)

    assert answer.status == 200
    assert not elsewhere.called
    assert "outside the FHIR server" in answer.incomplete_detail()


async def test_endless_distinct_pages_stop_at_the_page_cap() -> None:
    router = _router()

    def next_page(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params.get("page", "1")) + 1
        return httpx.Response(
            200, json={**searchset([]), "link": [{"relation": "next", "url": f"{BASE}/Procedure?page={number}"}]}
        )

    route = router.get(f"{BASE}/Procedure").mock(side_effect=next_page)

    answer = await _call(_request(DataKey.PROCEDURES), router, page_cap=5)

    assert answer.status == 200
    assert route.call_count == 5
    assert "stopped after 5 pages" in answer.incomplete_detail()


async def test_a_ten_thousand_entry_page_is_read_inside_the_budget() -> None:
    history = [procedure(f"pr-{n}", "99213", "2020-01-01", text="Office visit") for n in range(10_000)]
    router = _router()
    router.get(f"{BASE}/Procedure").respond(json=searchset(history))

    answer = await _call(_request(DataKey.PROCEDURES), router, budget=4.0)

    assert answer.status == 200
    assert "data-incomplete" not in answer.rule_ids()
    assert answer.elapsed < 4.0


async def test_a_failing_later_page_of_a_prefetched_bundle_keeps_the_first_page() -> None:
    router = _router()
    router.get(f"{BASE}/Procedure").mock(side_effect=httpx.ConnectError("[Errno 111] Connection refused"))
    first_page = {
        **searchset([procedure("pr-1", "62323", "2026-03-10")]),
        "link": [{"relation": "next", "url": f"{BASE}/Procedure?page=2"}],
    }

    answer = await _call(_request(DataKey.PROCEDURES, prefetch_overrides={"procedures": first_page}), router)

    assert answer.status == 200
    assert "Procedure history may be incomplete" in answer.incomplete_detail()


async def test_the_access_token_is_sent_as_a_bearer_token() -> None:
    router = _router()
    route = router.get(f"{BASE}/Condition").respond(json=searchset([]))

    await _call(_request(DataKey.CONDITIONS), router)

    assert route.calls.last.request.headers["authorization"] == "Bearer token-xyz"


async def test_a_real_closed_port_is_a_412_inside_the_budget() -> None:
    closed_port = free_port()
    document = {**_request(DataKey.PROCEDURES), "fhirServer": f"http://127.0.0.1:{closed_port}/fhir"}
    app = create_app(_settings(), auth=False, today=lambda: TODAY)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://cds.test") as client,
    ):
        started = time.monotonic()
        response = await client.post("/cds-services/epidural-order-sign", json=document)
        elapsed = time.monotonic() - started

    assert response.status_code == 412
    assert elapsed < ANSWER_BOUND


async def test_a_real_server_that_never_answers_is_cut_off_at_the_budget() -> None:
    released = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await released.wait()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    document = {**_request(DataKey.CONDITIONS), "fhirServer": f"http://127.0.0.1:{port}/fhir"}
    app = create_app(_settings(), auth=False, today=lambda: TODAY)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://cds.test") as client,
        ):
            started = time.monotonic()
            response = await client.post("/cds-services/epidural-order-sign", json=document)
            elapsed = time.monotonic() - started
    finally:
        released.set()
        server.close()
        await server.wait_closed()

    assert response.status_code == 200
    assert "did not answer within the time budget" in response.text
    assert elapsed < ANSWER_BOUND


# Prefetch semantics: absent → fetched; null → no data, not fetched; an OperationOutcome → the EHR's fetch failed.


async def test_a_null_prefetch_means_no_data_and_is_not_fetched() -> None:
    router = _router()
    route = router.get(url__startswith=BASE).respond(json=searchset([]))

    answer = await _call(_request(DataKey.CONDITIONS, prefetch_overrides={"conditions": None}), router)

    assert answer.status == 200
    assert not route.called
    assert "diagnosis-missing" not in answer.rule_ids()  # the order's own reason code stands
    assert "data-incomplete" not in answer.rule_ids()


async def test_an_absent_prefetch_key_is_fetched() -> None:
    router = _router()
    route = router.get(f"{BASE}/Condition").respond(json=searchset([]))

    answer = await _call(_request(DataKey.CONDITIONS), router)

    assert answer.status == 200
    assert route.call_count == 1
    assert route.calls.last.request.url.params["patient"] == "p1"


async def test_an_operation_outcome_prefetch_is_fetched_again_from_the_fhir_server() -> None:
    router = _router()
    route = router.get(f"{BASE}/Procedure").respond(json=searchset([]))

    answer = await _call(_request(DataKey.PROCEDURES, prefetch_overrides={"procedures": OPERATION_OUTCOME}), router)

    assert answer.status == 200
    assert route.call_count == 1


async def test_an_operation_outcome_prefetch_without_a_fhir_server_is_a_412_for_procedures() -> None:
    document = _request(DataKey.PROCEDURES, prefetch_overrides={"procedures": OPERATION_OUTCOME})
    del document["fhirServer"]

    answer = await _call(document, _router())

    assert answer.status == 412
    assert answer.body["resourceType"] == "OperationOutcome"


async def test_an_operation_outcome_prefetch_without_a_fhir_server_is_noted_for_conditions() -> None:
    document = _request(DataKey.CONDITIONS, prefetch_overrides={"conditions": OPERATION_OUTCOME})
    del document["fhirServer"]

    answer = await _call(document, _router())

    assert answer.status == 200
    assert "Diagnoses could not be read" in answer.incomplete_detail()


async def test_an_absent_key_without_a_fhir_server_is_a_412_for_procedures() -> None:
    document = _request(DataKey.PROCEDURES)
    del document["fhirServer"]

    answer = await _call(document, _router())

    assert answer.status == 412


async def test_a_fhir_server_url_that_cannot_be_requested_is_reported_not_raised() -> None:
    # A URL that parses but whose host cannot be encoded for a request (no valid IDNA label); unparseable ones are
    # a 400 at the edge (tests/cds_hooks/test_endpoints.py).
    for unusable in ("http://xn--.test/fhir",):
        document = {**_request(DataKey.CONDITIONS), "fhirServer": unusable}

        answer = await _call(document, _router())

        assert answer.status == 200
        assert "Diagnoses could not be read (fhirServer is not a usable URL)" in answer.incomplete_detail()


async def test_gather_cancels_and_awaits_every_fetch_still_running_at_the_budget() -> None:
    router = _router()
    router.get(url__startswith=BASE).mock(side_effect=_hang)
    document = _request(DataKey.CONDITIONS)
    for key in ("imagingStudies", "coverage", "appointments"):
        del document["prefetch"][key]

    data = await _gather(document, router, budget=0.2)

    assert set(data.unavailable) == {
        DataKey.CONDITIONS,
        DataKey.IMAGING_STUDIES,
        DataKey.COVERAGE,
        DataKey.APPOINTMENTS,
    }

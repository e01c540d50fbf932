"""Every endpoint of the app's OpenAPI schema, fuzzed in-process by schemathesis with JWT checks on (the fuzzer signs
a fresh valid token for each call, as a trusted EHR would), plus the inputs an outside attack found (integers beyond
64 bits, invalid UTF-8, unparseable fhirServer values, deep nesting, NUL characters and oversized feedback) mixed into
valid requests, and requests nested absurdly deep.

Whatever a client sends: never a 5xx, and every error is a FHIR OperationOutcome, except the bare 401.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt.algorithms import ECAlgorithm
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection
from schemathesis.specs.openapi.schemas import OpenApiSchema

from plugin.hooks.services import SERVICES
from plugin.sandbox.resources import order_sign, service_request
from plugin.serving.app import create_app
from plugin.serving.settings import Settings, TrustedClientSettings
from tests.conftest import TODAY

EXAMPLE = json.loads((Path(__file__).resolve().parents[2] / "examples" / "order-sign.json").read_text("utf-8"))
ISSUER = "https://ehr.example.org"
PUBLIC_BASE = "https://cds.example.org"
ALLOWED_FHIR = "https://ehr.example.org/fhir"
SIGNING_KEY = ec.generate_private_key(ec.SECP384R1())


def signed(path: str, **claims: Any) -> dict[str, str]:
    """The Authorization header of a trusted EHR calling `path`: a token used once."""
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": PUBLIC_BASE + path,
        "exp": now + 300,
        "iat": now,
        "jti": str(uuid.uuid4()),
        **claims,
    }
    token = jwt.encode(payload, SIGNING_KEY, algorithm="ES384", headers={"kid": "k1", "typ": "JWT"})
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    """A fresh app per test, JWT checks on: the schemathesis plugin ends the app's lifespan after each test."""
    jwk = {**ECAlgorithm.to_jwk(SIGNING_KEY.public_key(), as_dict=True), "kid": "k1", "use": "sig"}
    settings = Settings(
        public_base_url=PUBLIC_BASE,
        feedback_db=f"sqlite:///{tmp_path / 'feedback.db'}",
        trusted_clients=[TrustedClientSettings(issuer=ISSUER, jwks={"keys": [jwk]}, fhir_servers=[ALLOWED_FHIR])],
    )
    # Generated requests name arbitrary fhirServer URLs: every fetch is answered here, none leaves the process.
    no_network = httpx.MockTransport(lambda request: httpx.Response(503))
    return create_app(settings, today=lambda: TODAY, transport=no_network)


@pytest.fixture
def api_schema(app: FastAPI) -> OpenApiSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def errors_are_operation_outcomes(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Non-2xx answers carry an OperationOutcome; a 401 carries nothing."""
    if response.status_code < 400:
        return None
    if response.status_code == 401:
        assert not response.content, "a 401 must be bare"
        return None
    body = json.loads(response.content)
    assert body.get("resourceType") == "OperationOutcome", f"{response.status_code} without an OperationOutcome"
    assert body["issue"], "an OperationOutcome with no issue"
    return None


CHECKS = [not_a_server_error, negative_data_rejection, errors_are_operation_outcomes]
OPERATIONS = [
    ("GET", "/cds-services"),
    ("POST", "/cds-services/{service_id}"),
    ("POST", "/cds-services/{service_id}/feedback"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
]


def test_every_operation_of_the_schema_is_fuzzed(api_schema: OpenApiSchema) -> None:
    listed = {(operation.ok().method.upper(), operation.ok().path) for operation in api_schema.get_all_operations()}

    assert listed == set(OPERATIONS)


def _addressed_to(case: Case, hook: str) -> Case:
    if isinstance(case.body, dict) and "feedback" not in case.body:
        case.body["hook"] = hook
        if isinstance(case.body.get("context"), dict):
            case.body["context"].setdefault("patientId", "p1")
        if isinstance(case.body.get("prefetch"), dict):
            case.body["prefetch"] = {**EXAMPLE["prefetch"], **case.body["prefetch"]}
        if "fhirServer" in case.body:
            # A generated URL is off the client's allow-list (a 403 before anything is read): the fetch path is
            # fuzzed through the one it may name.
            case.body["fhirServer"] = ALLOWED_FHIR
    return case


# Operations without parameters or a body have no invalid request to generate.
RUNS = [(method, path, GenerationMode.POSITIVE) for method, path in OPERATIONS] + [
    (method, path, GenerationMode.NEGATIVE) for method, path in OPERATIONS if method == "POST"
]


@pytest.mark.parametrize(("method", "path", "mode"), RUNS)
def test_no_request_gets_a_server_error_or_a_bare_error(
    api_schema: OpenApiSchema, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]
    cases = operation.as_strategy(mode)
    if "{service_id}" in path:
        # Half the cases name a real service (and, when valid, its hook and a patient), so bodies get past the 404
        # into parsing and evaluation. Invalid cases are left as generated: fixing them up could make them valid.
        named = st.sampled_from(SERVICES).flatmap(
            lambda service: operation.as_strategy(mode, path_parameters={"service_id": service.id}).map(
                lambda case: _addressed_to(case, service.hook) if mode is GenerationMode.POSITIVE else case
            )
        )
        cases = cases | named

    statuses: set[int] = set()

    @settings(max_examples=100)
    @given(cases)
    def call(case: Case) -> None:
        statuses.add(case.call_and_validate(checks=CHECKS, headers=signed(case.formatted_path)).status_code)

    call()
    assert statuses - {401}, "every call was refused: the fuzzing never got past authentication"


@pytest.fixture
def guarded_schema(tmp_path: Path) -> OpenApiSchema:
    """The app with JWT checks on, trusting a client whose private key the fuzzer does not have."""
    public_key = ec.generate_private_key(ec.SECP384R1()).public_key()
    client = TrustedClientSettings(
        issuer="https://ehr.example.org", jwks={"keys": [json.loads(ECAlgorithm.to_jwk(public_key))]}
    )
    settings = Settings(feedback_db=f"sqlite:///{tmp_path / 'feedback.db'}", trusted_clients=[client])
    no_network = httpx.MockTransport(lambda request: httpx.Response(503))
    return schemathesis.openapi.from_asgi(
        "/openapi.json", create_app(settings, today=lambda: TODAY, transport=no_network)
    )


AUTHORIZATIONS = [
    {},
    {"Authorization": "Bearer not-a-jwt"},
    {"Authorization": "Bearer e30.e30.c2ln"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
]


@pytest.mark.parametrize(("method", "path"), OPERATIONS[:3])
def test_without_a_valid_jwt_every_cds_hooks_call_is_a_bare_401(
    guarded_schema: OpenApiSchema, method: str, path: str
) -> None:
    operation = guarded_schema[path][method]
    services = st.sampled_from([{"service_id": service.id} for service in SERVICES] if "{" in path else [{}])
    cases = st.tuples(services, st.sampled_from(AUTHORIZATIONS)).flatmap(
        lambda chosen: operation.as_strategy(path_parameters=chosen[0] or None, headers=chosen[1] or None)
    )

    @settings(max_examples=25)
    @given(cases)
    def call(case: Case) -> None:
        response = case.call()
        assert response.status_code == 401
        assert not response.content

    call()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _post(client: TestClient, document: dict[str, Any]) -> Any:
    # json.dumps recurses, so deep documents are assembled as text around a placeholder.
    depth = document.pop("_depth")
    placeholder = '"__deep__"'
    body = json.dumps(document).replace(placeholder, "[" * depth + "{}" + "]" * depth)
    path = "/cds-services/epidural-order-sign"
    return client.post(path, content=body, headers={"content-type": "application/json", **signed(path)})


# --- what an outside attack sent, mixed into valid requests ----------------------------------------------------------

Mutation = Callable[[bytes], bytes]
BEYOND_64_BITS = str(2**64 + 12345).encode()
DEEP_RESOURCE_TYPE = b'{"a": ' * 1000 + b'"Procedure"' + b"}" * 1000


def _replace_first(old: bytes, new: bytes) -> Mutation:
    return lambda body: body.replace(old, new, 1)


def _top_level(field: str, value: str) -> Mutation:
    return lambda body: body[:-1] + f", {json.dumps(field)}: {value}}}".encode()


HOOK_MUTATIONS: dict[str, Mutation] = {
    "integer beyond 64 bits in a draft order": _replace_first(
        b'"status": "draft"', b'"status": "draft", "priority_rank": ' + BEYOND_64_BITS
    ),
    "decimal beyond 64 bits in a draft order": _replace_first(
        b'"status": "draft"', b'"status": "draft", "extension": [{"url": "u", "valueDecimal": ' + BEYOND_64_BITS + b"}]"
    ),
    "invalid UTF-8 in a prefetched resource": _replace_first(b'"status": "completed"', b'"status": "compl\xe9ted"'),
    "lone surrogate escape": _replace_first(b'"status": "completed"', b'"status": "\\ud800"'),
    "NUL in a prefetched resource": _replace_first(b'"status": "completed"', b'"status": "comp\\u0000leted"'),
    "resourceType nested 1,000 deep": _replace_first(
        b'"resourceType": "Procedure"', b'"resourceType": ' + DEEP_RESOURCE_TYPE
    ),
    "unclosed IPv6 fhirServer": _top_level("fhirServer", '"http://[::1/fhir"'),
    "fhirServer port out of range": _top_level("fhirServer", '"https://ehr.example.org:99999/fhir"'),
    "fhirServer with a control character": _top_level("fhirServer", '"https://ehr.example.org/fh\\u0007ir"'),
    "fhirServer climbing out of the allowed base": _top_level(
        "fhirServer", '"https://ehr.example.org/fhir/%2e%2e/admin"'
    ),
    "fhirServer with userinfo": _top_level("fhirServer", '"https://a@ehr.example.org/fhir"'),
    "procedures left to fetch": _replace_first(b'"procedures":', b'"procedures-not":'),
    "NUL in hookInstance": _top_level("hookInstance", '"a\\u0000b"'),
    "a megabyte of text in a resource": _replace_first(
        b'"status": "completed"', b'"status": "completed", "note": [{"text": "' + b"x" * 1_000_000 + b'"}]'
    ),
}


def _feedback_item(**changes: Any) -> dict[str, Any]:
    return {
        "card": str(uuid.uuid4()),
        "outcome": "overridden",
        "outcomeTimestamp": "2026-11-27T10:00:00Z",
        "overrideReason": {"reason": {"code": "x"}, "userComment": "c"},
        **changes,
    }


FEEDBACK_BODIES: dict[str, Any] = {
    "NUL in a comment": [_feedback_item(overrideReason={"userComment": "a\u0000b"})],
    "8,000-character card id": [_feedback_item(card="c" * 8000)],
    "NUL in a card id": [_feedback_item(card="c\u0000")],
    "101 items": [_feedback_item() for _ in range(101)],
    "300 KB of comments": [_feedback_item(overrideReason={"userComment": "x" * 9000}) for _ in range(34)],
    "integer beyond 64 bits as a timestamp": [_feedback_item(outcomeTimestamp=2**70)],
}
TOKEN_CLAIMS: dict[str, dict[str, Any]] = {
    "fresh token": {},
    "NUL in jti": {"jti": "a\u0000b"},
    "8,000-character jti": {"jti": "j" * 8000},
    "integer beyond 64 bits as exp": {"exp": 2**70},
}


def _example_for(hook: str) -> bytes:
    document = {**EXAMPLE, "hook": hook, "hookInstance": str(uuid.uuid4())}
    return json.dumps(document).encode()


def _answered_properly(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code == 401:
        assert not response.content
    elif response.status_code >= 400:
        assert response.headers["content-type"] == "application/json"
        assert response.json()["resourceType"] == "OperationOutcome"


def test_hook_calls_carrying_what_an_attack_sent_are_answered_without_a_server_error(client: TestClient) -> None:
    cases = st.tuples(
        st.sampled_from(SERVICES),
        st.lists(st.sampled_from(sorted(HOOK_MUTATIONS)), min_size=1, max_size=3, unique=True),
        st.sampled_from(sorted(TOKEN_CLAIMS)),
    )

    @settings(max_examples=120)
    @given(cases)
    def call(case: tuple[Any, list[str], str]) -> None:
        service, mutations, claims = case
        body = _example_for(service.hook)
        for name in mutations:
            body = HOOK_MUTATIONS[name](body)
        path = f"/cds-services/{service.id}"
        headers = {"content-type": "application/json", **signed(path, **TOKEN_CLAIMS[claims])}
        response = client.post(path, content=body, headers=headers)
        _answered_properly(response)
        statuses.add(response.status_code)

    statuses: set[int] = set()
    call()
    assert {200, 400, 401} <= statuses


@pytest.mark.parametrize("name", sorted(FEEDBACK_BODIES))
def test_feedback_carrying_what_an_attack_sent_is_refused_with_an_operation_outcome(
    client: TestClient, name: str
) -> None:
    path = "/cds-services/epidural-order-sign/feedback"
    response = client.post(path, json={"feedback": FEEDBACK_BODIES[name]}, headers=signed(path))

    _answered_properly(response)
    assert response.status_code in (400, 413)


@pytest.mark.parametrize("depth", [300, 1_000])
def test_a_prefetch_nested_deeper_than_python_recursion_is_answered(client: TestClient, depth: int) -> None:
    document = {**EXAMPLE, "prefetch": {**EXAMPLE["prefetch"], "conditions": "__deep__"}, "_depth": depth}

    response = _post(client, document)

    assert response.status_code == 200
    assert "data-incomplete" in response.text


@pytest.mark.parametrize("depth", [300, 1_000])
def test_a_draft_order_nested_too_deep_to_echo_is_a_400(client: TestClient, depth: int) -> None:
    order = service_request("order-1", "62323", "Transforaminal epidural steroid injection L5-S1 with fluoroscopy")
    document = {**order_sign({**order, "meta": {"tag": "__deep__"}}), "_depth": depth}

    response = _post(client, document)

    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"

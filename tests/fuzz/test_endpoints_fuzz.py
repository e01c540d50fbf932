"""Every endpoint of the app's OpenAPI schema, fuzzed in-process by schemathesis, plus requests nested absurdly deep.

Whatever a client sends: never a 5xx, and every error is a FHIR OperationOutcome, except the bare 401.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
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

from plugin.app import create_app
from plugin.services import SERVICES
from plugin.settings import Settings, TrustedClientSettings
from tests.conftest import TODAY
from tests.fhir_fixtures import order_sign, service_request

EXAMPLE = json.loads((Path(__file__).resolve().parents[2] / "examples" / "order-sign.json").read_text("utf-8"))


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    """A fresh app per test: the schemathesis plugin ends the app's lifespan after each test, closing its store."""
    feedback_db = tmp_path / "feedback.db"
    # Generated requests name arbitrary fhirServer URLs: every fetch is answered here, none leaves the process.
    no_network = httpx.MockTransport(lambda request: httpx.Response(503))
    return create_app(Settings(feedback_db=f"sqlite:///{feedback_db}"), today=lambda: TODAY, transport=no_network)


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

    @settings(max_examples=100)
    @given(cases)
    def call(case: Case) -> None:
        case.call_and_validate(checks=CHECKS)

    call()


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
    return client.post("/cds-services/epidural-order-sign", content=body, headers={"content-type": "application/json"})


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

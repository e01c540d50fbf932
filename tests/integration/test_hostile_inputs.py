"""The shipped service with authentication on, attacked from outside: forged Host headers, a FHIR server whose next
links climb out of its base or whose answers are bombs, and a trace of every answer in the access log.

One real `epidural-cds serve --config` process, configured as a new operator would (trusted client, no
`public_base_url`), and one hostile FHIR server on loopback.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from bench.processes import free_port
from plugin.sandbox.resources import hook_request, service_request
from tests.integration.hostile_fhir_server import SECRET_PATH, Attack, HostileFhirServer
from tests.integration.local_process import running_process

pytestmark = pytest.mark.integration

ISSUER = "https://ehr.example.org"
ACCESS_TOKEN = "ehr-access-token-7d1e"
SERVICE = "epidural-order-sign"
MAX_RESPONSE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Service:
    base: str
    key: ec.EllipticCurvePrivateKey
    log: Path

    def token(self, audience: str | None = None) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": audience or f"{self.base}/cds-services/{SERVICE}",
            "exp": now + 300,
            "iat": now,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self.key, algorithm="ES384", headers={"kid": "k1", "typ": "JWT"})

    def access_lines_after(self, before: int, count: int) -> list[dict[str, Any]]:
        """The `count` access lines after the first `before`, waiting for them: a line is written once its answer
        has been sent, so it can trail the client's last read by a moment."""
        deadline = time.monotonic() + 10
        while len(lines := self.access_lines()[before:]) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return lines

    def access_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{") and (entry := json.loads(line)).get("message") == "request":
                lines.append(entry)
        return lines


@pytest.fixture(scope="module")
def hostile_fhir() -> Iterator[HostileFhirServer]:
    with HostileFhirServer() as server:
        yield server


@pytest.fixture(scope="module")
def service(hostile_fhir: HostileFhirServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    directory = tmp_path_factory.mktemp("service")
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1", "use": "sig"}
    config = directory / "config.toml"
    config.write_text(
        f'feedback_db = "sqlite:///{directory}/service.db"\n'
        f"fhir_max_response_bytes = {MAX_RESPONSE_BYTES}\n\n"
        f'[[trusted_clients]]\nissuer = "{ISSUER}"\nfhir_servers = ["{hostile_fhir.origin}"]\n\n'
        "[[trusted_clients.jwks.keys]]\n" + "".join(f"{name} = {json.dumps(value)}\n" for name, value in jwk.items())
    )
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "epidural-cds"),
        "serve",
        "--config",
        str(config),
        "--port",
        str(port),
    ]
    base = f"http://127.0.0.1:{port}"
    with running_process("epidural-cds", command, f"{base}/readyz", timeout=60, env={"PATH": "/usr/bin:/bin"}) as out:
        yield Service(base, key, out / "output.log")


def call(service: Service, body: dict[str, Any] | bytes, token: str, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    with httpx.Client(trust_env=False, timeout=30.0) as client:
        return client.post(
            f"{service.base}/cds-services/{SERVICE}",
            content=content,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers},
        )


def fetching(fhir_server: str, *, fetch: tuple[str, ...] = ("procedures",)) -> dict[str, Any]:
    """An order-sign request whose keys in `fetch` are left to the service to read from `fhir_server`."""
    request = hook_request(
        "order-sign", {"draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": ORDER}]}}
    )
    for key in fetch:
        del request["prefetch"][key]
    request["fhirServer"] = fhir_server
    request["fhirAuthorization"] = {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 300}
    return request


ORDER = service_request(
    "o1",
    "62323",
    "Lumbar interlaminar ESI L4-L5 under fluoroscopy",
    reasons=[("M54.16", "Radiculopathy, lumbar region")],
)


def incomplete_detail(response: httpx.Response) -> str:
    [card] = [card for card in response.json()["cards"] if card["source"]["topic"]["code"] == "data-incomplete"]
    detail: str = card["detail"]
    return detail


def test_start_up_warns_that_tokens_are_checked_against_the_listening_address(service: Service) -> None:
    assert "public_base_url is not set" in service.log.read_text()


def test_a_token_minted_for_another_service_is_refused_even_with_that_service_in_host(service: Service) -> None:
    other = "http://cds.other-vendor.example/cds-services/" + SERVICE
    request = hook_request("order-sign", {"draftOrders": {"resourceType": "Bundle", "type": "collection"}})

    forged = call(service, request, service.token(audience=other), Host="cds.other-vendor.example")
    genuine = call(service, request, service.token(), Host="cds.other-vendor.example")

    assert forged.status_code == 401
    assert forged.content == b""
    assert genuine.status_code == 200  # what counts is the socket the call arrived on, not what Host claims
    refused = [line for line in service.access_lines() if line.get("reason") == "unauthorized:audience"]
    assert refused[-1]["expected_aud"] == f"{service.base}/cds-services/{SERVICE}"
    assert refused[-1]["received_aud"] == other
    assert refused[-1]["status"] == 401


@pytest.mark.parametrize(
    "attack",
    [Attack.DOT_SEGMENTS, Attack.ENCODED_DOTS, Attack.PARAMETER_DOTS, Attack.ENCODED_SLASHES, Attack.USERINFO],
)
def test_a_next_link_out_of_the_base_is_never_requested_and_the_token_stays_home(
    service: Service, hostile_fhir: HostileFhirServer, attack: Attack
) -> None:
    response = call(service, fetching(hostile_fhir.base_url(attack)), service.token())

    assert response.status_code == 200
    assert "outside the FHIR server" in incomplete_detail(response)
    assert hostile_fhir.requests_to(SECRET_PATH) == []
    first_pages = hostile_fhir.requests_to(f"/{attack}/fhir/Procedure")
    assert [request.authorization for request in first_pages] == [f"Bearer {ACCESS_TOKEN}"]


@pytest.mark.parametrize("attack", [Attack.GZIP_BOMB, Attack.OVERSIZED])
def test_an_answer_over_the_byte_limit_is_a_failed_fetch_of_optional_data(
    service: Service, hostile_fhir: HostileFhirServer, attack: Attack
) -> None:
    request = fetching(hostile_fhir.base_url(attack), fetch=("procedures", "conditions"))

    response = call(service, request, service.token())

    assert response.status_code == 200
    assert f"over the {MAX_RESPONSE_BYTES}-byte limit" in incomplete_detail(response)


def test_a_procedure_that_is_not_utf8_is_skipped_with_a_note(service: Service, hostile_fhir: HostileFhirServer) -> None:
    response = call(service, fetching(hostile_fhir.base_url(Attack.NOT_UTF8)), service.token())

    assert response.status_code == 200
    assert "could not be read" in incomplete_detail(response)


def test_every_answer_leaves_one_access_line_without_tokens_or_patient_data(service: Service) -> None:
    request = hook_request("order-sign", {"draftOrders": {"resourceType": "Bundle", "type": "collection"}})
    token = service.token()
    before = len(service.access_lines())
    statuses = [
        call(service, request, token).status_code,  # 200
        call(service, request, token).status_code,  # 401: the same token again
        call(service, b"{not json", service.token()).status_code,  # 400
        call(service, fetching("http://fhir.not-allowed.example/fhir"), service.token()).status_code,  # 403
        call(service, {**request, "prefetch": {}}, service.token()).status_code,  # 412: nothing to read from
    ]
    with httpx.Client(trust_env=False) as client:
        statuses.append(client.post(f"{service.base}/cds-services/no-such-service", json=request).status_code)
    lines = service.access_lines_after(before, count=6)
    assert statuses == [200, 401, 400, 403, 412, 404]
    assert [(line["status"], line["reason"]) for line in lines] == [
        (200, "ok"),
        (401, "unauthorized:replayed"),
        (400, "bad-request"),
        (403, "forbidden"),
        (412, "precondition"),
        (404, "not-found"),
    ]
    assert [line.get("service_id") for line in lines] == [SERVICE] * 5 + [None]
    assert lines[0]["hook_instance"] == request["hookInstance"]
    assert all(isinstance(line["elapsed_ms"], float | int) for line in lines)
    written = service.log.read_text()
    assert token not in written
    assert token.split(".")[1] not in written
    assert ACCESS_TOKEN not in written

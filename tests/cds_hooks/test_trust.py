"""JWT verification and fhirServer allow-list tests.

Keys are generated per test module; JWKS documents are served from a real loopback HTTP
server so the tests exercise httpx and can assert which URLs were (not) fetched.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from cds_hooks.errors import Unauthorized
from cds_hooks.trust import (
    JwtVerifier,
    TrustedClient,
    VerifiedToken,
    _ReplayCache,
    fhir_server_allowed,
)

ISSUER = "https://ehr.example.org"
AUDIENCE = "https://cds.example.org/cds-services/epidural-order-check"
OTHER_SERVICE = "https://cds.example.org/cds-services/something-else"
NOW = 1_750_000_000
JWKS_PATH = "/ehr/jwks.json"
ES_KID = "es-1"
RS_KID = "rs-1"
_OMIT = object()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Keys:
    es384: ec.EllipticCurvePrivateKey
    rs384: rsa.RSAPrivateKey
    attacker: ec.EllipticCurvePrivateKey

    def jwks(self) -> dict[str, Any]:
        return {"keys": [_public_jwk(self.es384, ES_KID), _public_jwk(self.rs384, RS_KID)]}


def _public_jwk(private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    if isinstance(private_key, rsa.RSAPrivateKey):
        jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    else:
        jwk = ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    # No "alg" member: many real JWKS omit it, and RS384 must still verify.
    return {**jwk, "kid": kid, "use": "sig"}


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(
        es384=ec.generate_private_key(ec.SECP384R1()),
        rs384=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        attacker=ec.generate_private_key(ec.SECP384R1()),
    )


@dataclass
class JwksServer:
    base_url: str
    routes: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base_url + path

    def serve_json(self, path: str, document: object, status: int = 200) -> None:
        self.routes[path] = (status, json.dumps(document).encode())


@pytest.fixture
def jwks_server(keys: Keys) -> Iterator[JwksServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = JwksServer(base_url=f"http://127.0.0.1:{server.server_address[1]}")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with state.lock:
                state.hits[self.path] += 1
            status, body = state.routes.get(self.path, (404, b"{}"))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt: str, *args: Any) -> None:
            """Keep access logs out of the test output."""

    server.RequestHandlerClass = Handler
    state.serve_json(JWKS_PATH, keys.jwks())
    # A short poll interval keeps shutdown() (which waits for one poll) from slowing every test.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # trust_env=False so a proxy configured in the environment cannot intercept loopback calls.
    async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
        yield client


class Clock:
    def __init__(self) -> None:
        self.t = float(NOW)

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _client(jwks_server: JwksServer, **overrides: Any) -> TrustedClient:
    fields: dict[str, Any] = {
        "issuer": ISSUER,
        "jwks_url": jwks_server.url(JWKS_PATH),
        "jwks": None,
        "fhir_servers": ("https://ehr.example.org/fhir",),
    }
    return TrustedClient(**{**fields, **overrides})


@pytest.fixture
def verifier(jwks_server: JwksServer, http: httpx.AsyncClient, clock: Clock) -> JwtVerifier:
    return JwtVerifier([_client(jwks_server)], http, now=clock)


def make_token(
    private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    alg: str = "ES384",
    kid: str | None = ES_KID,
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": NOW,
        "exp": NOW + 300,
        "jti": uuid.uuid4().hex,
        "sub": "clinician-7",
        "tenant": "tenant-a",
    }
    payload.update(claims)
    payload = {name: value for name, value in payload.items() if value is not _OMIT}
    header = dict(headers or {})
    if kid is not None:
        header["kid"] = kid
    return jwt.encode(payload, private_key, algorithm=alg, headers=header)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(obj: dict[str, Any]) -> str:
    return _b64(json.dumps(obj).encode())


def _claims(**overrides: Any) -> dict[str, Any]:
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": NOW,
        "exp": NOW + 300,
        "jti": uuid.uuid4().hex,
        **overrides,
    }


def bearer(token: str) -> str:
    return f"Bearer {token}"


# --- accepted tokens -------------------------------------------------------------------


@pytest.mark.anyio
async def test_valid_es384_token_is_accepted(verifier: JwtVerifier, keys: Keys) -> None:
    token = make_token(keys.es384, jti="jti-es")

    verified = await verifier.verify(bearer(token), AUDIENCE)

    assert isinstance(verified, VerifiedToken)
    assert (verified.issuer, verified.jti, verified.subject, verified.tenant) == (
        ISSUER,
        "jti-es",
        "clinician-7",
        "tenant-a",
    )
    assert verified.expires_at == NOW + 300
    assert verified.client.issuer == ISSUER


@pytest.mark.anyio
async def test_valid_rs384_token_is_accepted(verifier: JwtVerifier, keys: Keys) -> None:
    token = make_token(keys.rs384, alg="RS384", kid=RS_KID)

    verified = await verifier.verify(bearer(token), AUDIENCE)

    assert verified.issuer == ISSUER


@pytest.mark.anyio
async def test_aud_array_containing_the_service_url_is_accepted(verifier: JwtVerifier, keys: Keys) -> None:
    token = make_token(keys.es384, aud=[OTHER_SERVICE, AUDIENCE])

    verified = await verifier.verify(bearer(token), AUDIENCE)

    assert verified.issuer == ISSUER


@pytest.mark.anyio
async def test_sub_and_tenant_are_optional(verifier: JwtVerifier, keys: Keys) -> None:
    token = make_token(keys.es384, sub=_OMIT, tenant=_OMIT)

    verified = await verifier.verify(bearer(token), AUDIENCE)

    assert (verified.subject, verified.tenant) == (None, None)


@pytest.mark.anyio
async def test_jku_equal_to_configured_url_is_accepted(
    verifier: JwtVerifier, keys: Keys, jwks_server: JwksServer
) -> None:
    token = make_token(keys.es384, headers={"jku": jwks_server.url(JWKS_PATH)})

    verified = await verifier.verify(bearer(token), AUDIENCE)

    assert verified.issuer == ISSUER


@pytest.mark.anyio
async def test_inline_jwks_works_without_http(keys: Keys, clock: Clock) -> None:
    requests: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        raise httpx.ConnectError("offline", request=request)

    client = TrustedClient(
        issuer=ISSUER,
        jwks_url=None,
        jwks=keys.jwks(),
        fhir_servers=("https://ehr.example.org/fhir",),
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as offline:
        verifier = JwtVerifier([client], offline, now=clock)
        verified = await verifier.verify(bearer(make_token(keys.es384)), AUDIENCE)

    assert verified.issuer == ISSUER
    assert requests == []


@pytest.mark.anyio
async def test_rotated_key_is_picked_up_after_cooldown(
    verifier: JwtVerifier, keys: Keys, jwks_server: JwksServer, clock: Clock
) -> None:
    await verifier.verify(bearer(make_token(keys.es384)), AUDIENCE)
    rotated = ec.generate_private_key(ec.SECP384R1())
    jwks_server.serve_json(JWKS_PATH, {"keys": [_public_jwk(rotated, "es-2")]})
    clock.t += 31
    token = make_token(rotated, kid="es-2", iat=int(clock.t), exp=int(clock.t) + 300)

    verified = await verifier.verify(bearer(token), AUDIENCE)

    assert verified.issuer == ISSUER
    assert jwks_server.hits[JWKS_PATH] == 2


@pytest.mark.anyio
async def test_withdrawn_key_stops_being_trusted_once_the_cached_set_is_old(
    verifier: JwtVerifier, keys: Keys, jwks_server: JwksServer, clock: Clock
) -> None:
    await verifier.verify(bearer(make_token(keys.es384)), AUDIENCE)
    jwks_server.serve_json(JWKS_PATH, {"keys": [_public_jwk(keys.rs384, RS_KID)]})
    clock.t += 600
    fresh = make_token(keys.es384, iat=int(clock.t), exp=int(clock.t) + 300)
    assert (await verifier.verify(bearer(fresh), AUDIENCE)).issuer == ISSUER  # still inside the maximum age
    clock.t += 3600
    stale = make_token(keys.es384, iat=int(clock.t), exp=int(clock.t) + 300)
    with pytest.raises(Unauthorized):
        await verifier.verify(bearer(stale), AUDIENCE)
    assert jwks_server.hits[JWKS_PATH] == 2


@pytest.mark.anyio
async def test_cached_keys_survive_a_jwks_outage_at_refresh_time(
    verifier: JwtVerifier, keys: Keys, jwks_server: JwksServer, clock: Clock
) -> None:
    await verifier.verify(bearer(make_token(keys.es384)), AUDIENCE)
    jwks_server.serve_json(JWKS_PATH, {"error": "down"}, status=503)
    clock.t += 4000
    token = make_token(keys.es384, iat=int(clock.t), exp=int(clock.t) + 300)
    assert (await verifier.verify(bearer(token), AUDIENCE)).issuer == ISSUER
    assert jwks_server.hits[JWKS_PATH] == 2


@pytest.mark.anyio
async def test_concurrent_cold_start_fetches_jwks_once(
    verifier: JwtVerifier, keys: Keys, jwks_server: JwksServer
) -> None:
    results: list[VerifiedToken] = []

    async def verify_one() -> None:
        results.append(await verifier.verify(bearer(make_token(keys.es384)), AUDIENCE))

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(verify_one)

    assert len(results) == 5
    assert jwks_server.hits[JWKS_PATH] == 1


# --- refused requests ------------------------------------------------------------------


@pytest.mark.anyio
async def test_missing_authorization_header_is_refused(verifier: JwtVerifier) -> None:
    with pytest.raises(Unauthorized):
        await verifier.verify(None, AUDIENCE)


@pytest.mark.anyio
async def test_non_bearer_scheme_is_refused(verifier: JwtVerifier, keys: Keys) -> None:
    with pytest.raises(Unauthorized):
        await verifier.verify(f"Basic {make_token(keys.es384)}", AUDIENCE)


@pytest.mark.anyio
async def test_garbage_bearer_token_is_refused(verifier: JwtVerifier) -> None:
    with pytest.raises(Unauthorized):
        await verifier.verify("Bearer not.a.jwt", AUDIENCE)


@pytest.mark.anyio
async def test_expired_token_is_refused(verifier: JwtVerifier, keys: Keys) -> None:
    token = make_token(keys.es384, iat=NOW - 600, exp=NOW - 61)  # beyond the 60 s leeway

    with pytest.raises(Unauthorized):
        await verifier.verify(bearer(token), AUDIENCE)


@pytest.mark.anyio
async def test_nbf_in_the_future_is_refused(verifier: JwtVerifier, keys: Keys) -> None:
    token = make_token(keys.es384, nbf=NOW + 120)

    with pytest.raises(Unauthorized):
        await verifier.verify(bearer(token), AUDIENCE)


@pytest.mark.anyio
async def test_iat_in_the_future_is_refused(verifier: JwtVerifier, keys: Keys) -> None:
    token = make_token(keys.es384, iat=NOW + 120)

    with pytest.raises(Unauthorized):
        await verifier.verify(bearer(token), AUDIENCE)


@pytest.mark.anyio
async def test_token_lifetime_too_long_is_refused(verifier: JwtVerifier, keys: Keys) -> None:
    token = make_token(keys.es384, exp=NOW + 2 * 3600)

    with pytest.raises(Unauthorized):
        await verifier.verify(bearer(token), AUDIENCE)


@pytest.mark.anyio
async def test_token_for_another_service_url_is_refused(verifier: JwtVerifier, keys: Keys) -> None:
    token = make_token(keys.es384, aud=OTHER_SERVICE)

    with pytest.raises(Unauthorized):
        await verifier.verify(bearer(token), AUDIENCE)


@pytest.mark.anyio
async def test_untrusted_issuer_is_refused_without_fetching(
    verifier: JwtVerifier, keys: Keys, jwks_server: JwksServer
) -> None:
    token = make_token(keys.es384, iss="https://evil.example.com")

    with pytest.raises(Unauthorized):
        await verifier.verify(bearer(token), AUDIENCE)
    assert sum(jwks_server.hits.values()) == 0


@pytest.mark.anyio
async def test_unknown_kid_refetches_jwks_at_most_once_per_cooldown(
    verifier: JwtVerifier, keys: Keys, jwks_server: JwksServer, clock: Clock
) -> None:
    await verifier.verify(bearer(make_token(keys.es384)), AUDIENCE)
    assert jwks_server.hits[JWKS_PATH] == 1
    clock.t += 31
    unknown = make_token(keys.attacker, kid="unknown", iat=int(clock.t), exp=int(clock.t) + 300)

    for _ in range(3):
        with pytest.raises(Unauthorized):
            await verifier.verify(bearer(unknown), AUDIENCE)

    assert jwks_server.hits[JWKS_PATH] == 2


@pytest.mark.anyio
async def test_kid_of_a_key_of_another_type_is_refused(verifier: JwtVerifier, keys: Keys) -> None:
    token = make_token(keys.rs384, alg="RS384", kid=ES_KID)

    with pytest.raises(Unauthorized):
        await verifier.verify(bearer(token), AUDIENCE)


@pytest.mark.anyio
async def test_missing_kid_is_refused(verifier: JwtVerifier, keys: Keys) -> None:
    with pytest.raises(Unauthorized):
        await verifier.verify(bearer(make_token(keys.es384, kid=None)), AUDIENCE)


@pytest.mark.anyio
async def test_typ_other_than_jwt_is_refused(verifier: JwtVerifier, keys: Keys) -> None:
    token = make_token(keys.es384, headers={"typ": "at+jwt"})

    with pytest.raises(Unauthorized):
        await verifier.verify(bearer(token), AUDIENCE)


@pytest.mark.anyio
async def test_hs256_signed_with_public_key_bytes_is_refused(verifier: JwtVerifier, keys: Keys) -> None:
    public_pem = keys.rs384.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _segment({"alg": "HS256", "typ": "JWT", "kid": RS_KID})
    signing_input = f"{header}.{_segment(_claims())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()

    with pytest.raises(Unauthorized):
        await verifier.verify(bearer(f"{signing_input}.{_b64(signature)}"), AUDIENCE)


@pytest.mark.anyio
async def test_alg_none_is_refused(verifier: JwtVerifier) -> None:
    token = f"{_segment({'alg': 'none', 'typ': 'JWT', 'kid': ES_KID})}.{_segment(_claims())}."

    with pytest.raises(Unauthorized):
        await verifier.verify(bearer(token), AUDIENCE)


@pytest.mark.anyio
async def test_tampered_payload_is_refused(verifier: JwtVerifier, keys: Keys) -> None:
    header, _, signature = make_token(keys.es384).split(".")
    forged = f"{header}.{_segment(_claims(sub='someone-else'))}.{signature}"

    with pytest.raises(Unauthorized):
        await verifier.verify(bearer(forged), AUDIENCE)


@pytest.mark.anyio
async def test_replayed_jti_is_refused(verifier: JwtVerifier, keys: Keys) -> None:
    token = make_token(keys.es384)
    await verifier.verify(bearer(token), AUDIENCE)

    with pytest.raises(Unauthorized):
        await verifier.verify(bearer(token), AUDIENCE)


@pytest.mark.anyio
async def test_missing_jti_is_refused(verifier: JwtVerifier, keys: Keys) -> None:
    with pytest.raises(Unauthorized):
        await verifier.verify(bearer(make_token(keys.es384, jti=_OMIT)), AUDIENCE)


@pytest.mark.anyio
async def test_token_signed_with_the_key_an_untrusted_jku_names_is_refused_and_the_jku_never_fetched(
    verifier: JwtVerifier, keys: Keys, jwks_server: JwksServer
) -> None:
    evil_path = "/evil/jwks.json"
    jwks_server.serve_json(evil_path, {"keys": [_public_jwk(keys.attacker, "evil")]})
    token = make_token(keys.attacker, kid="evil", headers={"jku": jwks_server.url(evil_path)})

    with pytest.raises(Unauthorized):
        await verifier.verify(bearer(token), AUDIENCE)
    assert jwks_server.hits[evil_path] == 0


@pytest.mark.anyio
async def test_jwks_endpoint_500_is_unauthorized(verifier: JwtVerifier, keys: Keys, jwks_server: JwksServer) -> None:
    jwks_server.serve_json(JWKS_PATH, {"error": "boom"}, status=500)

    with pytest.raises(Unauthorized):
        await verifier.verify(bearer(make_token(keys.es384)), AUDIENCE)
    assert jwks_server.hits[JWKS_PATH] == 1


@pytest.mark.anyio
async def test_an_audience_rejection_names_both_urls_and_never_the_token(
    verifier: JwtVerifier, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    token = make_token(keys.es384, aud=OTHER_SERVICE)

    with caplog.at_level(logging.DEBUG), pytest.raises(Unauthorized) as refused:
        await verifier.verify(bearer(token), AUDIENCE)

    assert refused.value.reason == "unauthorized:audience"
    assert refused.value.log_fields["expected_aud"] == AUDIENCE
    assert refused.value.log_fields["received_aud"] == OTHER_SERVICE
    said = " ".join([*refused.value.log_fields.values(), *(record.getMessage() for record in caplog.records)])
    assert token not in said
    assert token.split(".")[1] not in said


# --- configuration and the replay cache ------------------------------------------------


@pytest.mark.parametrize(
    ("jwks_url", "jwks"),
    [(None, None), ("https://ehr.example.org/jwks.json", {"keys": []})],
    ids=["neither", "both"],
)
def test_trusted_client_needs_exactly_one_key_source(jwks_url: str | None, jwks: dict[str, Any] | None) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        TrustedClient(issuer=ISSUER, jwks_url=jwks_url, jwks=jwks, fhir_servers=())


def test_replay_cache_purges_entries_after_their_deadline() -> None:
    cache = _ReplayCache(max_entries=10)
    assert cache.check_and_add(("iss", "a"), deadline=100, now=0)
    assert cache.check_and_add(("iss", "b"), deadline=200, now=0)

    assert cache.check_and_add(("iss", "c"), deadline=300, now=150)

    assert len(cache) == 2  # "a" is gone, "b" and "c" remain
    assert not cache.check_and_add(("iss", "b"), deadline=200, now=150)


def test_replay_cache_evicts_oldest_when_full() -> None:
    cache = _ReplayCache(max_entries=2)
    for jti in ("a", "b", "c"):
        assert cache.check_and_add(("iss", jti), deadline=1_000, now=0)

    assert len(cache) == 2
    assert not cache.check_and_add(("iss", "c"), deadline=1_000, now=0)
    assert cache.check_and_add(("iss", "a"), deadline=1_000, now=0)


# --- fhirServer allow-list -------------------------------------------------------------

ALLOWED = ["https://ehr.example.org/fhir"]


@pytest.mark.parametrize(
    ("fhir_server", "expected"),
    [
        ("https://ehr.example.org/fhir", True),
        ("https://ehr.example.org/fhir/", True),
        ("https://ehr.example.org/fhir/R4", True),
        ("https://EHR.Example.org/fhir", True),
        ("HTTPS://ehr.example.org/fhir", True),
        ("https://ehr.example.org:443/fhir", True),
        ("https://ehr.example.org/fhir-evil", False),
        ("https://ehr.example.org.evil.com/fhir", False),
        ("https://ehr.example.org/FHIR", False),
        ("https://ehr.example.org/", False),
        ("https://ehr.example.org:8443/fhir", False),
        ("http://ehr.example.org/fhir", False),
        ("ftp://ehr.example.org/fhir", False),
        ("https://user@ehr.example.org/fhir", False),
        ("https://evil.com@ehr.example.org/fhir", False),
        ("https://ehr.example.org@evil.com/fhir", False),
        ("https://ehr.example.org/fhir/../admin", False),
        ("https://ehr.example.org/fhir/%2e%2e/admin", False),
        ("https://ehr.example.org/fhir/..%2Fadmin", False),
        ("https://ehr.example.org/fhir?next=https://evil.com", False),
        ("https://ehr.example.org/fhir\n", False),
        ("https://ehr.example.org\\@evil.com/fhir", False),
        ("https://ehr.example.org:99999/fhir", False),
        ("", False),
    ],
)
def test_fhir_server_allowed(fhir_server: str, expected: bool) -> None:
    assert fhir_server_allowed(fhir_server, ALLOWED) is expected


def test_default_http_port_is_normalised() -> None:
    assert fhir_server_allowed("http://localhost:80/fhir/R4", ["http://LOCALHOST/fhir/"])


@pytest.mark.anyio
async def test_foreign_jku_is_ignored_and_the_inline_keys_decide(keys: Keys, jwks_server: JwksServer) -> None:
    # The CDS Hooks Sandbox always names its own jku; offline, its keys are configured inline instead.
    client = TrustedClient(issuer=ISSUER, jwks_url=None, jwks=keys.jwks(), fhir_servers=())
    async with httpx.AsyncClient(trust_env=False) as http:
        verifier = JwtVerifier([client], http, now=lambda: NOW)
        token = make_token(keys.es384, headers={"jku": jwks_server.url("/sandbox/jwks.json")})
        verified = await verifier.verify(bearer(token), AUDIENCE)
    assert verified.issuer == ISSUER
    assert jwks_server.hits["/sandbox/jwks.json"] == 0

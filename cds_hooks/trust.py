"""CDS Hooks 2.0 client authentication: JWT bearer verification and the fhirServer allow-list.

Trust model. A CDS client (an EHR) is trusted only if it is configured here as a
`TrustedClient`: its `iss`, where its public keys live (a JWKS URL, or an inline JWKS for
offline sandboxes) and which FHIR servers it may point us at. Each hook call carries a
short-lived JWT signed with one of that client's asymmetric keys and addressed (`aud`)
to the exact service URL being called, with a fresh `jti`. Nothing in the token picks
where keys come from: the `iss` only selects among configured clients, a `jku` header is
never fetched (the configured JWKS is used whatever it names), and embedded keys are ignored. A
verified client may then name a `fhirServer`; it is used only if it sits under one of
that client's configured base URLs, because we send the client's access token there.

Every authentication failure surfaces as a bare `Unauthorized` (401); the reason goes to
the server log only, never the token.
"""

from __future__ import annotations

import heapq
import logging
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol
from urllib.parse import unquote, urlsplit

import anyio
import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from cds_hooks.errors import Unauthorized

__all__ = [
    "JwtVerifier",
    "TrustedClient",
    "VerifiedToken",
    "fhir_server_allowed",
]

logger = logging.getLogger(__name__)

# Asymmetric only: HS* would let anyone holding the (public) verification key mint tokens.
# Each ES algorithm is pinned to its curve so a key only verifies the algorithm it was made for;
# None marks the RSA family.
_ALGORITHM_CURVES: Mapping[str, str | None] = {
    "ES256": "secp256r1",
    "ES384": "secp384r1",
    "ES512": "secp521r1",
    "RS256": None,
    "RS384": None,
    "RS512": None,
}
_REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "jti"]
MAX_JTI_LENGTH = 255
_MAX_LOGGED_AUD = 300  # characters of a received `aud` written to the log: enough for any real URL


@dataclass(frozen=True)
class TrustedClient:
    """A CDS client we accept hook calls from, and the FHIR servers it may direct us to."""

    issuer: str
    jwks_url: str | None
    jwks: Mapping[str, Any] | None
    fhir_servers: tuple[str, ...]

    def __post_init__(self) -> None:
        if (self.jwks_url is None) == (self.jwks is None):
            raise ValueError(f"client {self.issuer!r}: set exactly one of jwks_url and jwks")


@dataclass(frozen=True)
class VerifiedToken:
    """The claims of an accepted token that the service may act on."""

    issuer: str
    jti: str
    subject: str | None
    tenant: str | None
    client: TrustedClient
    expires_at: int


@dataclass
class _ClientKeys:
    keyset: jwt.PyJWKSet | None
    fetched_at: float | None = None
    # Serialises refetches so a burst of tokens with a new kid costs one JWKS request.
    lock: anyio.Lock = field(default_factory=anyio.Lock)


class ReplayGuard(Protocol):
    """Remembers which (iss, jti) pairs were used, until `deadline`, when their token could no longer pass exp.

    Replay protection only holds if every process that serves the same clients shares one guard: the service runs
    several workers (and hosts), so the plugin gives the verifier one backed by a shared store.
    """

    async def first_use(self, issuer: str, jti: str, deadline: float, now: float) -> bool:
        """Record the pair; False when it was already recorded (a replay)."""
        ...


class InMemoryReplayGuard:
    """A replay guard for a single process (tests, one-worker tools)."""

    def __init__(self, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._cache = _ReplayCache(max_entries)

    async def first_use(self, issuer: str, jti: str, deadline: float, now: float) -> bool:
        return self._cache.check_and_add((issuer, jti), deadline, now)


class _ReplayCache:
    """Seen (iss, jti) pairs, each kept until its token could no longer pass the exp check."""

    def __init__(self, max_entries: int) -> None:
        self._max_entries = max_entries
        self._deadlines: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._expiry_heap: list[tuple[float, tuple[str, str]]] = []

    def __len__(self) -> int:
        return len(self._deadlines)

    def check_and_add(self, key: tuple[str, str], deadline: float, now: float) -> bool:
        """Record `key`; return False if it was already recorded (a replay)."""
        while self._expiry_heap and self._expiry_heap[0][0] <= now:
            expired_at, expired_key = heapq.heappop(self._expiry_heap)
            if self._deadlines.get(expired_key) == expired_at:
                del self._deadlines[expired_key]
        if key in self._deadlines:
            return False
        self._deadlines[key] = deadline
        heapq.heappush(self._expiry_heap, (deadline, key))
        if len(self._deadlines) > self._max_entries:
            # Evicting a live entry reopens its replay window; that is the price of a memory
            # bound, and only validly signed tokens from trusted issuers ever get this far.
            self._deadlines.popitem(last=False)
        if len(self._expiry_heap) > 2 * self._max_entries:
            # Evicted entries leave stale heap items behind; rebuild so the heap stays bounded too.
            self._expiry_heap = [(d, k) for k, d in self._deadlines.items()]
            heapq.heapify(self._expiry_heap)
        return True


def _reject(kind: str, detail: str, **log_fields: str) -> NoReturn:
    """Refuse the token: `kind` is the reason class, `detail` the fixed wording; both reach the access log only."""
    # `from None` keeps library exceptions (and anything they quote) out of tracebacks.
    raise Unauthorized(kind, {"auth_detail": detail, **log_fields}) from None


def _bearer_token(authorization_header: str | None) -> str | None:
    if authorization_header is None:
        return None
    scheme, _, token = authorization_header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def _numeric_date(value: object, name: str) -> float:
    # bool is an int subclass; `true` is not a date.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        _reject("claims", f"{name} is not a NumericDate")
    return float(value)


def _optional_str(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is not None and not isinstance(value, str):
        _reject("claims", f"{name} is not a string")
    return value


def _select_key(keyset: jwt.PyJWKSet | None, kid: str, alg: str) -> Any:
    """The public key with this kid that can verify `alg`, or None."""
    if keyset is None:
        return None
    curve = _ALGORITHM_CURVES[alg]
    for jwk in keyset:
        if jwk.key_id != kid or jwk.public_key_use not in (None, "sig"):
            continue
        key = jwk.key
        if curve is None and isinstance(key, RSAPublicKey):
            return key
        if isinstance(key, EllipticCurvePublicKey) and key.curve.name == curve:
            return key
    return None


class JwtVerifier:
    """Verifies CDS Hooks 2.0 bearer JWTs against the configured trusted clients."""

    def __init__(
        self,
        clients: Sequence[TrustedClient],
        http: httpx.AsyncClient,
        *,
        leeway_seconds: int = 60,
        max_token_lifetime_seconds: int = 3600,
        jwks_refresh_cooldown_seconds: float = 30,
        jwks_max_age_seconds: float = 3600,
        now: Callable[[], float] = time.time,
        replay_guard: ReplayGuard | None = None,
    ) -> None:
        self._clients: dict[str, TrustedClient] = {}
        self._keys: dict[str, _ClientKeys] = {}
        for client in clients:
            if client.issuer in self._clients:
                raise ValueError(f"issuer {client.issuer!r} is configured twice")
            self._clients[client.issuer] = client
            self._keys[client.issuer] = _ClientKeys(keyset=_inline_keyset(client))
        self._http = http
        self._leeway = leeway_seconds
        self._max_lifetime = max_token_lifetime_seconds
        self._cooldown = jwks_refresh_cooldown_seconds
        self._max_age = jwks_max_age_seconds
        self._now = now
        self._seen = replay_guard or InMemoryReplayGuard()

    async def verify(self, authorization_header: str | None, audience: str) -> VerifiedToken:
        """Accept the bearer JWT for a call to the service at URL `audience`, else Unauthorized."""
        token = _bearer_token(authorization_header)
        if token is None:
            _reject("missing", "no bearer token")
        client, kid, alg = self._identify(token)
        key = await self._key_for(client, kid, alg)
        if key is None:
            _reject("key", "no usable key for kid")

        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=list(_ALGORITHM_CURVES),
                audience=audience,
                issuer=client.issuer,
                options={
                    "require": _REQUIRED_CLAIMS,
                    "enforce_minimum_key_length": True,
                    # PyJWT reads the wall clock itself; the time claims are checked in
                    # _check_times against the injected clock so one clock decides everything.
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.MissingRequiredClaimError as exc:
            _reject("claims", f"missing claim {exc.claim}")
        except jwt.InvalidAudienceError:
            # URLs, not secrets: the integrator whose EHR shows "All clear" after this 401 needs both to see why.
            _reject("audience", "aud is not the URL called", expected_aud=audience, received_aud=_audience_of(token))
        except jwt.InvalidIssuerError:
            _reject("issuer", "InvalidIssuerError")
        except jwt.InvalidSignatureError:
            _reject("signature", "InvalidSignatureError")
        except jwt.PyJWTError as exc:
            _reject("malformed", type(exc).__name__)

        now = self._now()
        expires_at = self._check_times(claims, now)
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti:
            _reject("claims", "jti is not a non-empty string")
        if len(jti) > MAX_JTI_LENGTH or "\x00" in jti:
            # Stored as a key in the service database, where a NUL or a key of kilobytes is an error, not an id.
            _reject("claims", "jti is too long or holds a NUL")
        subject = _optional_str(claims, "sub")
        tenant = _optional_str(claims, "tenant")

        # Last, so a token refused for any other reason does not burn its jti.
        if not await self._seen.first_use(client.issuer, jti, expires_at + self._leeway, now):
            _reject("replayed", "replayed jti")
        return VerifiedToken(
            issuer=client.issuer,
            jti=jti,
            subject=subject,
            tenant=tenant,
            client=client,
            expires_at=int(expires_at),
        )

    def _identify(self, token: str) -> tuple[TrustedClient, str, str]:
        """The configured client, kid and alg the token claims, before anything is verified."""
        # These unverified reads only choose which configured issuer and key to check against;
        # nothing from them is trusted until the signature verifies.
        try:
            unverified_token = jwt.decode_complete(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            _reject("malformed", "malformed token")
        header, unverified = unverified_token["header"], unverified_token["payload"]
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in _ALGORITHM_CURVES:
            _reject("malformed", "algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            _reject("malformed", "no kid")
        typ = header.get("typ")
        if typ is not None and (not isinstance(typ, str) or typ.lower() != "jwt"):
            _reject("malformed", "typ is not JWT")
        issuer = unverified.get("iss")
        client = self._clients.get(issuer) if isinstance(issuer, str) else None
        if client is None:
            _reject("issuer", "untrusted issuer")
        # A `jku` is never fetched: keys come from the client's configured JWKS whatever the header names, so a
        # foreign `jku` cannot choose the verification key. Ignoring it (rather than refusing the token) lets clients
        # that always send one, like the CDS Hooks Sandbox, be trusted through an inline JWKS for offline work.
        return client, kid, alg

    def _check_times(self, claims: Mapping[str, Any], now: float) -> float:
        """Validate exp, iat and nbf against `now`; return exp.

        `require` has already ensured exp and iat are present.
        """
        expires_at = _numeric_date(claims["exp"], "exp")
        issued_at = _numeric_date(claims["iat"], "iat")
        if expires_at <= now - self._leeway:
            _reject("expired", "expired")
        if expires_at > now + self._max_lifetime + self._leeway:
            _reject("expired", "lifetime too long")
        if issued_at > now + self._leeway:
            _reject("not-yet-valid", "issued in the future")
        if "nbf" in claims and _numeric_date(claims["nbf"], "nbf") > now + self._leeway:
            _reject("not-yet-valid", "not yet valid")
        return expires_at

    async def _key_for(self, client: TrustedClient, kid: str, alg: str) -> Any:
        state = self._keys[client.issuer]
        stale = state.fetched_at is not None and self._now() - state.fetched_at >= self._max_age
        if client.jwks_url is not None and stale:
            await self._refresh_stale(state, client.jwks_url)
        key = _select_key(state.keyset, kid, alg)
        if key is not None or client.jwks_url is None:
            return key
        async with state.lock:
            # Another task may have refreshed the set while this one waited.
            key = _select_key(state.keyset, kid, alg)
            if key is not None:
                return key
            now = self._now()
            if state.fetched_at is not None and now - state.fetched_at < self._cooldown:
                # Unknown kids are attacker-chosen; without this every forged token
                # would cost the client's JWKS endpoint a request.
                return None
            # Stamped before the fetch so failures are rate-limited too.
            state.fetched_at = now
            state.keyset = await self._fetch_jwks(client.jwks_url)
            return _select_key(state.keyset, kid, alg)

    async def _refresh_stale(self, state: _ClientKeys, url: str) -> None:
        """Refetch a key set older than the maximum age, so a key the EHR withdrew stops being trusted.

        If the EHR's JWKS cannot be fetched just then, the cached keys stay in use for another maximum age: an outage
        of its key endpoint should not turn every hook call away."""
        async with state.lock:
            now = self._now()
            if state.fetched_at is not None and now - state.fetched_at < self._max_age:
                return  # another task refreshed it while this one waited
            state.fetched_at = now
            try:
                state.keyset = await self._fetch_jwks(url)
            except Unauthorized:
                logger.warning("jwks refresh failed; cached keys kept")

    async def _fetch_jwks(self, url: str) -> jwt.PyJWKSet:
        try:
            # No redirects: keys come from the configured URL and nowhere else.
            response = await self._http.get(url, follow_redirects=False)
            if response.status_code != httpx.codes.OK:
                _reject("key", f"JWKS fetch returned HTTP {response.status_code}")
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            _reject("key", f"JWKS fetch failed ({type(exc).__name__})")
        if not isinstance(document, dict):
            _reject("key", "JWKS is not a JSON object")
        try:
            return jwt.PyJWKSet.from_dict(document)
        except jwt.PyJWTError:
            _reject("key", "JWKS has no usable keys")


def _audience_of(token: str) -> str:
    """The token's `aud` as sent, for the log: the signature has verified, so it is what the issuer wrote."""
    audience = jwt.decode(token, options={"verify_signature": False}).get("aud")
    text = audience if isinstance(audience, str) else repr(audience)
    return text[:_MAX_LOGGED_AUD]


def _inline_keyset(client: TrustedClient) -> jwt.PyJWKSet | None:
    if client.jwks is None:
        return None
    try:
        return jwt.PyJWKSet.from_dict(dict(client.jwks))
    except jwt.PyJWTError as exc:
        raise ValueError(f"client {client.issuer!r}: inline JWKS has no usable keys") from exc


# Printable ASCII only: parsers disagree about whitespace, control and non-ASCII characters,
# and the URL we approve must be the URL that later gets requested.
_PLAIN_URL = re.compile(r"[!-~]+")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _normalise_base_url(url: str) -> tuple[str, str, int, tuple[str, ...]] | None:
    """(scheme, host, port, path segments) of a FHIR base URL, or None if it is unacceptable."""
    if not _PLAIN_URL.fullmatch(url) or "\\" in url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None
    if parts.scheme not in _DEFAULT_PORTS or "@" in parts.netloc:
        return None
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if not host:
        return None
    segments = []
    for raw in parts.path.split("/"):
        if not raw:
            continue
        segment = unquote(raw)
        # Dot segments (also encoded, or with `;` parameters, which some servers strip) and encoded separators could
        # climb out of the allowed prefix once a server normalises the path.
        if segment.partition(";")[0] in (".", "..") or "/" in segment or "\\" in segment:
            return None
        segments.append(segment)
    if port is None:
        port = _DEFAULT_PORTS[parts.scheme]
    return parts.scheme, host, port, tuple(segments)


def fhir_server_allowed(fhir_server: str, allowed: Sequence[str]) -> bool:
    """Whether `fhir_server` is one of `allowed` or lies beneath one, by whole path segments."""
    candidate = _normalise_base_url(fhir_server)
    if candidate is None:
        return False
    scheme, host, port, segments = candidate
    for entry in allowed:
        base = _normalise_base_url(entry)
        if base is None or base[:3] != (scheme, host, port):
            continue
        if segments[: len(base[3])] == base[3]:
            return True
    return False

"""Seen JWT ids shared across worker processes: a token replayed to another worker is refused too."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from cds_hooks.errors import ServiceUnavailable, Unauthorized
from cds_hooks.trust import JwtVerifier, TrustedClient
from plugin.storage.token_replay import TokenReplayStore

ISSUER = "https://ehr.example.org"
AUDIENCE = "https://cds.example.org/cds-services/epidural-order-sign"
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


async def test_an_id_is_accepted_once_across_stores_on_one_database(store_url: str) -> None:
    first_worker, second_worker = TokenReplayStore(store_url), TokenReplayStore(store_url)
    try:
        now = time.time()
        assert await first_worker.first_use(ISSUER, "jti-1", now + 300, now)
        assert not await second_worker.first_use(ISSUER, "jti-1", now + 300, now)
        assert await second_worker.first_use(ISSUER, "jti-2", now + 300, now)
        assert await first_worker.first_use("https://other.example.org", "jti-1", now + 300, now)
    finally:
        first_worker.close()
        second_worker.close()


async def test_a_token_replayed_to_another_worker_is_refused(store_url: str, http: httpx.AsyncClient) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1", "use": "sig"}
    client = TrustedClient(issuer=ISSUER, jwks_url=None, jwks={"keys": [jwk]}, fhir_servers=())
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
    token = jwt.encode(claims, key, algorithm="ES384", headers={"kid": "k1"})
    stores = [TokenReplayStore(store_url), TokenReplayStore(store_url)]
    try:
        first_worker, second_worker = (JwtVerifier([client], http, replay_guard=store) for store in stores)
        assert (await first_worker.verify(f"Bearer {token}", AUDIENCE)).jti == claims["jti"]
        with pytest.raises(Unauthorized):
            await second_worker.verify(f"Bearer {token}", AUDIENCE)
    finally:
        for store in stores:
            store.close()


def test_ids_past_their_deadline_are_purged(tmp_path: Path) -> None:
    store = TokenReplayStore(f"sqlite:///{tmp_path / 'feedback.db'}")
    try:
        # The purge runs every 500th insert: 499 ids that expire at t=100, then one more at t=1000.
        for index in range(499):
            anyio.run(store.first_use, ISSUER, f"old-{index}", 100.0, 50.0)
        anyio.run(store.first_use, ISSUER, "new", 10_000.0, 1_000.0)
    finally:
        store.close()
    # Beside the feedback file, in a file of its own: its writes never wait for a feedback post's.
    with sqlite3.connect(tmp_path / "feedback-seen-tokens.db") as connection:
        remaining = [row[0] for row in connection.execute("SELECT jti FROM seen_tokens")]
    assert remaining == ["new"]


def test_an_unusable_database_refuses_tokens_with_a_503(tmp_path: Path) -> None:
    database = tmp_path / "tokens.db"
    store = TokenReplayStore(f"sqlite:///{database}")
    try:
        assert anyio.run(store.first_use, ISSUER, "jti-1", time.time() + 300, time.time())
        for leftover in tmp_path.glob("tokens*.db*"):  # the seen ids' own file beside tokens.db, and its WAL
            leftover.write_bytes(b"this is not a database" * 512)
        for attempt in range(2):  # the open connections see it, and so do new ones
            with pytest.raises(ServiceUnavailable):
                anyio.run(store.first_use, ISSUER, f"jti-{attempt}", time.time() + 300, time.time())
            store.close()
    finally:
        store.close()

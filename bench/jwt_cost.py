"""What a token check costs in-process, replay guard included: python -m bench.jwt_cost [--tokens N].

Verifies N fresh ES256 tokens one after another with `JwtVerifier`, first with the in-memory replay guard, then with
the service's `TokenReplayStore` on a fresh SQLite file, and prints each p50 and p90 (ms). The difference between the
two is what sharing seen ids across workers costs. `PYTHONPATH=/other/checkout python bench/jwt_cost.py` measures
another checkout's code.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from cds_hooks.trust import JwtVerifier, TrustedClient

# A checkout from before plugin/ was grouped by role is tried first: the editable install would otherwise find
# plugin.storage in this checkout whatever PYTHONPATH names.
try:
    from plugin.token_replay import TokenReplayStore
except ImportError:
    from plugin.storage.token_replay import TokenReplayStore


async def _measure(count: int) -> dict[str, tuple[float, float]]:
    issuer, audience = "https://ehr.bench", "http://cds.bench/cds-services/epidural-order-sign"
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1", "use": "sig"}
    client = TrustedClient(issuer=issuer, jwks_url=None, jwks={"keys": [jwk]}, fhir_servers=())

    def token() -> str:
        now = int(time.time())
        claims = {"iss": issuer, "aud": audience, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
        return jwt.encode(claims, key, algorithm="ES256", headers={"kid": "k1", "typ": "JWT"})

    figures = {}
    with tempfile.TemporaryDirectory(prefix="epidural-cds-jwt-") as scratch:
        store = TokenReplayStore(f"sqlite:///{scratch}/tokens.db")
        try:
            async with httpx.AsyncClient() as http:
                for name, guard in (("in-memory guard", None), ("seen ids in SQLite", store)):
                    verifier = JwtVerifier([client], http, replay_guard=guard)
                    tokens = [token() for _ in range(count)]
                    seconds = []
                    for one in tokens:
                        started = time.perf_counter()
                        await verifier.verify(f"Bearer {one}", audience)
                        seconds.append(time.perf_counter() - started)
                    seconds.sort()
                    figures[name] = (statistics.median(seconds) * 1000, seconds[int(count * 0.9)] * 1000)
        finally:
            store.close()
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.jwt_cost", description=__doc__)
    parser.add_argument("--tokens", type=int, default=1000, help="tokens verified per guard (default: %(default)s)")
    arguments = parser.parse_args(argv)
    for name, (p50, p90) in asyncio.run(_measure(arguments.tokens)).items():
        print(f"{name}: p50 {p50:.3f} ms, p90 {p90:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

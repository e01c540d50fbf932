"""JWT checks in the shipped multi-worker service: a config file, two worker processes, one token used once."""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from bench.processes import free_port
from tests.integration.local_process import running_process

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "order-sign.json"
ISSUER = "https://ehr.example.org"
pytestmark = pytest.mark.integration


def test_a_token_is_accepted_once_whichever_worker_it_reaches(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1", "use": "sig"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp_path / "config.toml"
    config.write_text(
        f'public_base_url = "{base}"\nfeedback_db = "sqlite:///{tmp_path}/service.db"\n\n'
        f'[[trusted_clients]]\nissuer = "{ISSUER}"\nfhir_servers = ["https://ehr.example.org/fhir"]\n\n'
        "[[trusted_clients.jwks.keys]]\n" + "".join(f"{name} = {json.dumps(value)}\n" for name, value in jwk.items())
    )
    url = f"{base}/cds-services/epidural-order-sign"
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": url, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
    token = jwt.encode(claims, key, algorithm="ES384", headers={"kid": "k1", "typ": "JWT"})
    command = [
        str(Path(sys.executable).parent / "epidural-cds"),
        "serve",
        "--config",
        str(config),
        "--workers",
        "2",
        "--port",
        str(port),
    ]
    with running_process("epidural-cds", command, f"{base}/readyz", timeout=60):
        # Fresh connections, so the kernel spreads the calls over both workers' sockets.
        statuses = [
            httpx.post(
                url, content=EXAMPLE.read_bytes(), headers={"Authorization": f"Bearer {token}"}, trust_env=False
            ).status_code
            for _ in range(6)
        ]
    assert sorted(statuses) == [200, 401, 401, 401, 401, 401]

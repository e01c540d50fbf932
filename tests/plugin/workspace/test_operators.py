"""Operator sign-in, in-process: the local user's argon2 check, the OIDC authorization-code flow against a stand-in
identity provider (an httpx2 mock transport: Authlib's client is httpx2), and the settings of the workspace."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from plugin.policies.catalog import load_catalog
from plugin.serving.settings import Settings, SettingsError, WorkspaceLocalUser, WorkspaceOidc, load_settings
from plugin.workspace.links import TimelineLinks
from plugin.workspace.operators import check_local, hash_password, oidc_operator
from plugin.workspace.pages import workspace_app

ISSUER = "https://idp.example.org"
SECRET = "k" * 40


def test_the_local_user_signs_in_with_the_right_password_only() -> None:
    user = WorkspaceLocalUser(username="billing", password_hash=hash_password("correct horse battery"))

    assert check_local(user, "billing", "correct horse battery")
    assert not check_local(user, "billing", "wrong")
    assert not check_local(user, "someone", "correct horse battery")


def test_an_oidc_user_outside_the_allowed_list_is_refused() -> None:
    settings = WorkspaceOidc(issuer=ISSUER, client_id="c", client_secret="s", allowed_emails=["Ann@Clinic.org"])

    assert oidc_operator(settings, {"sub": "1", "email": "ann@clinic.org"}) == "ann@clinic.org"
    assert oidc_operator(settings, {"sub": "2", "email": "bob@clinic.org"}) is None
    assert oidc_operator(settings, {"sub": "3"}) is None


def test_a_workspace_without_any_sign_in_is_refused_at_start(tmp_path: Path) -> None:
    config = tmp_path / "service.toml"
    config.write_text(f'[workspace]\nsecret_key = "{SECRET}"\n')

    with pytest.raises(SettingsError, match=r"workspace: .*\[workspace.oidc\]"):
        load_settings(config)


def test_a_short_secret_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "service.toml"
    config.write_text(
        '[workspace]\nsecret_key = "short"\n[workspace.local_user]\nusername = "a"\npassword_hash = "x"\n'
    )

    with pytest.raises(SettingsError, match="secret_key"):
        load_settings(config)


@pytest.fixture
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class IdentityProvider:
    """An OpenID provider as Authlib's HTTP client sees it: discovery, keys and a token endpoint that signs an ID
    token for `email` with the nonce the sign-in started with."""

    def __init__(self, email: str) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.email = email
        self.nonce = ""

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/.well-known/openid-configuration":
            return httpx2.Response(200, json={
                "issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/authorize", "token_endpoint": f"{ISSUER}/token",
                "jwks_uri": f"{ISSUER}/jwks", "id_token_signing_alg_values_supported": ["RS256"],
            })  # fmt: skip
        if request.url.path == "/jwks":
            public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
            return httpx2.Response(200, json={"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]})
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": "workspace", "sub": "u-1", "email": self.email, "iat": now, "exp": now + 300}
        id_token = jwt.encode({**claims, "nonce": self.nonce}, self.key, algorithm="RS256", headers={"kid": "k1"})
        return httpx2.Response(200, json={"access_token": "a", "token_type": "Bearer", "id_token": id_token})


@pytest.fixture
def provider() -> IdentityProvider:
    return IdentityProvider("ann@clinic.org")


@pytest.fixture
def client(provider: IdentityProvider) -> Iterator[TestClient]:
    settings = Settings(
        workspace={
            "secret_key": SECRET,
            "secure_cookie": False,
            "oidc": {"issuer": ISSUER, "client_id": "workspace", "client_secret": "shh"},
        },
    )
    assert settings.workspace is not None
    service = FastAPI()
    links = TimelineLinks(SECRET, 60)
    workspace = workspace_app(
        settings, settings.workspace, load_catalog(None), links, date.today,
        identity_transport=httpx2.MockTransport(provider),
    )  # fmt: skip
    service.mount("/workspace", workspace)
    with TestClient(service, follow_redirects=False) as test_client:
        yield test_client


def test_oidc_sign_in_runs_the_authorization_code_flow_and_opens_the_workspace(
    client: TestClient, provider: IdentityProvider
) -> None:
    start = client.get("/workspace/login/oidc")
    assert start.status_code == 302
    assert start.headers["location"].startswith(f"{ISSUER}/authorize?")
    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert query["client_id"] == ["workspace"]
    assert query["code_challenge_method"] == ["S256"]
    provider.nonce = query["nonce"][0]

    back = client.get("/workspace/login/oidc/callback", params={"code": "c-1", "state": query["state"][0]})

    assert back.status_code == 303
    assert back.headers["location"].endswith("/workspace/worklist")
    page = client.get("/workspace/worklist")
    assert page.status_code == 200
    assert "ann@clinic.org" in page.text


def test_an_oidc_callback_with_a_forged_state_signs_nobody_in(client: TestClient) -> None:
    client.get("/workspace/login/oidc")

    back = client.get("/workspace/login/oidc/callback", params={"code": "c-1", "state": "forged"})

    assert back.status_code == 401
    assert client.get("/workspace/worklist").status_code == 303


def test_an_id_token_for_another_nonce_signs_nobody_in(client: TestClient, provider: IdentityProvider) -> None:
    query = parse_qs(urlsplit(client.get("/workspace/login/oidc").headers["location"]).query)
    provider.nonce = "replayed-from-another-sign-in"

    back = client.get("/workspace/login/oidc/callback", params={"code": "c-1", "state": query["state"][0]})

    assert back.status_code == 401
    assert client.get("/workspace/worklist").status_code == 303

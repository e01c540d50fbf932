"""Who may open the workspace: a local user with an argon2 password hash (sandbox), or OpenID Connect sign-in
through the organisation's identity provider (authorization-code flow with PKCE, by Authlib).

The session is a signed cookie (Starlette's SessionMiddleware) holding the operator's name, a CSRF token and, during
an OIDC sign-in, Authlib's state; never anything about a patient.
"""

from __future__ import annotations

import hmac
import secrets
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from authlib.integrations.starlette_client import OAuth
from starlette.requests import Request

from plugin.serving.settings import WorkspaceLocalUser, WorkspaceOidc

OPERATOR = "operator"
CSRF = "csrf"
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Checked when the user name is wrong too, so a wrong name costs the same time as a wrong password. Made at the
    first sign-in, not at import: one argon2 hash takes ~0.2 s and 64 MiB, which every worker's start-up paid."""
    return _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_local(user: WorkspaceLocalUser, username: str, password: str) -> bool:
    known = hmac.compare_digest(username.encode(), user.username.encode())
    try:
        return _hasher.verify(user.password_hash if known else _dummy_hash(), password) and known
    except (VerificationError, InvalidHashError):
        return False


def operator_of(request: Request) -> str | None:
    name = request.session.get(OPERATOR)
    return name if isinstance(name, str) else None


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF)
    if not isinstance(token, str):
        token = request.session[CSRF] = secrets.token_urlsafe(24)
    return token


def csrf_valid(request: Request, submitted: str | None) -> bool:
    token = request.session.get(CSRF)
    return isinstance(token, str) and submitted is not None and hmac.compare_digest(token, submitted)


def sign_in(request: Request, name: str) -> None:
    """A fresh session for `name`: the pre-login session (and its CSRF token) is dropped."""
    request.session.clear()
    request.session[OPERATOR] = name
    request.session[CSRF] = secrets.token_urlsafe(24)


def oidc_client(settings: WorkspaceOidc, transport: Any = None) -> Any:
    """Authlib's client for the issuer; `transport` (an httpx2 transport) lets tests stand in for the provider."""
    oauth = OAuth()
    oauth.register(
        name="operators",
        server_metadata_url=settings.issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        client_kwargs={
            "scope": "openid email profile",
            "code_challenge_method": "S256",
            **({"transport": transport} if transport is not None else {}),
        },
    )
    return oauth.create_client("operators")


def oidc_operator(settings: WorkspaceOidc, userinfo: dict[str, Any]) -> str | None:
    """The operator's name from the ID token's claims, or None when the configured list does not admit them."""
    email = userinfo.get("email")
    name = email if isinstance(email, str) and email else userinfo.get("sub")
    if not isinstance(name, str) or not name:
        return None
    if settings.allowed_emails and (
        not isinstance(email, str) or email.lower() not in {allowed.lower() for allowed in settings.allowed_emails}
    ):
        return None
    return name

"""Service settings: a TOML file (`--config`), overridden per top-level key by `EPIDURAL_CDS_<NAME>` variables.

Unknown keys, in the file or the environment, stop start-up with a message naming them: a misspelt
`trusted_clients` must not quietly leave the service open or closed. Authentication is not a setting: only
`serve --no-auth`, typed by a person and answered with a loud warning, turns it off, so no file or variable left behind
on a server can.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cds_hooks.endpoints import FeedbackLimits
from plugin.hooks.fhir_client import DEFAULT_MAX_CALL_BYTES, DEFAULT_MAX_RESPONSE_BYTES

ENV_PREFIX = "EPIDURAL_CDS_"
CONFIG_FILE_VARIABLE = "EPIDURAL_CDS_CONFIG"  # the config file's path, not a setting
_NO_AUTH_KEY = "auth"  # a setting no longer: named so that whoever sets it learns what to do instead


def default_feedback_db(environ: Mapping[str, str] = os.environ) -> str:
    """The per-user data file, whatever the working directory: `$XDG_DATA_HOME/epidural-cds/feedback.db`, or
    `~/.local/share/epidural-cds/feedback.db` when XDG_DATA_HOME is unset (or, against the XDG spec, relative)."""
    data_home = Path(environ.get("XDG_DATA_HOME") or "")
    if not data_home.is_absolute():
        data_home = Path.home() / ".local" / "share"
    return f"sqlite:///{data_home / 'epidural-cds' / 'feedback.db'}"


class SettingsError(Exception):
    """The configuration cannot be used; the message says what to change."""


class StartupRefused(Exception):
    """The settings would run an unsafe or broken service; the message says what to configure."""


class TrustedClientSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str = Field(min_length=1)
    jwks_url: str | None = None
    jwks: dict[str, Any] | None = None
    fhir_servers: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_key_source(self) -> TrustedClientSettings:
        if (self.jwks_url is None) == (self.jwks is None):
            raise ValueError("give exactly one of jwks_url or jwks")
        return self


class WorkspaceLocalUser(BaseModel):
    """A sandbox operator: a user name and an argon2 hash of the password (`epidural-cds workspace hash-password`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str = Field(min_length=1)
    password_hash: str = Field(pattern=r"^\$argon2(id|i|d)\$")


class WorkspaceOidc(BaseModel):
    """The operators' identity provider: OpenID Connect authorization-code flow, discovered from the issuer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str = Field(pattern=r"^https?://")
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1, repr=False)
    allowed_emails: list[str] = Field(default_factory=list)  # empty: every user the issuer signs in


class WorkspaceSettings(BaseModel):
    """`[workspace]`: the operators' browser workspace at /workspace, off unless this table is present."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret_key: str = Field(min_length=32, repr=False)  # signs the session cookie, encrypts timeline links
    session_minutes: int = Field(default=480, ge=5, le=7 * 24 * 60)
    timeline_link_minutes: int = Field(default=24 * 60, ge=5, le=30 * 24 * 60)
    worklist_file: Path | None = None  # JSON Lines written by `epidural-cds worklist --json --output`
    fhir_server: str | None = None  # where the timeline reads a patient's record
    fhir_token_env: str | None = None  # environment variable with a bearer token for that server
    secure_cookie: bool = True  # False only for plain-HTTP sandboxes on localhost
    local_user: WorkspaceLocalUser | None = None
    oidc: WorkspaceOidc | None = None

    @model_validator(mode="after")
    def _one_login(self) -> WorkspaceSettings:
        if self.local_user is None and self.oidc is None:
            raise ValueError("configure [workspace.oidc] (production) or [workspace.local_user] (sandbox)")
        return self


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    public_base_url: str | None = None
    policy_dir: Path | None = None
    feedback_db: str = Field(default_factory=default_feedback_db)
    trusted_clients: list[TrustedClientSettings] = Field(default_factory=list)
    cors_allow_origins: list[str] = Field(default_factory=lambda: ["*"])
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    fhir_budget_seconds: float = Field(default=4.0, gt=0, le=60)
    fhir_page_cap: int = Field(default=20, ge=1, le=1000)
    fhir_page_size: int = Field(default=100, ge=1, le=1000)
    jwt_leeway_seconds: int = Field(default=60, ge=0, le=600)
    # A client gets this long for a request's headers, then as long again for its body (serving/request_deadlines.py).
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    body_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    # A FHIR answer is counted as it is inflated, so a small compressed page cannot become gigabytes.
    fhir_max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, ge=64 * 1024)
    fhir_max_call_bytes: int = Field(default=DEFAULT_MAX_CALL_BYTES, ge=64 * 1024)
    # One feedback post is one database transaction, and SQLite has one writer: its size bounds everyone's wait.
    feedback_max_items: int = Field(default=FeedbackLimits().max_items, ge=1, le=10_000)
    feedback_max_bytes: int = Field(default=FeedbackLimits().max_bytes, ge=1024)
    workspace: WorkspaceSettings | None = None

    @field_validator("public_base_url")
    @classmethod
    def _no_trailing_slash(cls, url: str | None) -> str | None:
        return url.rstrip("/") if url else url


def load_settings(
    config_file: Path | None = None, environ: Mapping[str, str] | None = None, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {}
    if config_file is not None:
        try:
            values.update(tomllib.loads(config_file.read_text("utf-8")))
        except OSError as error:
            raise SettingsError(f"cannot read {config_file}: {error.strerror}") from None
        except tomllib.TOMLDecodeError as error:
            raise SettingsError(f"{config_file} is not valid TOML: {error}") from None
        if _NO_AUTH_KEY in values:
            raise SettingsError(_no_auth_message(f"`{_NO_AUTH_KEY}` in {config_file}"))
    for name, raw in (environ or {}).items():
        if name.startswith(ENV_PREFIX) and name != CONFIG_FILE_VARIABLE:
            key = name.removeprefix(ENV_PREFIX).lower()
            if key == _NO_AUTH_KEY:
                raise SettingsError(_no_auth_message(name))
            if key not in Settings.model_fields:
                raise SettingsError(f"unknown setting {name}; known: {', '.join(sorted(Settings.model_fields))}")
            values[key] = _env_value(key, raw)
    values.update({key: value for key, value in overrides.items() if value is not None})
    try:
        return Settings.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in error.errors(include_input=False, include_url=False)
        )
        raise SettingsError(f"invalid configuration: {problems}") from None


def _no_auth_message(where: str) -> str:
    return (
        f"{where} is not a setting: authentication cannot be configured off. "
        "Remove it; for local sandbox work only, run `epidural-cds serve --no-auth`"
    )


def _env_value(key: str, raw: str) -> Any:
    """Lists and tables come as JSON; everything else as the plain string, which pydantic converts."""
    annotation = str(Settings.model_fields[key].annotation)
    if annotation.startswith("list"):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            raise SettingsError(f"{ENV_PREFIX}{key.upper()} must be a JSON list") from None
    return raw

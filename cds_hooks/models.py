"""CDS Hooks 2.0 wire models.

camelCase on the wire and "omit, never null" live in one base class, so no response can carry a null or empty field
by accident. Requests are read leniently (unknown fields ignored, as the spec asks); FHIR resources inside them stay
opaque here, because reading FHIR is `fhir_mappings`' job. Prefetch values read from a request body stay raw JSON
(`msgspec.Raw`, slices of the body): a reader decodes only the fields it needs from the bytes, instead of the whole
prefetch becoming a tree of dicts first (most of a request's bytes, and a 10 MB history's parse time and memory).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypedDict
from urllib.parse import urlsplit

import msgspec
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

Indicator = Literal["info", "warning", "critical"]
SelectionBehavior = Literal["at-most-one", "any"]
ActionType = Literal["create", "update", "delete"]
LinkType = Literal["absolute", "smart"]


def new_uuid() -> str:
    return str(uuid.uuid4())


def _no_nul(text: str) -> str:
    # Stored text: PostgreSQL refuses NUL in text columns, and no identifier or comment needs one.
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


# Feedback values are stored, some as keys of a unique index (PostgreSQL's index rows stop at ~2.7 KB): bounded here,
# at the edge, so every backend refuses the same values with a 400 instead of a storage error.
StoredId = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(_no_nul)]
StoredText = Annotated[str, Field(max_length=1024), AfterValidator(_no_nul)]
StoredComment = Annotated[str, Field(max_length=10_000), AfterValidator(_no_nul)]


class CdsModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = _prune(self.model_dump(mode="json", by_alias=True, exclude_none=True))
        return wire


def _prune(value: Any) -> Any:
    """Drop empty lists, dicts and strings: the spec forbids empty fields as much as null ones."""
    if isinstance(value, dict):
        pruned = {key: _prune(item) for key, item in value.items()}
        return {key: item for key, item in pruned.items() if item not in ("", [], {})}
    if isinstance(value, list):
        return [_prune(item) for item in value]
    return value


class Coding(CdsModel):
    code: str
    system: str | None = None
    display: str | None = None


class Link(CdsModel):
    label: str
    url: str
    type: LinkType = "absolute"
    app_context: str | None = None


class Source(CdsModel):
    label: str
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Action(CdsModel):
    type: ActionType
    description: str
    resource: dict[str, Any] | None = None
    resource_id: str | None = None


class Suggestion(CdsModel):
    label: str
    uuid: str = Field(default_factory=new_uuid)
    is_recommended: bool | None = None
    actions: list[Action] = Field(default_factory=list)


class Card(CdsModel):
    summary: str = Field(max_length=139)
    indicator: Indicator
    source: Source
    uuid: str = Field(default_factory=new_uuid)
    detail: str | None = None
    suggestions: list[Suggestion] = Field(default_factory=list)
    selection_behavior: SelectionBehavior | None = None
    override_reasons: list[Coding] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)


class CdsResponse(CdsModel):
    cards: list[Card] = Field(default_factory=list)
    system_actions: list[Action] = Field(default_factory=list)

    def to_wire(self) -> dict[str, Any]:
        wire = super().to_wire()
        wire.setdefault("cards", [])  # `cards` is the one field the spec requires even when empty
        return wire


class ServiceDescriptor(CdsModel):
    id: str
    hook: str
    title: str
    description: str
    prefetch: dict[str, str] = Field(default_factory=dict)
    usage_requirements: str | None = None


class FhirAuthorization(BaseModel):
    """snake_case on the wire (OAuth 2.0 token response), unlike every other CDS Hooks field."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    access_token: str = Field(repr=False)
    token_type: str = "Bearer"
    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None


class HookRequest(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")

    hook: str = Field(min_length=1)
    hook_instance: str = Field(min_length=1)
    context: dict[str, Any]
    fhir_server: str | None = None
    fhir_authorization: FhirAuthorization | None = None
    prefetch: dict[str, Any] | None = None

    @field_validator("context")
    @classmethod
    def _patient_is_named(cls, context: dict[str, Any]) -> dict[str, Any]:
        patient_id = context.get("patientId")
        if not isinstance(patient_id, str) or not patient_id.strip():
            raise ValueError("context.patientId is required and must be a non-empty string")
        return context

    @field_validator("fhir_server")
    @classmethod
    def _fhir_server_is_a_url(cls, fhir_server: str | None) -> str | None:
        # The value is not echoed: a URL may carry a patient or tenant id.
        if fhir_server is None:
            return None
        if not fhir_server.isascii() or not fhir_server.isprintable() or " " in fhir_server:
            raise ValueError("fhirServer is not a valid URL")
        try:
            parts = urlsplit(fhir_server)
            parts.port  # noqa: B018 - parsing the port is the check
        except ValueError:
            raise ValueError("fhirServer is not a valid URL") from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError("fhirServer must be an absolute http or https URL")
        return fhir_server

    @property
    def patient_id(self) -> str:
        return str(self.context["patientId"])

    @classmethod
    def from_json(cls, body: bytes) -> HookRequest | None:
        """The request read from its body with prefetch values left raw, or None when the body is not a plain
        well-formed hook request: the caller then reads it the ordinary way, which also words the error."""
        try:
            return cls.model_validate(_WIRE_HOOK_REQUEST.decode(body))
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError, ValueError):
            return None


class _WireHookRequest(TypedDict, total=False):
    """The top-level fields of a hook request as sent, by alias and by name, as `HookRequest` accepts them."""

    hook: Any
    hookInstance: Any
    hook_instance: Any
    context: Any
    fhirServer: Any
    fhir_server: Any
    fhirAuthorization: Any
    fhir_authorization: Any
    prefetch: dict[str, msgspec.Raw] | None


_WIRE_HOOK_REQUEST = msgspec.json.Decoder(_WireHookRequest)


class AcceptedSuggestion(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: StoredId


class OverrideReasonCoding(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    code: StoredId | None = None
    system: StoredText | None = None
    display: StoredText | None = None


class OverrideReason(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")

    reason: OverrideReasonCoding | None = None
    user_comment: StoredComment | None = None


class FeedbackItem(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")

    card: StoredId
    outcome: Literal["accepted", "overridden"]
    outcome_timestamp: AwareDatetime
    accepted_suggestions: list[AcceptedSuggestion] = Field(default_factory=list)
    override_reason: OverrideReason | None = None

    @field_validator("outcome_timestamp")
    @classmethod
    def _has_a_utc_instant(cls, value: datetime) -> datetime:
        # 0001-01-01T00:00:00+01:00 parses, but lies before the first instant UTC can name.
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError("outcomeTimestamp is out of range") from None
        return value


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    feedback: list[FeedbackItem] = Field(min_length=1)

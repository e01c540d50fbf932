"""The strict schema every policy file follows. Unknown keys are errors, so a typo cannot silently drop a limit.

Three kinds of file share this package:
- a payer policy (`kind: payer-policy`): frequency windows, per-session limits, imaging and diagnosis requirements;
- the coding conventions (`kind: coding-conventions`): CPT/NCCI/ICD-10-CM facts that hold for every payer;
- the coverage mapping (`kind: coverage-mapping`): which payer policy applies to which Coverage.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

Code = Annotated[str, Field(min_length=2, max_length=16, pattern=r"^[0-9A-Z][0-9A-Z.\-]*$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Citation(Strict):
    title: str = Field(min_length=3)
    url: HttpUrl
    note: str | None = None


class Effective(Strict):
    start: date
    end: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Effective:
        if self.end is not None and self.end < self.start:
            raise ValueError("end is before start")
        return self

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


class WindowLimit(Strict):
    """At most `max_sessions` sessions (and `max_injections` injections) in any rolling window of `months`."""

    months: int = Field(ge=1, le=60)
    max_sessions: int | None = Field(default=None, ge=0)
    max_injections: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _has_a_cap(self) -> WindowLimit:
        if self.max_sessions is None and self.max_injections is None:
            raise ValueError("a window needs max_sessions, max_injections or both")
        return self


class Exemptions(Strict):
    """Orders that are not counted against the frequency limits."""

    pump_trial: bool = False
    reason_codes: list[Code] = Field(default_factory=list)
    citation: str | None = None


class Frequency(Strict):
    scope: Literal["per-region", "combined"]
    counted_codes: list[Code] = Field(min_length=1)
    limits: list[WindowLimit] = Field(min_length=1)
    exemptions: Exemptions = Field(default_factory=Exemptions)
    citation: str
    bilateral_injections: Literal[1, 2] = Field(
        default=2,
        description="injections a bilateral injection at one level (modifier 50, or RT and LT lines of one code on "
        "one date) counts as; Florida Blue MP-303 counts it as one",
    )
    bilateral_citation: str | None = Field(default=None, description="the policy's words, when it says how to count")


class SessionLimits(Strict):
    max_regions: int | None = Field(default=None, ge=1)
    max_transforaminal_levels: int | None = Field(default=None, ge=1)
    max_interlaminar_levels: int | None = Field(default=None, ge=1)
    bilateral_interlaminar: bool = True
    citation: str


class ImagingRequirement(Strict):
    """The payer covers the injection only under these guidance modalities."""

    accepted: list[Literal["fluoroscopy", "ct"]] = Field(min_length=1)
    codes: list[Code] = Field(min_length=1)
    citation: str


class DiagnosisCoverage(Strict):
    """Diagnoses (ICD-10-CM codes or code prefixes) the payer accepts for the counted codes."""

    covered: list[Code] = Field(min_length=1)
    exempt_diagnoses: list[Code] = Field(default_factory=list)
    exempt_procedure_codes: list[Code] = Field(default_factory=list)
    exempt_pump_trial: bool = False
    needs_verification: bool
    citation: str


class PriorAuthorization(Strict):
    indicator: Literal["info", "warning"]
    from_session: int = Field(ge=1, description="the first session in the window that needs authorization")
    window_months: int = Field(ge=1, le=60)
    advice: str
    citation: str


class CoverageSelector(Strict):
    """Matches a Coverage by its type code (system + code prefix) or by words in its payor or plan name."""

    type_system: str | None = None
    type_code_prefix: str | None = None
    payer_name_matches: str | None = None

    @model_validator(mode="after")
    def _selects_something(self) -> CoverageSelector:
        if (self.type_system is None) != (self.type_code_prefix is None):
            raise ValueError("type_system and type_code_prefix go together")
        if self.type_system is None and self.payer_name_matches is None:
            raise ValueError("a selector needs a type code or a payer name pattern")
        return self

    @field_validator("payer_name_matches")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"not a valid regular expression: {error}") from None
        return pattern


class PayerPolicy(Strict):
    kind: Literal["payer-policy"]
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: str = Field(min_length=1)
    title: str
    payer: str
    effective: Effective
    sources: list[Citation] = Field(min_length=1)
    conservative_default: bool = False
    frequency: Frequency
    session_limits: SessionLimits | None = None
    imaging_required: ImagingRequirement | None = None
    diagnoses: DiagnosisCoverage | None = None
    prior_authorization: PriorAuthorization | None = None

    @property
    def link(self) -> Citation:
        return self.sources[0]


class ModifierRestriction(Strict):
    codes: list[Code] = Field(min_length=1)
    forbidden: list[Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$")]] = Field(min_length=1)
    reason: str
    citation: str


class DeletedCode(Strict):
    code: Code
    deleted_on: date
    replaced_by: list[Code] = Field(min_length=1)
    citation: str


class ChecklistItem(Strict):
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    label: str


class DiagnosisConventions(Strict):
    """The ICD-10-CM reporting rules the diagnosis checks cite, and how many alternative codes a card offers."""

    link: Citation = Field(description="what diagnosis cards link to (the conventions' first source is about imaging)")
    required_citation: str = Field(min_length=3, description="every claim line needs a supporting diagnosis")
    validity_citation: str = Field(min_length=3, description="billable, to full length, in force on the service date")
    excludes1_citation: str = Field(min_length=3)
    region_citation: str = Field(min_length=3, description="the diagnosis names the region injected")
    max_suggestions: int = Field(ge=1, le=10, description="alternative codes offered on one card")


class ConservativeCare(Strict):
    """Prior treatment that counts as conservative care: procedure codes, and words in procedure text or notes."""

    codes: list[Code] = Field(min_length=1)
    phrases: list[str] = Field(min_length=1, description="matched as whole words, in any case")
    abbreviations: list[str] = Field(
        default_factory=list, description="matched as whole words, exactly as written, so 'PT' is not 'pt' (patient)"
    )
    citation: str


class PainScoreVocabulary(Strict):
    """Words that show a pain or function score was recorded before and after the injection."""

    scales: list[str] = Field(min_length=1, description="names of a score: VAS, NRS, Oswestry")
    readings: list[str] = Field(min_length=1, description="how a reading is written: '/10', 'out of 10'")
    before: list[str] = Field(min_length=1)
    after: list[str] = Field(min_length=1)
    citation: str


class SessionCounting(Strict):
    """How the lines of one session are read when its levels and regions are counted, for every payer."""

    add_on_citation: str = Field(min_length=3, description="an add-on level code needs its primary code")
    laterality_modifiers: list[Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$")]] = Field(
        description="one line per side (RT, LT) repeats the same levels on the other side: not more levels"
    )
    laterality_citation: str = Field(min_length=3)
    distinct_procedure_modifiers: list[Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$")]] = Field(
        description="59 and the X modifiers: they do not make a second region or extra level allowed"
    )
    distinct_procedure_citation: str = Field(min_length=3)


class CodingConventions(Strict):
    kind: Literal["coding-conventions"]
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: str
    title: str
    sources: list[Citation] = Field(min_length=1)
    guidance_codes: list[Code] = Field(min_length=1, description="imaging guidance never reported beside an injection")
    guidance_citation: str
    guidance_modalities: list[Literal["fluoroscopy", "ct"]] = Field(
        min_length=1, description="what 'with imaging guidance' means in the injection codes; ultrasound is not it"
    )
    neurolytic_codes: dict[str, Code]
    neurolytic_citation: str
    nonspecific_diagnoses: list[Code]
    nonspecific_citation: str
    diagnosis: DiagnosisConventions
    modifier_restrictions: list[ModifierRestriction] = Field(default_factory=list)
    session_counting: SessionCounting
    deleted_drug_codes: list[DeletedCode] = Field(default_factory=list)
    documentation_checklist: list[ChecklistItem] = Field(min_length=1)
    documentation_citation: str
    conservative_care: ConservativeCare
    pain_scores: PainScoreVocabulary
    evidence_modalities: list[Annotated[str, Field(pattern=r"^[A-Z]{2,3}$")]] = Field(min_length=1)
    evidence_min_instances: int = Field(ge=1)
    evidence_citation: str

    @property
    def link(self) -> Citation:
        return self.sources[0]


class CoverageRule(Strict):
    policy: str
    when: CoverageSelector


class CoverageMapping(Strict):
    kind: Literal["coverage-mapping"]
    default_policy: str
    rules: list[CoverageRule]


SpinalRegionName = Literal["cervical-thoracic", "lumbar-sacral"]


class AppointmentType(Strict):
    """A local appointment or service type and the injection it books: by a code of appointmentType, serviceType or
    specialty (optionally of one system), or by its text, compared without case or surrounding spaces."""

    code: str | None = Field(default=None, min_length=1)
    system: str | None = None
    text: str | None = Field(default=None, min_length=1)
    procedure_codes: list[Code] = Field(default_factory=list, description="the CPT codes the visit is booked for")
    region: SpinalRegionName | None = Field(default=None, description="the region, when the type names no code")

    @model_validator(mode="after")
    def _maps_something(self) -> AppointmentType:
        if (self.code is None) == (self.text is None):
            raise ValueError("an appointment type is matched by code or by text (one of them)")
        if self.system is not None and self.code is None:
            raise ValueError("system goes with code")
        if not self.procedure_codes and self.region is None:
            raise ValueError("an appointment type maps to procedure_codes, a region, or both")
        return self


class NotSessions(Strict):
    """Epidurals that are not ESI sessions and never count: perioperative and labour catheters."""

    phrases: list[str] = Field(min_length=1, description="matched as whole words, in any case, in the order's words")
    reason_code_prefixes: list[Code] = Field(default_factory=list, description="ICD-10-CM codes or code prefixes")
    citation: str = Field(min_length=3)


class SessionTypes(Strict):
    """What makes an appointment or order an injection session, for every payer: the site's local appointment types
    (an operator's file of this kind adds its types before the shipped ones) and what is never a session."""

    kind: Literal["session-types"]
    appointment_types: list[AppointmentType] = Field(default_factory=list)
    visit_words: list[str] = Field(
        default_factory=list,
        description="words that make an appointment without a code or known type an injection visit, beside an "
        "approach the reader recognises; matched as whole words in any case",
    )
    not_sessions: NotSessions | None = Field(default=None, description="an operator's file may leave it out")

    def merged_over(self, shipped: SessionTypes) -> SessionTypes:
        """This (operator's) file over the shipped one: its types are tried first, its not_sessions replace them."""
        return SessionTypes(
            kind="session-types",
            appointment_types=[*self.appointment_types, *shipped.appointment_types],
            visit_words=[*self.visit_words, *shipped.visit_words],
            not_sessions=self.not_sessions or shipped.not_sessions,
        )

"""The strict schema every policy file follows. Unknown keys are errors, so a typo cannot silently drop a limit.

Three kinds of file share this package:
- a payer policy (`kind: payer-policy`): frequency windows, per-session limits, imaging and diagnosis requirements,
  the interval between sessions, repeat criteria, conservative care, diagnostic imaging and prior authorization. Every
  number carries the payer's own words (`source`: quote, URL, verified or not). A file may hold several versions of one
  policy as YAML documents separated by `---`, each with its own effective dates;
- the coding conventions (`kind: coding-conventions`): CPT/NCCI/ICD-10-CM facts that hold for every payer;
- the coverage mapping (`kind: coverage-mapping`): which payer policy applies to which Coverage.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from fhir_mappings.facts import SiteOfService

Code = Annotated[str, Field(min_length=2, max_length=16, pattern=r"^[0-9A-Z][0-9A-Z.\-]*$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Citation(Strict):
    title: str = Field(min_length=3)
    url: HttpUrl
    note: str | None = None


class Quote(Strict):
    """The payer's own words for a number and where they were read. `verified: false` means nobody could check the
    words against the payer's current text: a card resting on such a number says so and is never critical."""

    text: str = Field(min_length=3, description="verbatim, as the source shows it")
    url: HttpUrl
    verified: bool
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
    source: Quote | None = None

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
    source: Quote | None = None


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


Phase = Literal["any", "initial", "repeat"]
"""Which sessions a criterion applies to: all, those of the initial phase, or repeats (see RepeatCriteria)."""


class MinimumInterval(Strict):
    """At least `days` days from the previous injection session (of the same region, for per-region policies)."""

    days: int = Field(ge=1, le=365)
    phase: Phase = "any"
    source: Quote


class RepeatCriteria(Strict):
    """A session after the first `initial_sessions` of an episode is a repeat, and needs a documented response to the
    last one: at least `relief_percent` relief lasting at least `weeks` weeks. An episode is the sessions of the
    region within `episode_months` before the session judged."""

    initial_sessions: int = Field(default=1, ge=1, le=12)
    episode_months: int = Field(default=12, ge=1, le=60)
    relief_percent: int = Field(ge=1, le=100)
    weeks: int = Field(ge=1, le=52)
    source: Quote


CareKind = Literal["therapy", "medication"]
_ALL_CARE: tuple[CareKind, ...] = ("therapy", "medication")


class ShorterCare(Strict):
    """Fewer weeks of care when the order's diagnoses show the case the policy names (Carelon: "2 if radiculopathy is
    clear"): one of `diagnoses` (ICD-10-CM codes and prefixes) among the order's reasons or the Conditions it cites."""

    weeks: int = Field(ge=0, le=52)
    diagnoses: list[Code] = Field(min_length=1)
    source: Quote


class ConservativeCareRequirement(Strict):
    """At least `weeks` weeks of conservative care (physical therapy, medication, activity change) before a session.
    `kinds` are what counts: a policy asking for physical therapy in particular (Molina) lists only `therapy`."""

    weeks: int = Field(ge=1, le=52)
    kinds: list[CareKind] = Field(default_factory=lambda: list(_ALL_CARE), min_length=1)
    phase: Phase = "initial"
    source: Quote
    shorter: ShorterCare | None = None

    @model_validator(mode="after")
    def _shorter_is_shorter(self) -> ConservativeCareRequirement:
        if self.shorter is not None and self.shorter.weeks >= self.weeks:
            raise ValueError(f"shorter.weeks ({self.shorter.weeks}) must be fewer than weeks ({self.weeks})")
        return self


class DiagnosticImagingRequirement(Strict):
    """An MRI or CT of the region (DICOM modality codes) within `months` months before the session."""

    months: int = Field(ge=1, le=60)
    modalities: list[Annotated[str, Field(pattern=r"^[A-Z]{2,3}$")]] = Field(min_length=1)
    phase: Phase = "initial"
    source: Quote


class PriorAuthorization(Strict):
    """Who must authorize which sessions: by program dates, state where the service is furnished, codes and phase."""

    program: str = Field(min_length=3, description="as cards name it: 'CMS WISeR Model', 'eviCore'")
    indicator: Literal["info", "warning"]
    from_session: int = Field(default=1, ge=1, description="the first session in the window that needs authorization")
    window_months: int = Field(default=12, ge=1, le=60)
    phase: Phase = "any"
    effective: Effective | None = None
    states: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = Field(
        default_factory=list, description="where the service is furnished; empty means every state"
    )
    codes: list[Code] = Field(default_factory=list, description="empty means every counted code")
    conditional_codes: dict[Code, str] = Field(
        default_factory=dict, description="codes that need it only in some cases, with the case in words"
    )
    sites: list[SiteOfService] = Field(
        default_factory=list,
        description="sites of service it applies to (office, hospital-outpatient, ambulatory-surgical-center, "
        "inpatient, emergency); empty means all",
    )
    advice: str
    source: Quote


class CoverageSelector(Strict):
    """Matches a Coverage by its type code (system + code prefix), its payer's identifiers (payer id, NAIC code), words
    in its payor or plan name, and the state where the service is furnished. Every condition given must hold."""

    type_system: str | None = None
    type_code_prefix: str | None = None
    payer_identifiers: list[str] = Field(default_factory=list, description="identifier values of the payer")
    payer_name_matches: str | None = None
    states: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _selects_something(self) -> CoverageSelector:
        if (self.type_system is None) != (self.type_code_prefix is None):
            raise ValueError("type_system and type_code_prefix go together")
        if self.type_system is None and self.payer_name_matches is None and not self.payer_identifiers:
            raise ValueError("a selector needs a type code, a payer identifier or a payer name pattern")
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
    number: str | None = Field(default=None, description="the payer's own policy number: 'MCP-032', 'L39240'")
    payer: str
    jurisdiction_states: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = Field(default_factory=list)
    effective: Effective
    sources: list[Citation] = Field(min_length=1)
    frequency: Frequency
    session_limits: SessionLimits | None = None
    imaging_required: ImagingRequirement | None = None
    diagnoses: DiagnosisCoverage | None = None
    intervals: list[MinimumInterval] = Field(default_factory=list)
    repeat: RepeatCriteria | None = None
    conservative_care: ConservativeCareRequirement | None = None
    diagnostic_imaging: DiagnosticImagingRequirement | None = None
    prior_authorizations: list[PriorAuthorization] = Field(default_factory=list)

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
    """Prior treatment that counts as conservative care. Therapy: procedure codes (CPT, SNOMED CT) and words in
    procedure or encounter text and notes. Medication: drug words and RxNorm ingredient codes on medication orders
    and statements (a product coding carries its own RxNorm code, so products are found by their names)."""

    codes: list[Code] = Field(min_length=1)
    phrases: list[str] = Field(min_length=1, description="matched as whole words, in any case")
    abbreviations: list[str] = Field(
        default_factory=list, description="matched as whole words, exactly as written, so 'PT' is not 'pt' (patient)"
    )
    medications: list[str] = Field(default_factory=list, description="drug and class names, whole words, any case")
    medication_codes: list[Code] = Field(default_factory=list, description="RxNorm ingredient codes")
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
    indications: list[Code] = Field(
        min_length=1,
        description="diagnoses (codes and prefixes) that support an ESI for a payer with no covered list of its own: "
        "what a suggested diagnosis must be",
    )
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
    service_state: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{2}$",
        description="the state where this site furnishes services, for state-bound policies (WISeR, Medicaid plans)",
    )
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

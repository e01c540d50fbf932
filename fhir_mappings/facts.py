"""Domain facts read from FHIR: small, frozen, free of FHIR shapes.

Each fact keeps `source` ("Procedure/123") so a card can point at its evidence, and nothing else of the resource.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import msgspec

from fhir_mappings.spine import Approach, SpinalLevel, SpinalRegion


class Modality(StrEnum):
    """Imaging guidance as the codes and policies distinguish it."""

    FLUOROSCOPY = "fluoroscopy"
    CT = "ct"
    ULTRASOUND = "ultrasound"
    OTHER = "other"


class Fact(msgspec.Struct, frozen=True, gc=False):
    """A history makes thousands of facts a call, and a msgspec Struct is built in a quarter of the time of a frozen
    dataclass (its fields are set in C, not by `object.__setattr__` one by one). gc=False: facts hold strings,
    dates and tuples of other facts, never a cycle, so the collector need not track them."""


class Evidence(StrEnum):
    """How strongly the record says something about *this* injection; the strength of a card follows it.

    A one-click fix rests only on STRUCTURED data or a STATED fact; a MENTIONED one gives at most a warning worded as a
    check, never a suggestion and never a critical card (docs/card-text.md, "Evidence")."""

    STRUCTURED = "structured"  # a code, a bodySite coding, usedCode, a MedicationAdministration, an Observation value
    STATED = "stated"  # an affirmed, unambiguous statement about this injection in the order, its reason or its note
    MENTIONED = "mentioned"  # words that may be about this injection, but whose target or assertion is not certain


class StatedIntent(Fact, frozen=True):
    """What an order or note says about the injection in coded data and in its own words.

    `evidence` says, per attribute name ("approach", "levels", "body_site_regions", "guidance", "without_guidance",
    "catheter", "neurolytic", "bilateral", "pump_trial"), how strong the reading that set it is; an attribute that is
    set and not listed was read from an affirmed statement (STATED)."""

    approach: Approach | None = None
    levels: tuple[SpinalLevel, ...] = ()
    body_site_regions: frozenset[SpinalRegion] = frozenset()
    guidance: frozenset[Modality] = frozenset()
    without_guidance: bool = False
    catheter: bool | None = None
    neurolytic: bool = False
    bilateral: bool = False
    pump_trial: bool = False
    evidence: tuple[tuple[str, Evidence], ...] = ()

    def strength(self, attribute: str) -> Evidence:
        for name, strength in self.evidence:
            if name == attribute:
                return strength
        return Evidence.STATED

    def supports_fix(self, attribute: str) -> bool:
        """Whether a card may offer a one-click fix resting on `attribute`."""
        return self.strength(attribute) is not Evidence.MENTIONED


class Authorization(Fact, frozen=True):
    """A prior authorization the payer approved: for the procedure codes it names, in its period. Read from a
    ClaimResponse an order or a booking refers to (STRUCTURED), or from an authorization number its words affirm
    (STATED); a request pending, denied or cancelled is none (fhir_mappings/authorizations.py)."""

    source: str
    """The ClaimResponse ("ClaimResponse/pa-1"; "ServiceRequest/o1#pa-1" when contained), or the order or booking
    whose words state it."""
    number: str
    start: date | None = None
    end: date | None = None
    codes: tuple[str, ...] = ()
    """The procedure codes it approves; empty when it names none."""
    evidence: Evidence = Evidence.STRUCTURED

    def covers(self, day: date) -> bool:
        """Whether `day` is in its period; an end or start it does not state limits nothing."""
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    def approves(self, codes: frozenset[str]) -> bool:
        """Whether it approves every one of `codes`; one that names no code approves whatever it was attached to."""
        return not self.codes or codes <= frozenset(self.codes)


class InjectionOrder(Fact, frozen=True):
    """A draft ServiceRequest for a spinal injection (or one whose words say it is one)."""

    source: str
    code: str | None
    codes: tuple[str, ...]
    modifiers: tuple[str, ...]
    units: int
    occurrence: date | None
    reason_codes: tuple[str, ...]
    reason_references: tuple[str, ...]
    intent: StatedIntent
    text: str
    authorizations: tuple[Authorization, ...] = ()
    """Prior authorizations the order carries (a ClaimResponse it refers to, a number its notes state)."""


class CompanionOrder(Fact, frozen=True):
    """Any other draft order in the same request (a fluoroscopy order beside the injection, say)."""

    source: str
    codes: tuple[str, ...]
    text: str


class Documented(Fact, frozen=True):
    """What a procedure's notes affirm for the claim's documentation checklist (reference section 7): each item is met
    when it is in structured data or affirmed in the note (a negated "no medication injected" is not a drug)."""

    drug: bool = False
    dose: bool = False
    volume: bool = False
    response: bool = False
    complications: bool = False  # "no complications" documents them as surely as "vasovagal episode" does


class AdministeredDrug(Fact, frozen=True):
    """A MedicationAdministration: structured evidence of the drug, dose and route given."""

    source: str
    codes: tuple[str, ...]
    text: str
    dose: str | None
    route: str | None
    part_of: tuple[str, ...]
    encounter: str | None
    on: date | None


class ProcedureNote(Fact, frozen=True):
    """The text of a procedure note (DocumentReference), with what it is about: procedures or encounters."""

    source: str
    text: str
    related: tuple[str, ...]
    encounters: tuple[str, ...]
    on: date | None


class PerformedInjection(Fact, frozen=True):
    source: str
    code: str
    status: str
    performed_on: date
    units: int
    modifiers: tuple[str, ...]
    encounter: str | None
    based_on: tuple[str, ...]
    reason_codes: tuple[str, ...]
    reason_references: tuple[str, ...]
    intent: StatedIntent
    has_body_site: bool
    drug_codes: tuple[str, ...]
    has_outcome: bool
    has_complication_record: bool
    has_follow_up: bool
    notes: tuple[str, ...]
    documented: Documented = Documented()
    administered: tuple[AdministeredDrug, ...] = ()
    performed_at: datetime | None = None
    """When it began, where the record gives the time of day: pain scored that day before it is the baseline."""

    @property
    def counts_as_performed(self) -> bool:
        return self.status == "completed"

    def as_ordered(self, text: str = "") -> InjectionOrder:
        """The order this injection was, so the order-time rules can judge what was performed (worklist, denials)."""
        return InjectionOrder(
            source=self.source,
            code=self.code,
            codes=(self.code,),
            modifiers=self.modifiers,
            units=self.units,
            occurrence=self.performed_on,
            reason_codes=self.reason_codes,
            reason_references=self.reason_references,
            intent=self.intent,
            text=text,
        )


class OtherProcedure(Fact, frozen=True):
    """A Procedure with no spinal injection code: evidence of conservative care, guidance charges, and the like, or
    an injection recorded only in words ("Lumbar ESI L4-5 interlaminar under fluoro"), which `intent` reads."""

    source: str
    codes: tuple[str, ...]
    status: str
    performed_on: date | None
    encounter: str | None
    text: str
    intent: StatedIntent | None = None
    """What its words say of an injection; read only for a Procedure with no procedure code at all."""
    reason_codes: tuple[str, ...] = ()

    @property
    def happened(self) -> bool:
        """Done, under way or stopped part-way (FHIR EventStatus); not planned, not-done or entered in error."""
        return self.status in _HAPPENED


_HAPPENED = frozenset({"completed", "in-progress", "stopped"})


class Diagnosis(Fact, frozen=True):
    source: str
    code: str
    display: str | None
    active: bool
    confirmed: bool  # no verification status, or confirmed: what a claim may carry
    recorded_on: date | None
    encounter: str | None = None  # an encounter diagnosis (category encounter-diagnosis) names its encounter
    refuted: bool = False  # ruled out: not a reason for anything, even when an order names it


class ImagingEvidence(Fact, frozen=True):
    source: str
    modalities: frozenset[Modality]
    modality_codes: tuple[str, ...]
    instance_count: int
    started_on: date | None
    encounter: str | None
    procedure_references: tuple[str, ...]
    based_on: tuple[str, ...]
    available: bool


class PayerCoverage(Fact, frozen=True):
    source: str
    type_codes: tuple[tuple[str, str], ...]
    payor_names: tuple[str, ...]
    order: int | None
    active_on_period: tuple[date | None, date | None]
    status: str
    payer_identifiers: tuple[str, ...] = ()
    """Identifier values of the payer Organization (payer id, NAIC code), for matching a policy by identifier."""
    payer_states: tuple[str, ...] = ()
    """States of the payer Organization's addresses: where a Medicaid plan operates, when nothing else says."""

    def in_force_on(self, day: date) -> bool:
        start, end = self.active_on_period
        return self.status == "active" and (start is None or start <= day) and (end is None or day <= end)


class BookedSession(Fact, frozen=True):
    """An Appointment for a counted injection: booked, pending, arrived or checked-in ones reserve a session."""

    source: str
    status: str
    on: date | None
    codes: tuple[str, ...]
    intent: StatedIntent
    text: str
    type_codes: tuple[tuple[str | None, str], ...] = ()
    """(system, code) of every coding of its appointmentType, serviceType and specialty: local visit types."""
    type_texts: tuple[str, ...] = ()
    """The texts and coding displays of the same elements."""
    authorizations: tuple[Authorization, ...] = ()
    """Prior authorizations the booking carries, or the order it is based on."""


class SiteOfService(StrEnum):
    """Where a session takes place, in the terms payers use for sites of service (CMS Place of Service)."""

    OFFICE = "office"
    HOSPITAL_OUTPATIENT = "hospital-outpatient"
    AMBULATORY_SURGICAL_CENTER = "ambulatory-surgical-center"
    INPATIENT = "inpatient"
    EMERGENCY = "emergency"


class PlaceFoundOn(StrEnum):
    """Which resource named the place: the encounter, the appointment being booked, or the order."""

    ENCOUNTER = "encounter"
    APPOINTMENT = "appointment"
    ORDER = "order"


class ServicePlace(Fact, frozen=True):
    """Where the service is furnished, as far as the data we hold says: the state of its Location's address and the
    sites of service it may be (every site when nothing tells them apart)."""

    found_on: PlaceFoundOn
    state: str | None
    sites: frozenset[SiteOfService]
    source: str | None = None
    """The Location (or, for a site read from the encounter's class alone, the Encounter) it was read from."""


class SkippedResource(Fact, frozen=True):
    """A resource we could not read; kept so a card can say how much data was ignored, and why."""

    source: str
    reason: str


class ClinicalRecord(Fact, frozen=True):
    """Everything one hook call knows about the patient, as facts."""

    performed: tuple[PerformedInjection, ...] = ()
    other_procedures: tuple[OtherProcedure, ...] = ()
    diagnoses: tuple[Diagnosis, ...] = ()
    imaging: tuple[ImagingEvidence, ...] = ()
    coverages: tuple[PayerCoverage, ...] = ()
    bookings: tuple[BookedSession, ...] = ()
    skipped: tuple[SkippedResource, ...] = ()

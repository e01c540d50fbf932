"""The six CDS services: which data each needs, which rules it runs, and the one handler they share."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import httpx

from cds_hooks.access_log import annotate
from cds_hooks.endpoints import CdsService
from cds_hooks.models import CdsResponse, HookRequest, ServiceDescriptor
from fhir_mappings.bundles import by_full_url, index_by_reference, resources_in, separate_included
from fhir_mappings.care_history import CareHistory, read_care_events, read_diagnostic_studies, read_pain_scores
from fhir_mappings.documentation_links import documented
from fhir_mappings.facts import ClinicalRecord, ServicePlace, SkippedResource
from fhir_mappings.places import appointment_place, encounter_place, order_place
from fhir_mappings.readers import (
    read_appointments,
    read_conditions,
    read_coverages,
    read_draft_orders,
    read_imaging_studies,
    read_medication_administrations,
    read_procedure_notes,
    read_procedures,
    with_encounter_diagnoses,
)
from plugin.hooks import cards
from plugin.hooks.patient_data import FetchSettings, gather
from plugin.hooks.record_data import PREFETCH_TEMPLATES, DataKey, PatientData
from plugin.policies.catalog import PolicyCatalog, PolicySelection
from plugin.rules import code_choice, diagnosis, documentation, imaging
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.conservative_care import order_conservative_care
from plugin.rules.data_completeness import data_incomplete
from plugin.rules.diagnostic_imaging import order_diagnostic_imaging
from plugin.rules.findings import Finding
from plugin.rules.frequency import booking_frequency, budget, order_frequency
from plugin.rules.hook_facts import HookFacts, Rule
from plugin.rules.intervals import booking_interval, order_interval
from plugin.rules.prior_authorization import booking_prior_authorization, order_prior_authorization
from plugin.rules.repeat_criteria import booking_repeat_criteria, order_repeat_criteria

logger = logging.getLogger(__name__)

Subjects = Callable[[HookRequest, PatientData, ClinicalRecord], HookFacts]


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    id: str
    hook: str
    title: str
    description: str
    required: frozenset[DataKey]
    optional: frozenset[DataKey]
    rules: tuple[Rule, ...]
    subjects: Subjects
    quiet: frozenset[DataKey] = frozenset()
    """Optional data whose absence skips none of this service's checks, so no `data-incomplete` card names it."""
    read_under_every_policy: frozenset[DataKey] = frozenset()
    """Criteria data this service's rules read whatever the applied policy asks (see `unused`)."""

    @property
    def descriptor(self) -> ServiceDescriptor:
        # A key of another context field than the patient (the encounter) only where this hook reads it.
        prefetch = PREFETCH_TEMPLATES | {
            key.value: key.template for key in self.optional if key.value not in PREFETCH_TEMPLATES
        }
        return ServiceDescriptor(
            id=self.id, hook=self.hook, title=self.title, description=self.description, prefetch=prefetch
        )


def _draft_resources(request: HookRequest) -> list[Any]:
    return list(resources_in(request.context.get("draftOrders")))


def _order_facts(selected_only: bool) -> Subjects:
    def subjects(request: HookRequest, data: PatientData, record: ClinicalRecord) -> HookFacts:
        reason_texts = {diagnosis.source: diagnosis.display for diagnosis in record.diagnoses if diagnosis.display}
        drafts = _draft_resources(request)
        # A Location beside the orders in the draft bundle, or among the prefetched appointments' resources; and the
        # ClaimResponse an order's authorization refers to, also by the full URL of its draft bundle entry.
        beside = index_by_reference([*drafts, *resources_in(data.values.get(DataKey.APPOINTMENTS))])
        injections, companions = read_draft_orders(
            drafts, reason_texts, beside | by_full_url(request.context.get("draftOrders"))
        )
        orders = injections.facts
        selections = request.context.get("selections")
        if selected_only and isinstance(selections, list) and selections:
            chosen = {str(selection) for selection in selections}
            picked = [order for order in orders if order.source in chosen]
            # A selected guidance order is judged beside the injection it accompanies.
            orders = picked if picked or not any(c.source in chosen for c in companions.facts) else orders
        return HookFacts(
            record=_with_skipped(record, injections.skipped),
            orders=tuple(orders),
            companions=tuple(companions.facts),
            place=order_place(drafts, beside),
            conditions_known=DataKey.CONDITIONS not in data.unavailable,
            imaging_known=DataKey.IMAGING_STUDIES not in data.unavailable,
        )

    return subjects


def _appointment_facts(request: HookRequest, data: PatientData, record: ClinicalRecord) -> HookFacts:
    proposed_resources = list(resources_in(request.context.get("appointments")))
    resolvable = index_by_reference([*proposed_resources, *resources_in(data.values.get(DataKey.APPOINTMENTS))])
    proposed = read_appointments(proposed_resources, resolvable | by_full_url(request.context.get("appointments")))
    return HookFacts(
        record=_with_skipped(record, proposed.skipped),
        proposed=tuple(proposed.facts),
        # A Location beside the booking in its bundle, or among the prefetched appointments' resources.
        place=appointment_place(proposed_resources, resolvable),
    )


def _patient_facts(request: HookRequest, data: PatientData, record: ClinicalRecord) -> HookFacts:
    return HookFacts(record=record)


def _encounter_start_facts(request: HookRequest, data: PatientData, record: ClinicalRecord) -> HookFacts:
    return HookFacts(record=record, place=_encounter_place(data))


def _encounter_place(data: PatientData) -> ServicePlace | None:
    """The encounter's Location, contained in it or included beside it when the EHR prefetched a Bundle."""
    encounter, beside = _the_encounter(data)
    return encounter_place(encounter, beside) if encounter is not None else None


def _the_encounter(data: PatientData) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """The encounter key's Encounter, and every resource that came with it (a Bundle may include its Locations)."""
    beside = index_by_reference(resources_in(data.values.get(DataKey.ENCOUNTER)))
    return next((item for key, item in beside.items() if key.startswith("Encounter/")), None), beside


def _encounter_facts(request: HookRequest, data: PatientData, record: ClinicalRecord) -> HookFacts:
    encounter_id = request.context.get("encounterId")
    encounter = f"Encounter/{encounter_id}" if isinstance(encounter_id, str) and encounter_id else None
    given = read_medication_administrations(resources_in(data.values.get(DataKey.MEDICATION_ADMINISTRATIONS)))
    notes = read_procedure_notes(resources_in(data.values.get(DataKey.PROCEDURE_NOTES)))
    performed_here = documented(
        (injection for injection in record.performed if injection.encounter == encounter),
        given.facts,
        notes.facts,
        record.diagnoses,
    )
    return HookFacts(
        record=_with_skipped(record, [*given.skipped, *notes.skipped]),
        performed_here=performed_here,
        encounter=encounter,
        place=_encounter_place(data),
        conditions_known=DataKey.CONDITIONS not in data.unavailable,
        imaging_known=DataKey.IMAGING_STUDIES not in data.unavailable,
    )


def _with_skipped(record: ClinicalRecord, skipped: Iterable[SkippedResource]) -> ClinicalRecord:
    extra = tuple(skipped)
    if not extra:
        return record
    return ClinicalRecord(
        performed=record.performed,
        other_procedures=record.other_procedures,
        diagnoses=record.diagnoses,
        imaging=record.imaging,
        coverages=record.coverages,
        bookings=record.bookings,
        skipped=record.skipped + extra,
    )


_HISTORY = frozenset({DataKey.PROCEDURES})
_FAMILIES = (code_choice, imaging, diagnosis, documentation)
# The payer criteria beyond counting read pain scores and radiology reports when the hook judges an injection to come.
_CRITERIA_DATA = frozenset({DataKey.OBSERVATIONS, DataKey.DIAGNOSTIC_REPORTS})
# Conservative care (order-sign): physical therapy visits and the drugs ordered or taken.
_CARE_DATA = frozenset({DataKey.ENCOUNTERS, DataKey.MEDICATION_REQUESTS, DataKey.MEDICATION_STATEMENTS})

# Which rules each hook runs: the one place to read it.
RULES_BY_HOOK: dict[str, tuple[Rule, ...]] = {
    "order-select": (order_frequency, *(rule for family in _FAMILIES for rule in family.ORDER_SELECT_RULES)),
    "order-sign": (
        order_frequency,
        order_interval,
        order_repeat_criteria,
        order_conservative_care,
        order_diagnostic_imaging,
        order_prior_authorization,
        *(rule for family in _FAMILIES for rule in family.ORDER_SIGN_RULES),
    ),
    "appointment-book": (booking_frequency, booking_interval, booking_repeat_criteria, booking_prior_authorization),
    "encounter-start": (budget,),
    "encounter-discharge": tuple(rule for family in _FAMILIES for rule in family.DISCHARGE_RULES),
    "patient-view": (budget,),
}

SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        id="epidural-order-select",
        hook="order-select",
        title="Epidural injection order check (selection)",
        description="Checks the selected epidural/transforaminal injection orders early: code choice, bundled "
        "imaging guidance, diagnosis and the payer's frequency limit.",
        required=_HISTORY,
        optional=frozenset({DataKey.CONDITIONS, DataKey.COVERAGE, DataKey.APPOINTMENTS, DataKey.IMAGING_STUDIES}),
        rules=RULES_BY_HOOK["order-select"],
        subjects=_order_facts(selected_only=True),
    ),
    ServiceSpec(
        id="epidural-order-sign",
        hook="order-sign",
        title="Epidural injection order check (signing)",
        description="Checks every draft spinal injection order before signing: code choice, levels, modifiers, "
        "imaging guidance, diagnosis, prior authorization and the payer's frequency limit.",
        required=_HISTORY,
        optional=frozenset(
            {
                DataKey.CONDITIONS,
                DataKey.COVERAGE,
                DataKey.APPOINTMENTS,
                DataKey.IMAGING_STUDIES,
                *_CRITERIA_DATA,
                *_CARE_DATA,
            }
        ),
        rules=RULES_BY_HOOK["order-sign"],
        subjects=_order_facts(selected_only=False),
    ),
    ServiceSpec(
        id="epidural-appointment-book",
        hook="appointment-book",
        title="Epidural injection booking check",
        description="Warns before booking an injection session that breaks the patient's plan limit, counting "
        "other booked sessions, and gives the earliest compliant date.",
        required=_HISTORY,
        optional=frozenset({DataKey.COVERAGE, DataKey.APPOINTMENTS, DataKey.OBSERVATIONS}),
        rules=RULES_BY_HOOK["appointment-book"],
        subjects=_appointment_facts,
    ),
    ServiceSpec(
        id="epidural-encounter-start",
        hook="encounter-start",
        title="Epidural injection session budget (encounter start)",
        description="Shows the patient's injection sessions used and left under their plan, upcoming booked "
        "injections and the next eligible date.",
        required=_HISTORY,
        optional=frozenset({DataKey.COVERAGE, DataKey.APPOINTMENTS, DataKey.ENCOUNTER}),
        rules=RULES_BY_HOOK["encounter-start"],
        subjects=_encounter_start_facts,
        # Its Location only picks the MAC's LCD, and every MAC's LCD has the same limits, so the budget is the same.
        quiet=frozenset({DataKey.ENCOUNTER}),
    ),
    ServiceSpec(
        id="epidural-encounter-discharge",
        hook="encounter-discharge",
        title="Epidural injection pre-submission check",
        description="Checks the injections performed in the encounter before the claim goes out: archived imaging, "
        "code against the evidence, documentation and diagnosis.",
        required=_HISTORY,
        optional=frozenset(
            {
                DataKey.CONDITIONS,
                DataKey.COVERAGE,
                DataKey.IMAGING_STUDIES,
                DataKey.MEDICATION_ADMINISTRATIONS,
                DataKey.PROCEDURE_NOTES,
                DataKey.OBSERVATIONS,
                DataKey.ENCOUNTER,
            }
        ),
        rules=RULES_BY_HOOK["encounter-discharge"],
        subjects=_encounter_facts,
        # The checklist's before-and-after pain scores, charted as Observations, are read under every policy (the
        # checklist is the coding conventions'). Without them the item is still judged from the notes, and says the
        # charted scores could not be checked, so no other card need name them.
        quiet=frozenset({DataKey.OBSERVATIONS}),
        read_under_every_policy=frozenset({DataKey.OBSERVATIONS}),
    ),
    ServiceSpec(
        id="epidural-patient-view",
        hook="patient-view",
        title="Epidural injection session budget",
        description="Shows the patient's injection sessions used and left in each window of their plan's policy and "
        "the next eligible date, when the chart opens.",
        required=_HISTORY,
        optional=frozenset({DataKey.COVERAGE, DataKey.APPOINTMENTS}),
        rules=RULES_BY_HOOK["patient-view"],
        subjects=_patient_facts,
    ),
)


def read_record(data: PatientData) -> ClinicalRecord:
    procedures = read_procedures(resources_in(data.values.get(DataKey.PROCEDURES)))
    conditions = read_conditions(resources_in(data.values.get(DataKey.CONDITIONS)))
    # The encounter's own list of diagnoses makes them its encounter diagnoses, as the category does.
    diagnoses = with_encounter_diagnoses(_the_encounter(data)[0], conditions.facts)
    imaging = read_imaging_studies(resources_in(data.values.get(DataKey.IMAGING_STUDIES)))
    # The prefetch templates `_include` the payors of coverages and the orders appointments are based on.
    coverage_resources, payors = separate_included(resources_in(data.values.get(DataKey.COVERAGE)), {"Organization"})
    coverages = read_coverages(coverage_resources, payors)
    appointment_resources, orders = separate_included(
        resources_in(data.values.get(DataKey.APPOINTMENTS)), {"ServiceRequest"}
    )
    appointments = read_appointments(appointment_resources, orders)
    return ClinicalRecord(
        performed=tuple(procedures.performed.facts),
        other_procedures=tuple(procedures.other),
        diagnoses=tuple(diagnoses.facts),
        imaging=tuple(imaging.facts),
        coverages=tuple(coverages.facts),
        bookings=tuple(appointments.facts),
        skipped=(
            *procedures.performed.skipped,
            *conditions.skipped,
            *diagnoses.skipped,
            *imaging.skipped,
            *coverages.skipped,
            *appointments.skipped,
        ),
    )


def read_care(data: PatientData, unused: frozenset[DataKey] = frozenset()) -> CareHistory:
    """Pain scores, diagnostic studies and care events for the criteria beyond counting; a key not asked for or not
    obtained is marked unknown, so its criterion is skipped rather than judged on nothing. Data the applied policy
    never reads (`unused`) is not read at all."""
    asked = data.values.keys() | data.unavailable.keys()

    def known(key: DataKey) -> bool:
        return key in asked and key not in data.unavailable and key not in unused

    care_known = all(known(key) for key in _CARE_DATA)
    return CareHistory(
        pain_scores=read_pain_scores(resources_in(data.values.get(DataKey.OBSERVATIONS)))
        if known(DataKey.OBSERVATIONS)
        else (),
        diagnostic_studies=read_diagnostic_studies(
            resources_in(data.values.get(DataKey.IMAGING_STUDIES)),
            resources_in(data.values.get(DataKey.DIAGNOSTIC_REPORTS)),
        )
        if known(DataKey.DIAGNOSTIC_REPORTS)
        else (),
        care_events=read_care_events(
            resources_in(data.values.get(DataKey.ENCOUNTERS)),
            resources_in(data.values.get(DataKey.MEDICATION_REQUESTS)),
            resources_in(data.values.get(DataKey.MEDICATION_STATEMENTS)),
        )
        if care_known
        else (),
        pain_scores_known=known(DataKey.OBSERVATIONS),
        diagnostic_imaging_known=known(DataKey.DIAGNOSTIC_REPORTS),
        care_events_known=care_known,
    )


def unused(policy: AppliedPolicy) -> frozenset[DataKey]:
    """The criteria data the applied policy never reads: its absence skips nothing, so no card mentions it."""
    versions = policy.versions or (policy.payer,)
    keys = set()
    if all(version.repeat is None for version in versions):
        keys.add(DataKey.OBSERVATIONS)
    if all(version.diagnostic_imaging is None for version in versions):
        keys.add(DataKey.DIAGNOSTIC_REPORTS)
    if all(version.conservative_care is None for version in versions):
        keys.update(_CARE_DATA)
    return frozenset(keys)


def applied(selection: PolicySelection, catalog: PolicyCatalog) -> AppliedPolicy:
    return AppliedPolicy(
        selection.policy,
        catalog.conventions,
        selection.why,
        by_default=selection.by_default,
        uncovered=selection.by_default and selection.coverage is None,
        versions=selection.versions,
        service_state=selection.service_state,
        chosen_in=selection.chosen_in,
        session_types=catalog.session_types,
    )


@dataclass(frozen=True)
class Evaluator:
    """Runs one service for one request: gather data, read facts, pick the policy, apply rules, render cards."""

    catalog: PolicyCatalog
    http: httpx.AsyncClient
    fetch: FetchSettings
    today: Callable[[], date]

    async def evaluate(self, spec: ServiceSpec, request: HookRequest) -> CdsResponse:
        data = await gather(
            request, required=spec.required, optional=spec.optional, http=self.http, settings=self.fetch
        )
        return self.respond(spec, request, data)

    def respond(self, spec: ServiceSpec, request: HookRequest, data: PatientData) -> CdsResponse:
        return self.judge(spec, request, data, read_record(data))

    def judge(self, spec: ServiceSpec, request: HookRequest, data: PatientData, record: ClinicalRecord) -> CdsResponse:
        """The cards for a record already read: the policy, the rules and the cards, each run on its own."""
        started = time.perf_counter()
        as_of = self.today()
        facts = spec.subjects(request, data, record)
        selection = self.catalog.select(facts.record.coverages, as_of, facts.place)
        policy = applied(selection, self.catalog)
        not_read = unused(policy) - spec.read_under_every_policy
        facts = replace(facts, care=read_care(data, not_read))
        findings: list[Finding] = []
        failed: list[str] = []
        for rule in spec.rules:
            try:
                findings.extend(rule(facts, policy, as_of))
            except Exception:
                # One faulty check must not cost the clinician every other card; it is logged and named instead.
                logger.exception("rule failed", extra={"service_id": spec.id, "rule": rule.__name__})
                failed.append(rule.__name__)
        findings.extend(
            data_incomplete(data, facts.record.skipped, spec.optional - spec.quiet - not_read, failed_checks=failed)
        )
        drafts = index_by_reference(_draft_resources(request))
        response = CdsResponse(cards=cards.render(findings, drafts))
        annotate(
            policy=policy.payer.id,
            rules=sorted({finding.rule.value for finding in findings}),
            rules_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return response


def cds_services(evaluator: Evaluator, specs: Sequence[ServiceSpec] = SERVICES) -> list[CdsService]:
    def handler_for(spec: ServiceSpec) -> Callable[[HookRequest], Any]:
        async def handle(request: HookRequest) -> CdsResponse:
            return await evaluator.evaluate(spec, request)

        return handle

    return [CdsService(spec.descriptor, handler_for(spec)) for spec in specs]

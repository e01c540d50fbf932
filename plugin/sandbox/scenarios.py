"""Named scenario patients, each built to trigger exactly the rules recorded beside it.

Every scenario is dated relative to `today` and placed so its outcome does not depend on which day that is: past
sessions sit whole months back (four lumbar sessions 11, 8, 5 and 2 months ago make a new one exceed the Medicare cap
on any day; the earliest compliant date is then the first of them plus 12 months). Apart from what a scenario is
about, each chart is clean: orders carry a covered, specific diagnosis that is also on record, imaging-guided codes
have fluoroscopy, performed injections are fully documented with archived images, and conservative care came first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from plugin.rules.calendar import add_months
from plugin.rules.findings import RuleId
from plugin.sandbox import resources
from plugin.sandbox.chart import Chart, Documentation, Dx, Reason, Site

PATIENT_PREFIX = "ecds-"


class Hook(StrEnum):
    ORDER_SELECT = "order-select"
    ORDER_SIGN = "order-sign"
    APPOINTMENT_BOOK = "appointment-book"
    ENCOUNTER_START = "encounter-start"
    ENCOUNTER_DISCHARGE = "encounter-discharge"
    PATIENT_VIEW = "patient-view"


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    title: str
    patient_id: str
    resources: tuple[dict[str, Any], ...]
    expected: Mapping[Hook, frozenset[RuleId]]
    """The exact set of rule ids each hook's cards should carry; a hook not listed is not part of the scenario."""
    draft_orders: tuple[dict[str, Any], ...] = ()
    appointments: tuple[dict[str, Any], ...] = ()
    encounter_id: str | None = None

    @property
    def hooks(self) -> tuple[Hook, ...]:
        return tuple(self.expected)


M51_16 = Dx("M51.16", "Intervertebral disc disorders with radiculopathy, lumbar region")
M51_17 = Dx("M51.17", "Intervertebral disc disorders with radiculopathy, lumbosacral region")
M54_50 = Dx("M54.50", "Low back pain, unspecified")
M54_4 = Dx("M54.4", "Lumbago with sciatica")
M54_41 = Dx("M54.41", "Lumbago with sciatica, right side")
M47_816 = Dx("M47.816", "Spondylosis without myelopathy or radiculopathy, lumbar region")
M96_1 = Dx("M96.1", "Postlaminectomy syndrome, not elsewhere classified")
G80_1 = Dx("G80.1", "Spastic diplegic cerebral palsy")
M50_123 = Dx("M50.123", "Cervical disc disorder at C6-C7 level with radiculopathy")

METHYLPREDNISOLONE = ("J1010", "Injection, methylprednisolone acetate, 1 mg")
INTERLAMINAR_L4_L5 = "Lumbar interlaminar epidural steroid injection L4-L5 under fluoroscopy"
TRANSFORAMINAL_L5_S1 = "Left L5-S1 transforaminal epidural steroid injection under fluoroscopy"

COMPLETE_NOTE = Documentation(
    body_site="Lumbar spine, L4-L5 interlaminar space",
    notes=(
        "Indication: lumbar disc herniation with left-sided radiculopathy on MRI; eight weeks of physical therapy "
        "and NSAIDs failed.",
        "Interlaminar epidural steroid injection at L4-L5 under fluoroscopic guidance, AP and lateral views with "
        "contrast confirming epidural spread.",
        "Methylprednisolone acetate 80 mg with 2 mL preservative-free saline (3 mL total) through a 20G Tuohy needle.",
        "Pain NRS 7/10 before and 2/10 after the injection, on the same 0-10 scale. No complications.",
    ),
    drug=METHYLPREDNISOLONE,
    outcome="Tolerated well; pain NRS 7/10 before, 2/10 after",
    complications="None",
    follow_up="Clinic review in 2 weeks; repeat only after documented sustained relief of at least 50%",
)
TRANSFORAMINAL_NOTE = Documentation(
    body_site="Lumbar spine, left L5-S1 neural foramen",
    notes=(
        "Indication: lumbosacral disc herniation with left-sided radiculopathy on MRI; physical therapy failed.",
        "Left L5-S1 transforaminal epidural steroid injection under fluoroscopy, AP and oblique views with contrast.",
        "Dexamethasone 10 mg with 1 mL lidocaine 1% (2 mL total) through a 22G spinal needle.",
        "Pain NRS 8/10 before and 3/10 after the injection, on the same 0-10 scale. No complications.",
    ),
    drug=("J1100", "Injection, dexamethasone sodium phosphate, 1 mg"),
    outcome="Tolerated well; pain NRS 8/10 before, 3/10 after",
    complications="None",
    follow_up="Clinic review in 2 weeks",
)
BRIEF_NOTE = Documentation(
    body_site="Lumbar spine, L4-L5",
    notes=("Lumbar interlaminar ESI L4-L5 under fluoroscopy.",),
)

MEDICARE = ("Medicare Part B", "1")
MOLINA = ("Molina Healthcare", None)
COMMERCIAL = ("Acme Health PPO", None)
CIGNA = ("Cigna Healthcare", None)
MEDICARE_ADVANTAGE = ("Humana Medicare Advantage PPO", "111")
ANTHEM = ("Anthem Blue Cross", None)
FLORIDA_BLUE = ("Florida Blue", None)
BCBST = ("BlueCross BlueShield of Tennessee", None)


class _Patient:
    """A scenario chart with the parts every scenario shares: coverage, today's visit, earlier conservative care."""

    def __init__(
        self,
        name: str,
        today: date,
        *,
        given: str,
        plan: tuple[str, str | None],
        gender: str = "female",
        conservative_care: bool = True,
        site: Site | None = None,
    ):
        self.today = today
        self.site = site
        self.chart = Chart(PATIENT_PREFIX + name, today, given=given, gender=gender, born=date(1954, 4, 2))
        payor, sopt = plan
        self.chart.coverage(payor, sopt=sopt)
        self.visit = self.chart.encounter("visit", today, site=site)
        if conservative_care:
            self.chart.physical_therapy("physical-therapy", add_months(today, -14))

    def months_ago(self, months: int) -> date:
        return add_months(self.today, -months)

    def diagnosis(self, key: str, dx: Dx) -> Reason:
        return Reason(dx, self.chart.condition(key, dx, recorded=self.months_ago(15)))

    def past_sessions(
        self, months: Sequence[int], reason: Reason, cpt: str = "62323", text: str = INTERLAMINAR_L4_L5
    ) -> None:
        note = TRANSFORAMINAL_NOTE if cpt == "64483" else COMPLETE_NOTE
        for months_back in months:
            self.chart.injection(
                f"esi-{months_back}mo", cpt, self.months_ago(months_back), text, reasons=[reason], documentation=note
            )

    def performed_today(
        self,
        reason: Reason,
        *,
        cpt: str = "62323",
        text: str = INTERLAMINAR_L4_L5,
        documentation: Documentation = COMPLETE_NOTE,
        image_instances: int = 2,
    ) -> None:
        """An injection performed at today's visit, with its fluoroscopy study (`image_instances` stored images)."""
        injection = self.chart.injection(
            "esi-today", cpt, self.today, text, reasons=[reason], documentation=documentation, encounter=self.visit
        )
        self.chart.fluoroscopy_images(
            "images-today", self.today, procedure=injection, encounter=self.visit, instances=image_instances
        )

    def order(self, reason: Reason | None, cpt: str = "62323", text: str = INTERLAMINAR_L4_L5) -> dict[str, Any]:
        order = self.chart.draft_order("order", cpt, text, reasons=[reason] if reason else [])
        return self.site.placed(order, "locationReference") if self.site else order

    def booking(self, cpt: str, on: date, text: str) -> dict[str, Any]:
        """The appointment being booked, at the patient's site when the scenario has one."""
        booking = self.chart.proposed_appointment("booking", cpt, on, text)
        return self.site.placed(booking, "participant") if self.site else booking

    def scenario(
        self,
        name: str,
        title: str,
        expected: Mapping[Hook, frozenset[RuleId]],
        *,
        draft_orders: Sequence[dict[str, Any]] = (),
        appointments: Sequence[dict[str, Any]] = (),
    ) -> Scenario:
        return Scenario(
            name=name,
            title=title,
            patient_id=self.chart.patient_id,
            resources=tuple(self.chart.resources),
            expected=expected,
            draft_orders=tuple(draft_orders),
            appointments=tuple(appointments),
            encounter_id=self.visit.removeprefix("Encounter/"),
        )


NOTHING: frozenset[RuleId] = frozenset()


def _rules(*rules: RuleId) -> frozenset[RuleId]:
    return frozenset(rules)


def clean(today: date) -> Scenario:
    patient = _Patient("clean", today, given="Clara", plan=MEDICARE)
    reason = patient.diagnosis("dx-disc", M51_16)
    return patient.scenario(
        "clean",
        "Medicare patient, covered diagnosis, 62323 under fluoroscopy, no earlier injections: nothing to flag",
        {
            Hook.ORDER_SELECT: NOTHING,
            Hook.ORDER_SIGN: NOTHING,
            Hook.APPOINTMENT_BOOK: NOTHING,
            Hook.ENCOUNTER_START: NOTHING,
            Hook.PATIENT_VIEW: NOTHING,
        },
        draft_orders=[patient.order(reason)],
        appointments=[
            patient.chart.proposed_appointment("booking", "62323", today + timedelta(days=7), INTERLAMINAR_L4_L5)
        ],
    )


def complete_session(today: date) -> Scenario:
    patient = _Patient("complete-session", today, given="Carmen", plan=MEDICARE)
    patient.performed_today(patient.diagnosis("dx-disc", M51_16))
    return patient.scenario(
        "complete-session",
        "62323 performed today, fully documented, two fluoroscopy views archived: a clean claim",
        {Hook.ENCOUNTER_DISCHARGE: NOTHING, Hook.PATIENT_VIEW: _rules(RuleId.FREQUENCY_BUDGET)},
    )


def medicare_cap_exceeded(today: date) -> Scenario:
    patient = _Patient("medicare-cap-exceeded", today, given="Maria", plan=MEDICARE)
    reason = patient.diagnosis("dx-disc", M51_16)
    patient.past_sessions([11, 8, 5, 2], reason)
    exceeded = _rules(RuleId.FREQUENCY_LIMIT_EXCEEDED)
    budget = _rules(RuleId.FREQUENCY_BUDGET)
    return patient.scenario(
        "medicare-cap-exceeded",
        "Medicare patient with 4 lumbar sessions in 12 months: a fifth breaks the LCD cap (earliest date: "
        "first session + 12 months)",
        {
            Hook.ORDER_SELECT: exceeded,
            Hook.ORDER_SIGN: exceeded,
            Hook.APPOINTMENT_BOOK: exceeded,
            Hook.ENCOUNTER_START: budget,
            Hook.PATIENT_VIEW: budget,
        },
        draft_orders=[patient.order(reason)],
        appointments=[
            patient.chart.proposed_appointment("booking", "62323", today + timedelta(days=7), INTERLAMINAR_L4_L5)
        ],
    )


def medicare_last_session(today: date) -> Scenario:
    patient = _Patient("medicare-last-session", today, given="Martha", plan=MEDICARE)
    reason = patient.diagnosis("dx-disc", M51_16)
    patient.past_sessions([9, 6, 3], reason)
    return patient.scenario(
        "medicare-last-session",
        "Medicare patient with 3 lumbar sessions in 12 months: the order is allowed but uses the last one",
        {Hook.ORDER_SIGN: _rules(RuleId.FREQUENCY_LIMIT_REACHED), Hook.PATIENT_VIEW: _rules(RuleId.FREQUENCY_BUDGET)},
        draft_orders=[patient.order(reason)],
    )


def molina_cap(today: date) -> Scenario:
    patient = _Patient("molina-cap", today, given="Molly", plan=MOLINA)
    reason = patient.diagnosis("dx-disc", M51_17)
    patient.chart.injection(
        "esi-10mo",
        "62322",
        patient.months_ago(10),
        "Lumbar interlaminar epidural steroid injection L4-L5, landmark technique without fluoroscopy",
        reasons=[reason],
        documentation=COMPLETE_NOTE,
    )
    # The last session 3 months back: past Molina's 60-day repeat interval on any day.
    patient.past_sessions([8, 5, 3], reason, cpt="64483", text=TRANSFORAMINAL_L5_S1)
    return patient.scenario(
        "molina-cap",
        "Molina member: 62322 is not on Molina's counted list, so 3 of 4 sessions are used and the order takes "
        "the last (Medicare would count 4); a repeat without documented sustained relief (MCP-032)",
        {
            Hook.ORDER_SIGN: _rules(RuleId.FREQUENCY_LIMIT_REACHED, RuleId.REPEAT_CRITERIA_UNMET),
            Hook.PATIENT_VIEW: _rules(RuleId.FREQUENCY_BUDGET),
        },
        draft_orders=[patient.order(reason, cpt="64483", text=TRANSFORAMINAL_L5_S1)],
    )


def booked_too_soon(today: date) -> Scenario:
    patient = _Patient("booked-too-soon", today, given="Beatrice", plan=MEDICARE)
    reason = patient.diagnosis("dx-disc", M51_16)
    patient.past_sessions([9, 6, 3], reason)
    order = patient.chart.signed_order("signed-order", "62323", INTERLAMINAR_L4_L5, reasons=[reason])
    patient.chart.booking("booked", add_months(today, 1), order=order)
    budget = _rules(RuleId.FREQUENCY_BUDGET)
    return patient.scenario(
        "booked-too-soon",
        "Medicare patient with 3 sessions and a 4th booked next month: booking another in 2 weeks breaks the cap",
        {
            Hook.APPOINTMENT_BOOK: _rules(RuleId.FREQUENCY_LIMIT_EXCEEDED),
            Hook.ENCOUNTER_START: budget,
            Hook.PATIENT_VIEW: budget,
        },
        appointments=[
            patient.chart.proposed_appointment("booking", "62323", today + timedelta(days=14), INTERLAMINAR_L4_L5)
        ],
    )


def pump_trial(today: date) -> Scenario:
    patient = _Patient("pump-trial", today, given="Paul", plan=MEDICARE, gender="male")
    disc = patient.diagnosis("dx-disc", M51_16)
    spasticity = patient.diagnosis("dx-spasticity", G80_1)
    patient.past_sessions([11, 8, 5, 2], disc)
    return patient.scenario(
        "pump-trial",
        "62323 for an intrathecal baclofen pump trial at the Medicare cap: exempt, not counted",
        {Hook.ORDER_SIGN: _rules(RuleId.FREQUENCY_EXEMPT)},
        draft_orders=[
            patient.order(
                spasticity,
                text="Lumbar interlaminar injection L3-L4 under fluoroscopy for intrathecal baclofen pump trial",
            )
        ],
    )


def approach_mismatch(today: date) -> Scenario:
    patient = _Patient("approach-mismatch", today, given="Anna", plan=MEDICARE)
    reason = patient.diagnosis("dx-disc", M51_17)
    mismatch = _rules(RuleId.CODE_APPROACH_MISMATCH)
    return patient.scenario(
        "approach-mismatch",
        "A transforaminal injection ordered with the interlaminar code 62323 (should be 64483)",
        {Hook.ORDER_SELECT: mismatch, Hook.ORDER_SIGN: mismatch},
        draft_orders=[patient.order(reason, text=TRANSFORAMINAL_L5_S1)],
    )


def region_mismatch(today: date) -> Scenario:
    patient = _Patient("region-mismatch", today, given="Rita", plan=MEDICARE)
    reason = patient.diagnosis("dx-postlaminectomy", M96_1)
    return patient.scenario(
        "region-mismatch",
        "A cervical C6-C7 interlaminar injection ordered with the lumbar code 62323 (should be 62321)",
        {Hook.ORDER_SIGN: _rules(RuleId.CODE_REGION_MISMATCH)},
        draft_orders=[
            patient.order(reason, text="Cervical interlaminar epidural steroid injection C6-C7 under fluoroscopy")
        ],
    )


def imaging_mismatch(today: date) -> Scenario:
    patient = _Patient("imaging-mismatch", today, given="Ines", plan=MOLINA)
    reason = patient.diagnosis("dx-disc", M51_16)
    return patient.scenario(
        "imaging-mismatch",
        "An injection under fluoroscopy ordered with the without-imaging code 62322 (should be 62323)",
        {Hook.ORDER_SIGN: _rules(RuleId.CODE_IMAGING_MISMATCH)},
        draft_orders=[patient.order(reason, cpt="62322")],
    )


def imaging_required(today: date) -> Scenario:
    patient = _Patient("imaging-required", today, given="Irene", plan=MEDICARE)
    reason = patient.diagnosis("dx-disc", M51_16)
    return patient.scenario(
        "imaging-required",
        "A landmark (unguided) 62322 for a Medicare patient: the LCD covers ESIs only under fluoroscopy or CT",
        {Hook.ORDER_SIGN: _rules(RuleId.IMAGING_REQUIRED)},
        draft_orders=[
            patient.order(
                reason,
                cpt="62322",
                text="Lumbar interlaminar epidural steroid injection L4-L5, landmark technique without fluoroscopy",
            )
        ],
    )


def catheter_mismatch(today: date) -> Scenario:
    patient = _Patient("catheter-mismatch", today, given="Cathy", plan=MEDICARE)
    reason = patient.diagnosis("dx-disc", M51_16)
    return patient.scenario(
        "catheter-mismatch",
        "A lumbar epidural catheter for continuous infusion ordered with the single-shot code 62323 (should be 62327)",
        {Hook.ORDER_SIGN: _rules(RuleId.CODE_CATHETER_MISMATCH)},
        draft_orders=[
            patient.order(
                reason, text="Lumbar epidural catheter at L3-L4 for continuous infusion, placed under fluoroscopy"
            )
        ],
    )


def neurolytic(today: date) -> Scenario:
    patient = _Patient("neurolytic", today, given="Nora", plan=MEDICARE)
    reason = patient.diagnosis("dx-disc", M51_16)
    return patient.scenario(
        "neurolytic",
        "Epidural neurolysis with phenol ordered as 62323 (neurolytic agents are 62280-62282)",
        {Hook.ORDER_SIGN: _rules(RuleId.CODE_NEUROLYTIC)},
        draft_orders=[
            patient.order(reason, text="Lumbar interlaminar epidural neurolysis with phenol at L4-L5 under fluoroscopy")
        ],
    )


def guidance_bundled(today: date) -> Scenario:
    patient = _Patient("guidance-bundled", today, given="Greta", plan=MEDICARE)
    reason = patient.diagnosis("dx-disc", M51_16)
    guidance = patient.chart.draft_order(
        "guidance", "77003", "Fluoroscopic guidance for spine injection", reasons=[reason]
    )
    bundled = _rules(RuleId.IMAGING_GUIDANCE_BUNDLED)
    return patient.scenario(
        "guidance-bundled",
        "62323 ordered with a separate 77003 fluoroscopy order, which the code already includes",
        {Hook.ORDER_SELECT: bundled, Hook.ORDER_SIGN: bundled},
        draft_orders=[patient.order(reason), guidance],
    )


def too_many_levels(today: date) -> Scenario:
    patient = _Patient("too-many-levels", today, given="Linda", plan=MEDICARE)
    reason = patient.diagnosis("dx-disc", M51_16)
    return patient.scenario(
        "too-many-levels",
        "Transforaminal injections at 3 lumbar levels in one session (64483 + 2 x 64484); Medicare allows 2",
        {Hook.ORDER_SIGN: _rules(RuleId.LEVELS_EXCEEDED)},
        draft_orders=[
            patient.order(
                reason, cpt="64483", text="Left L3-L4 transforaminal epidural steroid injection under fluoroscopy"
            ),
            patient.chart.draft_order(
                "order-additional-levels",
                "64484",
                "Left L4-L5 and L5-S1 transforaminal epidural steroid injection, additional levels, under fluoroscopy",
                reasons=[reason],
                quantity=2,
            ),
        ],
    )


def bilateral_modifier(today: date) -> Scenario:
    patient = _Patient("bilateral-modifier", today, given="Bella", plan=MOLINA)
    reason = patient.diagnosis("dx-disc", M51_16)
    return patient.scenario(
        "bilateral-modifier",
        "62323 ordered with modifier 50: interlaminar injections are one midline unit, never bilateral",
        {Hook.ORDER_SIGN: _rules(RuleId.MODIFIER_INVALID)},
        draft_orders=[
            patient.chart.draft_order("order", "62323", INTERLAMINAR_L4_L5, reasons=[reason], modifiers=["50"])
        ],
    )


def no_diagnosis(today: date) -> Scenario:
    patient = _Patient("no-diagnosis", today, given="Nadia", plan=MOLINA)
    return patient.scenario(
        "no-diagnosis",
        "62323 ordered with no reason and no diagnosis on record",
        {Hook.ORDER_SIGN: _rules(RuleId.DIAGNOSIS_MISSING)},
        draft_orders=[patient.order(None)],
    )


def invalid_diagnosis(today: date) -> Scenario:
    patient = _Patient("invalid-diagnosis", today, given="Vera", plan=MOLINA)
    reason = patient.diagnosis("dx-lumbago", M54_4)
    return patient.scenario(
        "invalid-diagnosis",
        "62323 for M54.4, a category that is not billable (use M54.40, M54.41 or M54.42)",
        {Hook.ORDER_SIGN: _rules(RuleId.DIAGNOSIS_INVALID)},
        draft_orders=[patient.order(reason)],
    )


def nonspecific_diagnosis(today: date) -> Scenario:
    patient = _Patient("nonspecific-diagnosis", today, given="Sofia", plan=COMMERCIAL)
    axial = patient.diagnosis("dx-low-back-pain", M54_50)
    patient.diagnosis("dx-disc", M51_16)
    nonspecific = _rules(RuleId.DIAGNOSIS_NONSPECIFIC)
    return patient.scenario(
        "nonspecific-diagnosis",
        "62323 for M54.50 low back pain while M51.16 disc disorder with radiculopathy is on record; the unmapped "
        "plan gets the typical commercial rule, which asks for a recent MRI or CT, but no prior authorization: the "
        "rule's reviewer (eviCore) is not the plan's",
        {
            Hook.ORDER_SELECT: nonspecific,
            Hook.ORDER_SIGN: nonspecific | _rules(RuleId.DIAGNOSTIC_IMAGING_MISSING),
        },
        draft_orders=[patient.order(axial)],
    )


def conflicting_diagnoses(today: date) -> Scenario:
    patient = _Patient("conflicting-diagnoses", today, given="Connie", plan=MOLINA)
    disc = patient.diagnosis("dx-disc", M51_16)
    lumbago = patient.diagnosis("dx-lumbago", M54_41)
    return patient.scenario(
        "conflicting-diagnoses",
        "62323 for M51.16 and M54.41 together, which ICD-10-CM Excludes1 forbids",
        {Hook.ORDER_SIGN: _rules(RuleId.DIAGNOSIS_CONFLICT)},
        draft_orders=[patient.chart.draft_order("order", "62323", INTERLAMINAR_L4_L5, reasons=[disc, lumbago])],
    )


def uncovered_diagnosis(today: date) -> Scenario:
    patient = _Patient("uncovered-diagnosis", today, given="Ursula", plan=MEDICARE)
    reason = patient.diagnosis("dx-spondylosis", M47_816)
    return patient.scenario(
        "uncovered-diagnosis",
        "Medicare 62323 for M47.816 spondylosis without radiculopathy, not on the LCD's covered list",
        {Hook.ORDER_SIGN: _rules(RuleId.DIAGNOSIS_NOT_COVERED)},
        draft_orders=[patient.order(reason)],
    )


def missing_images(today: date) -> Scenario:
    patient = _Patient("missing-images", today, given="Mia", plan=MEDICARE)
    patient.performed_today(patient.diagnosis("dx-disc", M51_16), image_instances=0)
    return patient.scenario(
        "missing-images",
        "62323 performed today under fluoroscopy, but the study has no archived images: one card, not a second "
        "one for the checklist's imaging item",
        {Hook.ENCOUNTER_DISCHARGE: _rules(RuleId.IMAGING_EVIDENCE_MISSING)},
    )


def incomplete_documentation(today: date) -> Scenario:
    patient = _Patient("incomplete-documentation", today, given="Ida", plan=MEDICARE)
    patient.performed_today(patient.diagnosis("dx-disc", M51_16), documentation=BRIEF_NOTE)
    return patient.scenario(
        "incomplete-documentation",
        "62323 performed today with images archived, but no drug and dose, response or pain scores recorded",
        {Hook.ENCOUNTER_DISCHARGE: _rules(RuleId.DOCUMENTATION_INCOMPLETE)},
    )


def unguided_code_with_images(today: date) -> Scenario:
    patient = _Patient("unguided-code-with-images", today, given="Ulla", plan=MOLINA)
    patient.performed_today(
        patient.diagnosis("dx-disc", M51_16), cpt="62322", text="Lumbar interlaminar epidural steroid injection L4-L5"
    )
    return patient.scenario(
        "unguided-code-with-images",
        "Performed injection coded 62322 (without imaging) while fluoroscopy images are archived (should be 62323)",
        {Hook.ENCOUNTER_DISCHARGE: _rules(RuleId.CODE_IMAGING_MISMATCH)},
    )


def prior_auth(today: date) -> Scenario:
    patient = _Patient("prior-auth", today, given="Priya", plan=CIGNA)
    reason = patient.diagnosis("dx-disc", M51_16)
    patient.past_sessions([4], reason)
    return patient.scenario(
        "prior-auth",
        "Cigna member (eviCore CMM-200): eviCore's prior authorization, and a repeat without documented sustained "
        "relief",
        {
            Hook.ORDER_SIGN: _rules(RuleId.PRIOR_AUTH_REQUIRED, RuleId.REPEAT_CRITERIA_UNMET),
            Hook.PATIENT_VIEW: _rules(RuleId.FREQUENCY_BUDGET),
        },
        draft_orders=[patient.order(reason)],
    )


def uncoded_procedure(today: date) -> Scenario:
    patient = _Patient("uncoded-procedure", today, given="Una", plan=MEDICARE)
    reason = patient.diagnosis("dx-disc", M51_16)
    patient.chart.uncoded_procedure("uncoded", patient.months_ago(1))
    incomplete = _rules(RuleId.DATA_INCOMPLETE)
    return patient.scenario(
        "uncoded-procedure",
        "A clean order, but the record holds a procedure with no code: the card says it was ignored",
        {Hook.ORDER_SIGN: incomplete, Hook.PATIENT_VIEW: incomplete},
        draft_orders=[patient.order(reason)],
    )


def cigna_too_soon(today: date) -> Scenario:
    patient = _Patient("cigna-too-soon", today, given="Cora", plan=CIGNA)
    reason = patient.diagnosis("dx-disc", M51_16)
    patient.chart.injection(
        "esi-10d",
        "62323",
        today - timedelta(days=10),
        INTERLAMINAR_L4_L5,
        reasons=[reason],
        documentation=COMPLETE_NOTE,
    )
    return patient.scenario(
        "cigna-too-soon",
        "Cigna member (eviCore CMM-200): a repeat 10 days after the last session, under the 14-day interval, without "
        "documented sustained relief; eviCore reviews every session",
        {
            Hook.ORDER_SIGN: _rules(
                RuleId.INTERVAL_TOO_SHORT, RuleId.REPEAT_CRITERIA_UNMET, RuleId.PRIOR_AUTH_REQUIRED
            ),
            Hook.PATIENT_VIEW: _rules(RuleId.FREQUENCY_BUDGET),
        },
        draft_orders=[patient.order(reason)],
    )


def bcbst_no_conservative_care(today: date) -> Scenario:
    patient = _Patient("bcbst-no-conservative-care", today, given="Tessa", plan=BCBST, conservative_care=False)
    reason = patient.diagnosis("dx-disc", M51_16)
    return patient.scenario(
        "bcbst-no-conservative-care",
        "BCBS Tennessee member: a first injection with no physical therapy or other conservative care on record",
        {Hook.ORDER_SIGN: _rules(RuleId.CONSERVATIVE_CARE_UNDOCUMENTED)},
        draft_orders=[patient.order(reason)],
    )


def bcbst_nsaid_before(today: date) -> Scenario:
    patient = _Patient("bcbst-nsaid-before", today, given="Nina", plan=BCBST, conservative_care=False)
    reason = patient.diagnosis("dx-disc", M51_16)
    patient.chart.prescription("naproxen", today - timedelta(weeks=8), "Naproxen 500 MG Oral Tablet")
    return patient.scenario(
        "bcbst-nsaid-before",
        "BCBS Tennessee member: a first injection after 8 weeks of naproxen, ordered and recorded as a medication "
        "order: conservative care by medication, so no card",
        {Hook.ORDER_SIGN: NOTHING},
        draft_orders=[patient.order(reason)],
    )


def molina_drugs_not_therapy(today: date) -> Scenario:
    patient = _Patient("molina-drugs-not-therapy", today, given="Mona", plan=MOLINA, conservative_care=False)
    reason = patient.diagnosis("dx-disc", M51_16)
    patient.chart.prescription("gabapentin", today - timedelta(weeks=10), "Gabapentin 300 MG Oral Capsule")
    patient.chart.therapy_visit("pt-visit", today - timedelta(weeks=3))
    return patient.scenario(
        "molina-drugs-not-therapy",
        "Molina member: gabapentin for 10 weeks, but physical therapy (which Molina asks for, 4 weeks) began only 3 "
        "weeks ago: the card asks for the therapy",
        {Hook.ORDER_SIGN: _rules(RuleId.CONSERVATIVE_CARE_UNDOCUMENTED)},
        draft_orders=[patient.order(reason)],
    )


FREE_TEXT_ORDER = "Lumbar ESI, interlaminar approach at L4-L5 under fluoroscopic guidance"


def free_text_order(today: date) -> Scenario:
    patient = _Patient("free-text-order", today, given="Frieda", plan=MEDICARE)
    reason = patient.diagnosis("dx-disc", M51_16)
    patient.past_sessions([11, 8, 5, 2], reason)
    order = patient.order(reason, text=FREE_TEXT_ORDER)
    order["code"] = {"text": FREE_TEXT_ORDER}  # as many order screens send it: the clinician's words, no CPT
    likely = _rules(RuleId.FREQUENCY_LIMIT_EXCEEDED)
    return patient.scenario(
        "free-text-order",
        "An injection order in words only (no CPT), Medicare patient with 4 lumbar sessions in 12 months: counted, "
        "and a warning to check the count (never critical on words alone)",
        {Hook.ORDER_SELECT: likely, Hook.ORDER_SIGN: likely},
        draft_orders=[order],
    )


def esi_lumbar_booking(today: date) -> Scenario:
    patient = _Patient("esi-lumbar-booking", today, given="Elena", plan=MEDICARE)
    reason = patient.diagnosis("dx-disc", M51_16)
    patient.past_sessions([9, 6, 3], reason)
    patient.chart.visit("booked", add_months(today, 1), "ESI LUMBAR")
    budget = _rules(RuleId.FREQUENCY_BUDGET)
    return patient.scenario(
        "esi-lumbar-booking",
        "Medicare patient with 3 lumbar sessions and a 4th booked next month as a local 'ESI LUMBAR' visit: booking "
        "an 'EPIDURAL - LUMBAR' visit in 2 weeks breaks the cap",
        {
            Hook.APPOINTMENT_BOOK: _rules(RuleId.FREQUENCY_LIMIT_EXCEEDED),
            Hook.ENCOUNTER_START: budget,
            Hook.PATIENT_VIEW: budget,
        },
        appointments=[patient.chart.proposed_visit("booking", today + timedelta(days=14), "EPIDURAL - LUMBAR")],
    )


def stale_booking(today: date) -> Scenario:
    patient = _Patient("stale-booking", today, given="Stella", plan=MEDICARE)
    reason = patient.diagnosis("dx-disc", M51_16)
    patient.past_sessions([9, 6, 3], reason)
    order = patient.chart.signed_order("signed-order", "62323", INTERLAMINAR_L4_L5, reasons=[reason])
    patient.chart.booking("last-week", today - timedelta(days=7), order=order)
    return patient.scenario(
        "stale-booking",
        "Medicare patient with 3 lumbar sessions and an appointment last week still marked booked: it is not "
        "counted, so the order takes the last session, and the budget card says why",
        {Hook.ORDER_SIGN: _rules(RuleId.FREQUENCY_LIMIT_REACHED), Hook.PATIENT_VIEW: _rules(RuleId.FREQUENCY_BUDGET)},
        draft_orders=[patient.order(reason)],
    )


def booked_on_the_anniversary(today: date) -> Scenario:
    patient = _Patient("booked-on-the-anniversary", today, given="Anita", plan=MEDICARE)
    reason = patient.diagnosis("dx-disc", M51_16)
    patient.past_sessions([11, 8, 5, 2], reason)
    order = patient.chart.signed_order("signed-order", "62323", INTERLAMINAR_L4_L5, reasons=[reason])
    patient.chart.booking("anniversary", add_months(patient.months_ago(11), 12), order=order)
    exceeded = _rules(RuleId.FREQUENCY_LIMIT_EXCEEDED)
    budget = _rules(RuleId.FREQUENCY_BUDGET)
    return patient.scenario(
        "booked-on-the-anniversary",
        "Medicare patient at the cap with a session booked on the day the oldest leaves the window: every card "
        "gives the second session's anniversary as the next date for a new, separate session",
        {
            Hook.ORDER_SIGN: exceeded,
            Hook.APPOINTMENT_BOOK: exceeded,
            Hook.ENCOUNTER_START: budget,
            Hook.PATIENT_VIEW: budget,
        },
        draft_orders=[patient.order(reason)],
        appointments=[
            patient.chart.proposed_appointment("booking", "62323", today + timedelta(days=7), INTERLAMINAR_L4_L5)
        ],
    )


# One problem, one card (issue 12, item 4) and text read in its context ---------------------------------------------


def axial_pain_not_covered(today: date) -> Scenario:
    patient = _Patient("axial-pain-not-covered", today, given="Alma", plan=MEDICARE)
    axial = patient.diagnosis("dx-low-back-pain", M54_50)
    patient.diagnosis("dx-disc", M51_16)
    one_card = _rules(RuleId.DIAGNOSIS_NONSPECIFIC)
    return patient.scenario(
        "axial-pain-not-covered",
        "Medicare 62323 for M54.50 with M51.16 on record: non-specific and not covered are one problem, one card "
        "suggesting M51.16 in place of M54.50",
        {Hook.ORDER_SELECT: one_card, Hook.ORDER_SIGN: one_card},
        draft_orders=[patient.order(axial)],
    )


def two_regions_one_day(today: date) -> Scenario:
    patient = _Patient("two-regions-one-day", today, given="Tessa", plan=MEDICARE)
    lumbar = patient.diagnosis("dx-disc", M51_16)
    cervical = patient.diagnosis("dx-cervical-disc", M50_123)
    return patient.scenario(
        "two-regions-one-day",
        "Medicare: a cervical C6-C7 and a lumbar L4-L5 interlaminar injection ordered for one day: two regions and "
        "two interlaminar levels are one card",
        {Hook.ORDER_SIGN: _rules(RuleId.LEVELS_EXCEEDED)},
        draft_orders=[
            patient.chart.draft_order(
                "order-cervical",
                "62321",
                "Cervical interlaminar epidural steroid injection C6-C7 under fluoroscopy",
                reasons=[cervical],
            ),
            patient.order(lumbar),
        ],
    )


def medicare_advantage(today: date) -> Scenario:
    patient = _Patient("medicare-advantage", today, given="Ada", plan=MEDICARE_ADVANTAGE)
    reason = patient.diagnosis("dx-disc", M51_16)
    return patient.scenario(
        "medicare-advantage",
        "Medicare Advantage member (SOPT 111): the LCD limits hold, and the plan reviews every ESI first",
        {Hook.ORDER_SIGN: _rules(RuleId.PRIOR_AUTH_REQUIRED)},
        draft_orders=[patient.order(reason)],
    )


def _authorized(patient: _Patient, order: dict[str, Any], start: date, end: date) -> dict[str, Any]:
    """`order` carrying the plan's approval as EHRs send it: a contained ClaimResponse its supportingInfo names, and
    the number in its note."""
    approval = resources.prior_authorization(
        "pa-1",
        "228819341",
        start.isoformat(),
        end.isoformat(),
        patient=patient.chart.patient_id,
        insurer="Humana",
        cpt=["62323"],
    )
    note = f"Humana authorization approved {start.isoformat()}, reference 228819341, 62323 x1."
    return order | {"supportingInfo": [{"reference": "#pa-1"}], "contained": [approval], "note": [{"text": note}]}


def medicare_advantage_authorized(today: date) -> Scenario:
    patient = _Patient("medicare-advantage-authorized", today, given="Abigail", plan=MEDICARE_ADVANTAGE)
    reason = patient.diagnosis("dx-disc", M51_16)
    order = _authorized(patient, patient.order(reason), today - timedelta(days=3), today + timedelta(days=87))
    return patient.scenario(
        "medicare-advantage-authorized",
        "Medicare Advantage member whose order carries the plan's approval (a contained ClaimResponse valid today, "
        "and its reference in the note): no prior authorization card",
        {Hook.ORDER_SIGN: NOTHING},
        draft_orders=[order],
    )


def medicare_advantage_authorization_expired(today: date) -> Scenario:
    patient = _Patient("medicare-advantage-authorization-expired", today, given="Agnes", plan=MEDICARE_ADVANTAGE)
    reason = patient.diagnosis("dx-disc", M51_16)
    order = _authorized(patient, patient.order(reason), today - timedelta(days=120), today - timedelta(days=30))
    return patient.scenario(
        "medicare-advantage-authorization-expired",
        "Medicare Advantage member whose order carries an approval that ended 30 days ago: a warning naming it, "
        "since the order looks authorized and is not",
        {Hook.ORDER_SIGN: _rules(RuleId.PRIOR_AUTH_REQUIRED)},
        draft_orders=[order],
    )


def carelon_no_recent_mri(today: date) -> Scenario:
    patient = _Patient("carelon-no-recent-mri", today, given="Carla", plan=ANTHEM)
    reason = patient.diagnosis("dx-disc", M51_16)
    return patient.scenario(
        "carelon-no-recent-mri",
        "Anthem member (Carelon MSK01): a first lumbar injection with no MRI or CT in 18 months; Carelon reviews it",
        {Hook.ORDER_SIGN: _rules(RuleId.DIAGNOSTIC_IMAGING_MISSING, RuleId.PRIOR_AUTH_REQUIRED)},
        draft_orders=[patient.order(reason)],
    )


def florida_blue_too_soon(today: date) -> Scenario:
    patient = _Patient("florida-blue-too-soon", today, given="Flora", plan=FLORIDA_BLUE)
    reason = patient.diagnosis("dx-disc", M51_16)
    patient.chart.injection(
        "esi-20d",
        "62323",
        today - timedelta(days=20),
        INTERLAMINAR_L4_L5,
        reasons=[reason],
        documentation=COMPLETE_NOTE,
    )
    return patient.scenario(
        "florida-blue-too-soon",
        "Florida Blue member (Blue template): a session 20 days after the last, under the 30 days BCBS MA and Blue KC "
        "ask for (unverified, so a warning)",
        {Hook.ORDER_SIGN: _rules(RuleId.INTERVAL_TOO_SHORT), Hook.PATIENT_VIEW: _rules(RuleId.FREQUENCY_BUDGET)},
        draft_orders=[patient.order(reason)],
    )


def prior_auth_two_lines(today: date) -> Scenario:
    patient = _Patient("prior-auth-two-lines", today, given="Petra", plan=CIGNA)
    reason = patient.diagnosis("dx-disc", M51_17)
    patient.past_sessions([4], reason, cpt="64483", text=TRANSFORAMINAL_L5_S1)
    return patient.scenario(
        "prior-auth-two-lines",
        "Cigna member (eviCore): a two-level transforaminal session ordered as 64483 and 64484 needs prior "
        "authorization once for the session, not once per order line (and, as a repeat, documented relief)",
        {Hook.ORDER_SIGN: _rules(RuleId.PRIOR_AUTH_REQUIRED, RuleId.REPEAT_CRITERIA_UNMET)},
        draft_orders=[
            patient.order(
                reason, cpt="64483", text="Left L4-L5 transforaminal epidural steroid injection under fluoroscopy"
            ),
            patient.chart.draft_order(
                "order-additional-level",
                "64484",
                "Left L5-S1 transforaminal epidural steroid injection, additional level, under fluoroscopy",
                reasons=[reason],
            ),
        ],
    )


def ultrasound_for_medicare(today: date) -> Scenario:
    patient = _Patient("ultrasound-for-medicare", today, given="Ulrike", plan=MEDICARE)
    reason = patient.diagnosis("dx-disc", M51_16)
    return patient.scenario(
        "ultrasound-for-medicare",
        "Medicare 62323 ordered under ultrasound guidance: one card, perform it under fluoroscopy or CT; no offer of "
        "62322, which Medicare does not cover",
        {Hook.ORDER_SIGN: _rules(RuleId.IMAGING_REQUIRED)},
        draft_orders=[
            patient.order(reason, text="Lumbar interlaminar epidural steroid injection L4-L5 under ultrasound guidance")
        ],
    )


def caudal_coded_cervical(today: date) -> Scenario:
    patient = _Patient("caudal-coded-cervical", today, given="Cora", plan=MEDICARE)
    reason = patient.diagnosis("dx-disc", M51_17)
    return patient.scenario(
        "caudal-coded-cervical",
        "A caudal injection coded 62321 (cervical/thoracic) for lumbosacral M51.17: the code is wrong, not the "
        "diagnosis, so one region card suggesting 62323 and no diagnosis card",
        {Hook.ORDER_SIGN: _rules(RuleId.CODE_REGION_MISMATCH)},
        draft_orders=[
            patient.order(reason, cpt="62321", text="Caudal epidural steroid injection under fluoroscopy"),
        ],
    )


def clinical_note_clean(today: date) -> Scenario:
    patient = _Patient("clinical-note-clean", today, given="Nell", plan=MEDICARE)
    reason = patient.diagnosis("dx-disc", M51_16)
    return patient.scenario(
        "clinical-note-clean",
        "A correct 62323 order written as clinicians write: history of an earlier injection, negations and the "
        "plan for the visit give no card",
        {Hook.ORDER_SELECT: NOTHING, Hook.ORDER_SIGN: NOTHING},
        draft_orders=[
            patient.order(
                reason,
                text="Lumbar interlaminar epidural steroid injection L4-L5 under fluoroscopy with contrast. "
                "Previous ESI 14 months ago gave 70% relief for 5 months. Patient denies fever, anticoagulant use "
                "or contrast allergy. Will review in clinic in 2 weeks.",
            )
        ],
    )


# Clinics in a state of each Medicare MAC whose LCD ships, named by the Location of the visit, order and booking.
TEXAS = Site("Lone Star Spine Center", "Austin", "TX")
FLORIDA = Site("Gulf Coast Pain Institute", "Tampa", "FL", ("24", "Ambulatory Surgical Center"))
KENTUCKY = Site("Bluegrass Pain Clinic", "Lexington", "KY", ("22", "On Campus-Outpatient Hospital"))
OREGON = Site("Cascade Spine and Pain", "Portland", "OR")


def wiser_texas(today: date) -> Scenario:
    patient = _Patient("wiser-texas", today, given="Tessa", plan=MEDICARE, site=TEXAS)
    reason = patient.diagnosis("dx-disc", M51_17)
    return patient.scenario(
        "wiser-texas",
        "Traditional Medicare at a Texas clinic (Novitas LCD; Texas is a WISeR state): a transforaminal 64483 needs "
        "WISeR prior authorization, when ordered and when booked",
        {
            Hook.ORDER_SIGN: _rules(RuleId.PRIOR_AUTH_REQUIRED),
            Hook.APPOINTMENT_BOOK: _rules(RuleId.PRIOR_AUTH_REQUIRED),
            Hook.ENCOUNTER_START: NOTHING,
        },
        draft_orders=[patient.order(reason, cpt="64483", text=TRANSFORAMINAL_L5_S1)],
        appointments=[patient.booking("64483", today + timedelta(days=7), TRANSFORAMINAL_L5_S1)],
    )


def first_coast_budget(today: date) -> Scenario:
    patient = _Patient("first-coast-budget", today, given="Fiona", plan=MEDICARE, site=FLORIDA)
    patient.past_sessions([8, 5], patient.diagnosis("dx-disc", M51_16))
    return patient.scenario(
        "first-coast-budget",
        "Traditional Medicare at a Florida surgery center: the visit's budget is counted under First Coast's LCD, "
        "chosen by the encounter's location",
        {Hook.ENCOUNTER_START: _rules(RuleId.FREQUENCY_BUDGET)},
    )


def cgs_cap(today: date) -> Scenario:
    patient = _Patient("cgs-cap", today, given="Kendra", plan=MEDICARE, site=KENTUCKY)
    patient.past_sessions([11, 8, 5, 2], patient.diagnosis("dx-disc", M51_16))
    return patient.scenario(
        "cgs-cap",
        "Traditional Medicare at a Kentucky hospital clinic with 4 lumbar sessions in 12 months: booking a fifth "
        "breaks CGS's LCD cap, chosen by the appointment's location",
        {
            Hook.APPOINTMENT_BOOK: _rules(RuleId.FREQUENCY_LIMIT_EXCEEDED),
            Hook.ENCOUNTER_START: _rules(RuleId.FREQUENCY_BUDGET),
        },
        appointments=[patient.booking("62323", today + timedelta(days=7), INTERLAMINAR_L4_L5)],
    )


def noridian_jf_last_session(today: date) -> Scenario:
    patient = _Patient("noridian-jf-last-session", today, given="Nora", plan=MEDICARE, site=OREGON)
    reason = patient.diagnosis("dx-disc", M51_16)
    patient.past_sessions([11, 8, 5], reason)
    return patient.scenario(
        "noridian-jf-last-session",
        "Traditional Medicare at an Oregon clinic (Noridian JF LCD; Oregon is not a WISeR state) with 3 lumbar "
        "sessions in 12 months: the order uses the last one",
        {
            Hook.ORDER_SIGN: _rules(RuleId.FREQUENCY_LIMIT_REACHED),
            Hook.ENCOUNTER_START: _rules(RuleId.FREQUENCY_BUDGET),
        },
        draft_orders=[patient.order(reason)],
    )


def hedged_order(today: date) -> Scenario:
    patient = _Patient("hedged-order", today, given="Hedda", plan=MEDICARE)
    reason = patient.diagnosis("dx-disc", M51_16)
    return patient.scenario(
        "hedged-order",
        "A correct 62323 order whose words hedge: a catheter that may be needed, a side to consider, an approach and "
        "a level still to decide, a neurolysis if the steroid fails; none of it is firm, so no card",
        {Hook.ORDER_SELECT: NOTHING, Hook.ORDER_SIGN: NOTHING},
        draft_orders=[
            patient.order(
                reason,
                text="Lumbar interlaminar epidural steroid injection under fluoroscopy, consider bilateral. L4-5 vs "
                "L5-S1; will decide level at time of procedure. Catheter may be needed if single shot fails; phenol "
                "neurolysis if steroid fails.",
            )
        ],
    )


def session_in_words(today: date) -> Scenario:
    patient = _Patient("session-in-words", today, given="Wanda", plan=MEDICARE)
    reason = patient.diagnosis("dx-disc", M51_16)
    patient.past_sessions([11, 8, 5], reason)
    patient.chart.injection_in_words("esi-in-words", patient.months_ago(2), "Lumbar ESI L4-5 interlaminar under fluoro")
    patient.chart.injection_in_words(
        "visit-history",
        patient.months_ago(1),
        "Follow-up visit. Hx of lumbar ESI with good relief; possible repeat ESI.",
    )
    likely = _rules(RuleId.FREQUENCY_LIMIT_EXCEEDED)
    budget = _rules(RuleId.FREQUENCY_BUDGET)
    return patient.scenario(
        "session-in-words",
        "Medicare patient with 3 coded lumbar sessions and a 4th recorded only in words (no CPT): counted, so a 5th "
        "gets a warning to check the count; a visit that only mentions an earlier ESI is not a session",
        {Hook.ORDER_SIGN: likely, Hook.PATIENT_VIEW: budget},
        draft_orders=[patient.order(reason)],
    )


SCENARIOS: tuple[Callable[[date], Scenario], ...] = (
    clean,
    complete_session,
    medicare_cap_exceeded,
    medicare_last_session,
    molina_cap,
    booked_too_soon,
    pump_trial,
    approach_mismatch,
    region_mismatch,
    imaging_mismatch,
    imaging_required,
    catheter_mismatch,
    neurolytic,
    guidance_bundled,
    too_many_levels,
    bilateral_modifier,
    no_diagnosis,
    invalid_diagnosis,
    nonspecific_diagnosis,
    conflicting_diagnoses,
    uncovered_diagnosis,
    missing_images,
    incomplete_documentation,
    unguided_code_with_images,
    prior_auth,
    uncoded_procedure,
    cigna_too_soon,
    bcbst_no_conservative_care,
    bcbst_nsaid_before,
    molina_drugs_not_therapy,
    medicare_advantage,
    medicare_advantage_authorized,
    medicare_advantage_authorization_expired,
    carelon_no_recent_mri,
    florida_blue_too_soon,
    free_text_order,
    esi_lumbar_booking,
    stale_booking,
    booked_on_the_anniversary,
    axial_pain_not_covered,
    two_regions_one_day,
    prior_auth_two_lines,
    ultrasound_for_medicare,
    caudal_coded_cervical,
    clinical_note_clean,
    hedged_order,
    session_in_words,
    wiser_texas,
    first_coast_budget,
    cgs_cap,
    noridian_jf_last_session,
)


def build_scenarios(today: date) -> tuple[Scenario, ...]:
    return tuple(build(today) for build in SCENARIOS)


class UnknownScenario(LookupError):
    """No scenario has that name or patient id; the message lists the known ones."""


def select(scenarios: Sequence[Scenario], name: str) -> tuple[Scenario, ...]:
    """`all`, or the one scenario called `name`."""
    if name == "all":
        return tuple(scenarios)
    for scenario in scenarios:
        if scenario.name == name:
            return (scenario,)
    known = ", ".join(scenario.name for scenario in scenarios)
    raise UnknownScenario(f"no scenario named {name!r}; known: all, {known}")


def for_patient(scenarios: Sequence[Scenario], patient_id: str) -> Scenario | None:
    return next((scenario for scenario in scenarios if scenario.patient_id == patient_id), None)

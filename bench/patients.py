"""Synthetic patients shaped like real EHR exports, for the benchmark.

Real EHR resources carry much more than the service reads: `meta`, identifiers, narrative `text`, performers,
locations, extensions, codings in several systems, dateTimes with offsets (and some without a zone, which EHRs send
although R4 forbids it). The generator puts all of that in, so parsing cost is measured on realistic bytes
(~1 KB per Procedure: 10,000 Procedures make a ~10 MB request), not on the minimal resources the tests use.

Deterministic: the same seed and `today` give the same bytes.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from fhir_mappings.code_systems import CPT, ICD_10_CM, SNOMED_CT
from plugin.sandbox import resources

CPT_OID = "urn:oid:2.16.840.1.113883.6.12"
ICD10_OID = "urn:oid:2.16.840.1.113883.6.90"
EHR = "https://ehr.example.org"
PATIENT_ID = "bench-patient-1"

# (CPT, display, SNOMED, text): injections the frequency rules count, in the shapes EHRs send them.
_INJECTIONS = (
    (
        "64483",
        "Transforaminal epidural injection, lumbar/sacral, single level",
        "18946005",
        "Right L5-S1 transforaminal epidural steroid injection under fluoroscopy",
    ),
    (
        "62323",
        "Interlaminar epidural injection, lumbar/sacral, with imaging",
        "231249005",
        "L4-L5 interlaminar epidural steroid injection, fluoroscopic guidance",
    ),
    (
        "64479",
        "Transforaminal epidural injection, cervical/thoracic, single level",
        "18946005",
        "Left C6-C7 transforaminal ESI with fluoroscopy",
    ),
    (
        "62321",
        "Interlaminar epidural injection, cervical/thoracic, with imaging",
        "231249005",
        "C7-T1 interlaminar epidural steroid injection",
    ),
)
# Other history a pain-clinic patient has: imaging, therapy, office procedures, unrelated surgery; CPT or SNOMED only.
_OTHER = (
    (CPT, "72148", "MRI lumbar spine without contrast"),
    (CPT, "72141", "MRI cervical spine without contrast"),
    (CPT, "97110", "Therapeutic exercise, each 15 minutes"),
    (CPT, "97140", "Manual therapy techniques"),
    (CPT, "20610", "Arthrocentesis, major joint"),
    (CPT, "64635", "Destruction by neurolytic agent, paravertebral facet joint, lumbar"),
    (CPT, "64493", "Injection, paravertebral facet joint, lumbar, single level"),
    (CPT, "45378", "Colonoscopy, flexible, diagnostic"),
    (CPT, "77003", "Fluoroscopic guidance for spine injection"),
    (SNOMED_CT, "229070002", "Stretching exercises"),
    (SNOMED_CT, "73761001", "Colonoscopy"),
    (SNOMED_CT, "80146002", "Appendectomy"),
    (SNOMED_CT, "387713003", "Surgical procedure"),
)
_DIAGNOSES = (
    ("M54.16", "Radiculopathy, lumbar region", "128196005"),
    ("M54.17", "Radiculopathy, lumbosacral region", "128196005"),
    ("M51.16", "Intervertebral disc disorders with radiculopathy, lumbar region", "202708005"),
    ("M48.062", "Spinal stenosis, lumbar region with neurogenic claudication", "18347007"),
    ("M54.12", "Radiculopathy, cervical region", "64598000"),
    ("M47.816", "Spondylosis without myelopathy or radiculopathy, lumbar region", "203646004"),
    ("M54.50", "Low back pain, unspecified", "279039007"),
    ("E11.9", "Type 2 diabetes mellitus without complications", "44054006"),
    ("I10", "Essential (primary) hypertension", "38341003"),
    ("E78.5", "Hyperlipidemia, unspecified", "55822004"),
    ("F41.1", "Generalized anxiety disorder", "21897009"),
    ("G89.29", "Other chronic pain", "82423001"),
    ("K21.9", "Gastro-esophageal reflux disease without esophagitis", "235595009"),
    ("Z79.891", "Long term (current) use of opiate analgesic", "428291000124105"),
    ("M25.561", "Pain in right knee", "449706002"),
    ("N18.3", "Chronic kidney disease, stage 3", "433144002"),
    ("J45.909", "Unspecified asthma, uncomplicated", "195967001"),
    ("M81.0", "Age-related osteoporosis without current pathological fracture", "102447009"),
    ("E66.9", "Obesity, unspecified", "414916001"),
    ("M54.2", "Cervicalgia", "81680005"),
)
_MODALITIES = (
    ("XA", "X-Ray Angiography"),
    ("RF", "Radio Fluoroscopy"),
    ("CT", "Computed Tomography"),
    ("MR", "Magnetic Resonance"),
)
_OFFSETS = (timezone(timedelta(hours=-5)), timezone(timedelta(hours=-4)), UTC, None)
_PRACTITIONERS = ("Practitioner/dr-ramos", "Practitioner/dr-chen", "Practitioner/dr-okafor")


def _injection_details() -> dict[str, Any]:
    """What a documented injection carries beyond its code: reason, site, note, drug and a billing modifier."""
    return {
        "reasonCode": [{"coding": [{"system": ICD_10_CM, "code": "M54.16"}], "text": "Lumbar radiculopathy"}],
        "bodySite": [{"coding": [{"system": SNOMED_CT, "code": "122496007"}], "text": "Lumbar spine"}],
        "note": [{"text": "Depo-Medrol 80 mg. Contrast flow confirmed. No complications."}],
        "usedCode": [
            {
                "coding": [
                    {
                        "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                        "code": "1741698",
                        "display": "methylprednisolone acetate",
                    }
                ]
            }
        ],
        "extension": [
            {"url": f"{EHR}/fhir/StructureDefinition/billing-modifier", "valueCoding": {"system": CPT, "code": "RT"}}
        ],
    }


class PatientFactory:
    """Resources of one synthetic patient; `today` anchors every date (the service judges against its own clock)."""

    def __init__(self, today: date, seed: int = 20261127) -> None:
        self.today = today
        self.random = random.Random(seed)

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.random.getrandbits(128), version=4))

    def _when(self, days_ago: int, hour: int = 9) -> str:
        zone = self.random.choice(_OFFSETS)
        moment = datetime.combine(self.today - timedelta(days=days_ago), time(hour, self.random.randrange(60)))
        if zone is None:
            return moment.isoformat(timespec="seconds")  # no zone: not valid R4, common in real exports
        return moment.replace(tzinfo=zone).isoformat(timespec="seconds").replace("+00:00", "Z")

    def _meta(self) -> dict[str, Any]:
        return {
            "versionId": str(self.random.randrange(1, 9)),
            "lastUpdated": self._when(self.random.randrange(0, 30)),
            "source": f"#{self.random.getrandbits(32):08x}",
        }

    def _identifier(self, kind: str) -> list[dict[str, Any]]:
        return [{"use": "official", "system": f"{EHR}/identifiers/{kind}", "value": str(self.random.getrandbits(40))}]

    def procedure(self, index: int, days_ago: int) -> dict[str, Any]:
        injection = self.random.random() < 0.2
        coding: list[dict[str, Any]]
        if injection:
            cpt, display, snomed, text = self.random.choice(_INJECTIONS)
            coding = [
                {"system": self.random.choice((CPT, CPT_OID)), "code": cpt, "display": display},
                {"system": SNOMED_CT, "code": snomed, "display": "Injection of epidural space"},
            ]
        else:
            system, code, text = self.random.choice(_OTHER)
            coding = [{"system": system, "code": code, "display": text}]
        encounter = f"Encounter/enc-{self.random.getrandbits(24):06x}"
        performed = self._when(days_ago, hour=self.random.randrange(7, 18))
        id_ = f"proc-{index:05d}-{self.random.getrandbits(16):04x}"
        meta = self._meta()
        identifier = self._identifier("procedure")
        status = "completed" if self.random.random() < 0.95 else "not-done"
        practitioner = self.random.choice(_PRACTITIONERS)
        as_period = self.random.random() < 0.3
        return resources.procedure(
            id_,
            None,
            None if as_period else performed,
            patient=PATIENT_ID,
            status=status,
            encounter=encounter,
            narrative=text,
            meta=meta,
            identifier=identifier,
            category={"coding": [{"system": SNOMED_CT, "code": "387713003", "display": "Surgical procedure"}]},
            code={"coding": coding, "text": text},
            subject={"reference": f"Patient/{PATIENT_ID}", "display": "Doe, Jane"},
            performer=[{"actor": {"reference": practitioner}, "onBehalfOf": {"reference": "Organization/pain-clinic"}}],
            location={"reference": "Location/procedure-suite-2", "display": "Procedure Suite 2"},
            **({"performedPeriod": {"start": performed, "end": performed}} if as_period else {}),
            **(_injection_details() if injection else {}),
        )

    def procedures(self, count: int) -> list[dict[str, Any]]:
        """`count` Procedures spread over ten years, newest first as EHR searches return them."""
        span = 3650
        days = sorted(self.random.randrange(1, span) for _ in range(count))
        return [self.procedure(index, days_ago) for index, days_ago in enumerate(days)]

    def condition(self, index: int) -> dict[str, Any]:
        code, display, snomed = _DIAGNOSES[index % len(_DIAGNOSES)]
        coding = [
            {"system": self.random.choice((ICD_10_CM, ICD10_OID)), "code": code, "display": display},
            {"system": SNOMED_CT, "code": snomed},
        ]
        self.random.shuffle(coding)
        meta = self._meta()
        identifier = self._identifier("problem")
        onset = self._when(self.random.randrange(30, 2000))
        recorded = self._when(self.random.randrange(0, 30))
        recorder = self.random.choice(_PRACTITIONERS)
        return resources.condition(
            f"cond-{index:03d}",
            code,
            display,
            patient=PATIENT_ID,
            clinical_status="active" if index % 7 else "resolved",
            confirmed=True,
            problem_list=True,
            narrative=display,
            meta=meta,
            identifier=identifier,
            code={"coding": coding, "text": display},
            onsetDateTime=onset,
            recordedDate=recorded,
            recorder={"reference": recorder},
        )

    def imaging_study(self, index: int, procedure: dict[str, Any] | None) -> dict[str, Any]:
        modality, display = _MODALITIES[index % len(_MODALITIES)]
        instances = self.random.randrange(1, 6)
        started = self._when(self.random.randrange(1, 1500))
        meta = self._meta()
        uid = f"1.2.840.{self.random.getrandbits(40)}"
        series_uid = f"1.2.840.{self.random.getrandbits(48)}"
        images = [
            {
                "uid": f"1.2.840.{self.random.getrandbits(48)}.{n}",
                "sopClass": {"system": "urn:ietf:rfc:3986", "code": "urn:oid:1.2.840.10008.5.1.4.1.1.12.1"},
                "number": n,
            }
            for n in range(1, instances + 1)
        ]
        return resources.imaging_study(
            f"img-{index:03d}",
            modality,
            started,
            patient=PATIENT_ID,
            instances=instances,
            encounter=procedure["encounter"]["reference"] if procedure is not None else None,
            procedure=f"Procedure/{procedure['id']}" if procedure is not None else None,
            modality_display=display,
            uid=uid,
            series={
                "uid": series_uid,
                "number": 1,
                "bodySite": {"system": SNOMED_CT, "code": "122496007", "display": "Lumbar spine"},
                "started": started,
                "instance": images,
            },
            meta=meta,
        )

    def coverages(self) -> list[dict[str, Any]]:
        return [
            resources.coverage(
                "cov-medicare",
                patient=PATIENT_ID,
                sopt="121",
                sopt_display="Medicare FFS",
                payor="Medicare Part B",
                payor_reference="Organization/cms",
                order=1,
                meta=self._meta(),
                subscriberId="1EG4-TE5-MK72",
                relationship={"coding": [{"code": "self"}]},
                period={"start": (self.today - timedelta(days=900)).isoformat()},
            ),
            resources.coverage(
                "cov-supplement",
                patient=PATIENT_ID,
                sopt="5",
                sopt_display="Private Health Insurance",
                payor="Acme Medigap Plan G",
                payor_reference="Organization/acme",
                order=2,
                meta=self._meta(),
                **{"class": [{"type": {"coding": [{"code": "plan"}]}, "value": "G", "name": "Plan G"}]},
            ),
        ]

    def appointments(self) -> list[dict[str, Any]]:
        """Five appointments (two future injections, one based on an order included in the Bundle) + that order."""
        order = self.service_request("sr-booked", "62323", "L4-L5 interlaminar ESI with fluoroscopy", status="active")
        rows = (
            ("appt-1", "fulfilled", -200, "64483"),
            ("appt-2", "fulfilled", -90, None),
            ("appt-3", "cancelled", -20, "62323"),
            ("appt-4", "booked", 40, "64483"),
            ("appt-5", "booked", 100, None),
        )
        appointments: list[dict[str, Any]] = []
        for id_, status, days_ahead, cpt in rows:
            start = self._when(-days_ahead, hour=10)
            meta = self._meta()
            practitioner = self.random.choice(_PRACTITIONERS)
            appointments.append(
                resources.appointment(
                    id_,
                    cpt,
                    start,
                    patient=PATIENT_ID,
                    status=status,
                    end=start,
                    based_on=None if cpt else "ServiceRequest/sr-booked",
                    text="Spinal injection" if cpt else "Follow-up injection per plan",
                    practitioner=practitioner,
                    meta=meta,
                    serviceCategory=[{"coding": [{"code": "pain", "display": "Pain management"}]}],
                    appointmentType={
                        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0276", "code": "ROUTINE"}]
                    },
                    minutesDuration=30,
                )
            )
        return [*appointments, order]

    def service_request(self, id_: str, cpt: str, text: str, *, status: str = "draft") -> dict[str, Any]:
        meta = self._meta()
        identifier = self._identifier("order")
        authored = self._when(0)
        return resources.service_request(
            id_,
            cpt,
            text,
            patient=PATIENT_ID,
            status=status,
            occurrence=(self.today + timedelta(days=7)).isoformat(),
            reasons=[("M54.16", "Radiculopathy, lumbar region")],
            meta=meta,
            identifier=identifier,
            category=[{"coding": [{"system": SNOMED_CT, "code": "387713003"}]}],
            authoredOn=authored,
            requester={"reference": _PRACTITIONERS[0]},
            bodySite=[{"coding": [{"system": SNOMED_CT, "code": "122496007"}], "text": "Lumbar spine L5-S1"}],
            note=[{"text": "Right L5-S1 transforaminal approach under fluoroscopy. Patient on no anticoagulants."}],
        )

    def draft_orders(self) -> list[dict[str, Any]]:
        """Two draft orders: a transforaminal injection and a separate fluoroscopy guidance order beside it."""
        return [
            self.service_request("draft-esi", "64483", "Right L5-S1 transforaminal epidural steroid injection"),
            self.service_request("draft-fluoro", "77003", "Fluoroscopic guidance, spine injection"),
        ]


def searchset(entries: list[dict[str, Any]], *, included: int = 0) -> dict[str, Any]:
    """A searchset Bundle as the benchmark's EHR returns them; the last `included` resources are `_include` matches."""
    return resources.searchset(
        entries,
        base=f"{EHR}/fhir",
        included=included,
        id=str(uuid.UUID(int=len(entries), version=4)),
        self_link=f"{EHR}/fhir/search",
    )


def patient_resources(today: date, procedures: int = 60, seed: int = 20261127) -> dict[str, list[dict[str, Any]]]:
    """The realistic patient of the benchmark, by prefetch key (plus `draftOrders`)."""
    factory = PatientFactory(today, seed)
    history = factory.procedures(procedures)
    injections = [p for p in history if len(p["code"]["coding"]) > 1]
    return {
        "patient": [
            {
                "resourceType": "Patient",
                "id": PATIENT_ID,
                "meta": factory._meta(),
                "name": [{"family": "Doe", "given": ["Jane"]}],
                "gender": "female",
                "birthDate": "1951-04-12",
            }
        ],
        "procedures": history,
        "conditions": [factory.condition(index) for index in range(20)],
        "imagingStudies": [
            factory.imaging_study(index, injections[index] if index < len(injections) else None) for index in range(10)
        ],
        "coverage": factory.coverages(),
        "appointments": factory.appointments(),
        "draftOrders": factory.draft_orders(),
    }


def order_sign_request(
    today: date, procedures: int = 60, *, prefetch: bool = True, fhir_server: str | None = None
) -> dict[str, Any]:
    """An order-sign request for the realistic patient: full prefetch, or none (the service fetches from fhirServer)."""
    data = patient_resources(today, procedures)
    return resources.cds_request(
        "order-sign",
        {"encounterId": "enc-today", "draftOrders": resources.collection(data["draftOrders"])},
        patient=PATIENT_ID,
        user="Practitioner/dr-ramos",
        hook_instance="5f0f9e76-bb1a-4c1e-9b54-0b1e6cf6f3a1",
        fhir_server=fhir_server,
        authorization=resources.fhir_authorization("bench-token", "epidural-cds") if fhir_server is not None else None,
        prefetch={
            "patient": data["patient"][0],
            "procedures": searchset(data["procedures"]),
            "conditions": searchset(data["conditions"]),
            "imagingStudies": searchset(data["imagingStudies"]),
            "coverage": searchset(data["coverage"]),
            "appointments": searchset(data["appointments"], included=1),
        }
        if prefetch
        else None,
    )

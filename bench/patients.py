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

CPT = "http://www.ama-assn.org/go/cpt"
CPT_OID = "urn:oid:2.16.840.1.113883.6.12"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10_OID = "urn:oid:2.16.840.1.113883.6.90"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
SOPT = "urn:oid:2.16.840.1.113883.3.221.5"
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
    (SNOMED, "229070002", "Stretching exercises"),
    (SNOMED, "73761001", "Colonoscopy"),
    (SNOMED, "80146002", "Appendectomy"),
    (SNOMED, "387713003", "Surgical procedure"),
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

    def _narrative(self, words: str) -> dict[str, str]:
        return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{words}</div>'}

    def procedure(self, index: int, days_ago: int) -> dict[str, Any]:
        injection = self.random.random() < 0.2
        coding: list[dict[str, Any]]
        if injection:
            cpt, display, snomed, text = self.random.choice(_INJECTIONS)
            coding = [
                {"system": self.random.choice((CPT, CPT_OID)), "code": cpt, "display": display},
                {"system": SNOMED, "code": snomed, "display": "Injection of epidural space"},
            ]
        else:
            system, code, text = self.random.choice(_OTHER)
            coding = [{"system": system, "code": code, "display": text}]
        encounter = f"Encounter/enc-{self.random.getrandbits(24):06x}"
        performed = self._when(days_ago, hour=self.random.randrange(7, 18))
        resource: dict[str, Any] = {
            "resourceType": "Procedure",
            "id": f"proc-{index:05d}-{self.random.getrandbits(16):04x}",
            "meta": self._meta(),
            "text": self._narrative(text),
            "identifier": self._identifier("procedure"),
            "status": "completed" if self.random.random() < 0.95 else "not-done",
            "category": {"coding": [{"system": SNOMED, "code": "387713003", "display": "Surgical procedure"}]},
            "code": {"coding": coding, "text": text},
            "subject": {"reference": f"Patient/{PATIENT_ID}", "display": "Doe, Jane"},
            "encounter": {"reference": encounter},
            "performer": [
                {
                    "actor": {"reference": self.random.choice(_PRACTITIONERS)},
                    "onBehalfOf": {"reference": "Organization/pain-clinic"},
                }
            ],
            "location": {"reference": "Location/procedure-suite-2", "display": "Procedure Suite 2"},
        }
        if self.random.random() < 0.3:
            resource["performedPeriod"] = {"start": performed, "end": performed}
        else:
            resource["performedDateTime"] = performed
        if injection:
            resource["reasonCode"] = [{"coding": [{"system": ICD10, "code": "M54.16"}], "text": "Lumbar radiculopathy"}]
            resource["bodySite"] = [{"coding": [{"system": SNOMED, "code": "122496007"}], "text": "Lumbar spine"}]
            resource["note"] = [{"text": "Depo-Medrol 80 mg. Contrast flow confirmed. No complications."}]
            resource["usedCode"] = [
                {
                    "coding": [
                        {
                            "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                            "code": "1741698",
                            "display": "methylprednisolone acetate",
                        }
                    ]
                }
            ]
            resource["extension"] = [
                {
                    "url": f"{EHR}/fhir/StructureDefinition/billing-modifier",
                    "valueCoding": {"system": CPT, "code": "RT"},
                }
            ]
        return resource

    def procedures(self, count: int) -> list[dict[str, Any]]:
        """`count` Procedures spread over ten years, newest first as EHR searches return them."""
        span = 3650
        days = sorted(self.random.randrange(1, span) for _ in range(count))
        return [self.procedure(index, days_ago) for index, days_ago in enumerate(days)]

    def condition(self, index: int) -> dict[str, Any]:
        code, display, snomed = _DIAGNOSES[index % len(_DIAGNOSES)]
        coding = [
            {"system": self.random.choice((ICD10, ICD10_OID)), "code": code, "display": display},
            {"system": SNOMED, "code": snomed},
        ]
        self.random.shuffle(coding)
        return {
            "resourceType": "Condition",
            "id": f"cond-{index:03d}",
            "meta": self._meta(),
            "text": self._narrative(display),
            "identifier": self._identifier("problem"),
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "active" if index % 7 else "resolved",
                    }
                ]
            },
            "verificationStatus": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}
                ]
            },
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                            "code": "problem-list-item",
                        }
                    ]
                }
            ],
            "code": {"coding": coding, "text": display},
            "subject": {"reference": f"Patient/{PATIENT_ID}"},
            "onsetDateTime": self._when(self.random.randrange(30, 2000)),
            "recordedDate": self._when(self.random.randrange(0, 30)),
            "recorder": {"reference": self.random.choice(_PRACTITIONERS)},
        }

    def imaging_study(self, index: int, procedure: dict[str, Any] | None) -> dict[str, Any]:
        modality, display = _MODALITIES[index % len(_MODALITIES)]
        instances = self.random.randrange(1, 6)
        started = self._when(self.random.randrange(1, 1500))
        resource: dict[str, Any] = {
            "resourceType": "ImagingStudy",
            "id": f"img-{index:03d}",
            "meta": self._meta(),
            "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:1.2.840.{self.random.getrandbits(40)}"}],
            "status": "available",
            "modality": [{"system": DCM, "code": modality, "display": display}],
            "subject": {"reference": f"Patient/{PATIENT_ID}"},
            "started": started,
            "numberOfSeries": 1,
            "numberOfInstances": instances,
            "series": [
                {
                    "uid": f"1.2.840.{self.random.getrandbits(48)}",
                    "number": 1,
                    "modality": {"system": DCM, "code": modality},
                    "numberOfInstances": instances,
                    "bodySite": {"system": SNOMED, "code": "122496007", "display": "Lumbar spine"},
                    "started": started,
                    "instance": [
                        {
                            "uid": f"1.2.840.{self.random.getrandbits(48)}.{n}",
                            "sopClass": {"system": "urn:ietf:rfc:3986", "code": "urn:oid:1.2.840.10008.5.1.4.1.1.12.1"},
                            "number": n,
                        }
                        for n in range(1, instances + 1)
                    ],
                }
            ],
        }
        if procedure is not None:
            resource["procedureReference"] = {"reference": f"Procedure/{procedure['id']}"}
            resource["encounter"] = procedure["encounter"]
        return resource

    def coverages(self) -> list[dict[str, Any]]:
        return [
            {
                "resourceType": "Coverage",
                "id": "cov-medicare",
                "meta": self._meta(),
                "status": "active",
                "type": {"coding": [{"system": SOPT, "code": "121", "display": "Medicare FFS"}]},
                "subscriberId": "1EG4-TE5-MK72",
                "beneficiary": {"reference": f"Patient/{PATIENT_ID}"},
                "relationship": {"coding": [{"code": "self"}]},
                "period": {"start": (self.today - timedelta(days=900)).isoformat()},
                "payor": [{"reference": "Organization/cms", "display": "Medicare Part B"}],
                "order": 1,
            },
            {
                "resourceType": "Coverage",
                "id": "cov-supplement",
                "meta": self._meta(),
                "status": "active",
                "type": {"coding": [{"system": SOPT, "code": "5", "display": "Private Health Insurance"}]},
                "beneficiary": {"reference": f"Patient/{PATIENT_ID}"},
                "payor": [{"reference": "Organization/acme", "display": "Acme Medigap Plan G"}],
                "class": [{"type": {"coding": [{"code": "plan"}]}, "value": "G", "name": "Plan G"}],
                "order": 2,
            },
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
        resources: list[dict[str, Any]] = []
        for id_, status, days_ahead, cpt in rows:
            start = self._when(-days_ahead, hour=10)
            appointment: dict[str, Any] = {
                "resourceType": "Appointment",
                "id": id_,
                "meta": self._meta(),
                "status": status,
                "serviceCategory": [{"coding": [{"code": "pain", "display": "Pain management"}]}],
                "appointmentType": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0276", "code": "ROUTINE"}]
                },
                "start": start,
                "end": start,
                "minutesDuration": 30,
                "participant": [
                    {"actor": {"reference": f"Patient/{PATIENT_ID}"}, "status": "accepted"},
                    {"actor": {"reference": self.random.choice(_PRACTITIONERS)}, "status": "accepted"},
                ],
            }
            if cpt:
                appointment["serviceType"] = [{"coding": [{"system": CPT, "code": cpt}], "text": "Spinal injection"}]
            else:
                appointment["basedOn"] = [{"reference": "ServiceRequest/sr-booked"}]
                appointment["description"] = "Follow-up injection per plan"
            resources.append(appointment)
        return [*resources, order]

    def service_request(self, id_: str, cpt: str, text: str, *, status: str = "draft") -> dict[str, Any]:
        return {
            "resourceType": "ServiceRequest",
            "id": id_,
            "meta": self._meta(),
            "identifier": self._identifier("order"),
            "status": status,
            "intent": "order",
            "category": [{"coding": [{"system": SNOMED, "code": "387713003"}]}],
            "code": {"coding": [{"system": CPT, "code": cpt}], "text": text},
            "subject": {"reference": f"Patient/{PATIENT_ID}"},
            "occurrenceDateTime": (self.today + timedelta(days=7)).isoformat(),
            "authoredOn": self._when(0),
            "requester": {"reference": _PRACTITIONERS[0]},
            "reasonCode": [
                {"coding": [{"system": ICD10, "code": "M54.16", "display": "Radiculopathy, lumbar region"}]}
            ],
            "bodySite": [{"coding": [{"system": SNOMED, "code": "122496007"}], "text": "Lumbar spine L5-S1"}],
            "note": [{"text": "Right L5-S1 transforaminal approach under fluoroscopy. Patient on no anticoagulants."}],
        }

    def draft_orders(self) -> list[dict[str, Any]]:
        """Two draft orders: a transforaminal injection and a separate fluoroscopy guidance order beside it."""
        return [
            self.service_request("draft-esi", "64483", "Right L5-S1 transforaminal epidural steroid injection"),
            self.service_request("draft-fluoro", "77003", "Fluoroscopic guidance, spine injection"),
        ]


def searchset(resources: list[dict[str, Any]], *, included: int = 0) -> dict[str, Any]:
    """A searchset Bundle as servers return them; the last `included` resources are `_include` matches."""
    entries = []
    for position, resource in enumerate(resources):
        mode = "include" if position >= len(resources) - included else "match"
        entries.append(
            {
                "fullUrl": f"{EHR}/fhir/{resource['resourceType']}/{resource['id']}",
                "resource": resource,
                "search": {"mode": mode},
            }
        )
    return {
        "resourceType": "Bundle",
        "id": str(uuid.UUID(int=len(resources), version=4)),
        "type": "searchset",
        "total": len(resources) - included,
        "link": [{"relation": "self", "url": f"{EHR}/fhir/search"}],
        "entry": entries,
    }


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
    request: dict[str, Any] = {
        "hook": "order-sign",
        "hookInstance": "5f0f9e76-bb1a-4c1e-9b54-0b1e6cf6f3a1",
        "context": {
            "userId": "Practitioner/dr-ramos",
            "patientId": PATIENT_ID,
            "encounterId": "enc-today",
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": order} for order in data["draftOrders"]],
            },
        },
    }
    if fhir_server is not None:
        request["fhirServer"] = fhir_server
        request["fhirAuthorization"] = {
            "access_token": "bench-token",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "epidural-cds",
        }
    if prefetch:
        request["prefetch"] = {
            "patient": data["patient"][0],
            "procedures": searchset(data["procedures"]),
            "conditions": searchset(data["conditions"]),
            "imagingStudies": searchset(data["imagingStudies"]),
            "coverage": searchset(data["coverage"]),
            "appointments": searchset(data["appointments"], included=1),
        }
    return request

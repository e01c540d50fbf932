"""The one resource builder writes valid FHIR R4(B) with every option its callers use, and requests the service reads.

The test fixtures are built here without a check each: this is where their validity is shown, option by option.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from cds_hooks.models import HookRequest
from plugin.sandbox import resources

BUILT: dict[str, dict[str, Any]] = {
    "procedure, minimal": resources.procedure("pr-1", "62323", "2026-03-10"),
    "procedure, every option": resources.procedure(
        "pr-2",
        "62323",
        "2026-03-10T09:30:00-05:00",
        patient="someone",
        status="in-progress",
        text="L4-L5 interlaminar ESI",
        modifiers=["50"],
        encounter="Encounter/e1",
        reasons=[("M51.16", "Intervertebral disc disorders with radiculopathy, lumbar region")],
        reason_conditions=["Condition/c1"],
        narrative="L4-L5 interlaminar ESI",
        note=[{"text": "No complications."}],
    ),
    "procedure, uncoded": resources.procedure("pr-3", None, None, performedPeriod={"start": "2026-03-10"}),
    "order, minimal": resources.service_request("sr-1", None, "Caudal epidural"),
    "order, every option": resources.service_request(
        "sr-2",
        "64483",
        "Right L5-S1 TFESI",
        status="active",
        occurrence="2026-12-01",
        modifiers=["RT"],
        reasons=[("M54.16", "Radiculopathy, lumbar region")],
        reason_conditions=["Condition/c1"],
        quantityQuantity={"value": 1, "unit": "level"},
    ),
    "prior authorization, minimal": resources.prior_authorization("pa-1", "A1", "2026-11-24", "2027-02-21"),
    "prior authorization, every option": resources.prior_authorization(
        "pa-2",
        "CA-2026-558812",
        "2026-11-24",
        "2027-02-21",
        patient="someone",
        insurer="Carelon Medical Benefits Management",
        cpt=["64483", "64484"],
        outcome="partial",
        disposition="Approved: 64483 x1, 64484 x1",
    ),
    "order carrying its authorization": resources.service_request(
        "sr-3",
        "64483",
        "Right L5-S1 TFESI",
        supportingInfo=[{"reference": "#pa-1"}],
        contained=[resources.prior_authorization("pa-1", "A1", "2026-11-24", "2027-02-21", cpt=["64483"])],
        note=[{"text": "Prior auth approved, auth # A1."}],
    ),
    "condition, minimal": resources.condition("c-1", "M51.16", "Disc disorder with radiculopathy, lumbar"),
    "condition, every option": resources.condition(
        "c-2",
        "M54.5",
        "Low back pain",
        clinical_status="resolved",
        confirmed=True,
        problem_list=True,
        text="Low back pain",
        narrative="Low back pain",
        recordedDate="2025-01-02",
    ),
    "imaging study, minimal": resources.imaging_study("is-1", "RF", "2026-03-10"),
    "imaging study, every option": resources.imaging_study(
        "is-2",
        "RF",
        "2026-03-10T09:40:00-05:00",
        instances=0,
        encounter="Encounter/e1",
        procedure="Procedure/pr-1",
        modality_display="Radio Fluoroscopy",
        uid=resources.study_uid("is-2"),
        series={"number": 1, "description": "AP and lateral views"},
    ),
    "coverage, minimal": resources.coverage("cov-1"),
    "coverage, every option": resources.coverage(
        "cov-2", sopt="1", sopt_display="Medicare", payor="Medicare Part B", payor_reference="Organization/cms", order=1
    ),
    "appointment, coded": resources.appointment("ap-1", "62323", "2026-12-10T09:00:00Z", text="ESI L4-L5"),
    "appointment, every option": resources.appointment(
        "ap-2",
        None,
        "2026-12-20T10:00:00-05:00",
        status="proposed",
        end="2026-12-20T11:00:00-05:00",
        based_on="ServiceRequest/sr-2",
        text="injection",
        practitioner="Practitioner/dr-1",
        practitioner_status="needs-action",
    ),
}


@pytest.mark.parametrize("resource", BUILT.values(), ids=BUILT.keys())
def test_each_builder_writes_valid_fhir_with_every_option(resource: dict[str, Any]) -> None:
    resources.valid(resource)


def test_valid_refuses_what_fhir_does_not_allow() -> None:
    with pytest.raises(ValidationError):
        resources.valid(resources.procedure("pr-1", "62323", "10 March 2026"))


def test_a_searchset_marks_the_included_resources_and_counts_only_the_matches() -> None:
    order = resources.service_request("sr-1", "62323", "ESI")
    bundle = resources.valid(
        resources.searchset(
            [resources.appointment("ap-1", None, "2026-12-10T09:00:00Z"), order],
            base="https://ehr.example.org/fhir",
            included=1,
        )
    )
    assert bundle["total"] == 1
    assert [entry["search"]["mode"] for entry in bundle["entry"]] == ["match", "include"]
    assert bundle["entry"][1]["fullUrl"] == "https://ehr.example.org/fhir/ServiceRequest/sr-1"


def test_a_hook_request_prefetches_every_key_and_null_means_no_data() -> None:
    request = resources.order_sign(resources.service_request("sr-1", "62323", "ESI"), conditions=None)
    HookRequest.model_validate(request)
    assert request["prefetch"]["conditions"] is None
    assert request["prefetch"]["procedures"]["total"] == 0
    assert request["context"]["draftOrders"]["entry"][0]["resource"]["id"] == "sr-1"


def test_a_request_for_the_fhir_server_carries_no_prefetch() -> None:
    request = resources.cds_request(
        "patient-view",
        fhir_server="https://ehr.example.org/fhir",
        authorization=resources.fhir_authorization("t0ken", "epidural-cds"),
    )
    HookRequest.model_validate(request)
    assert "prefetch" not in request
    assert request["fhirAuthorization"]["access_token"] == "t0ken"

"""Hypothesis strategies for what an EHR might send: realistic resources mutated at random paths, and plain JSON.

The realistic bases come from `plugin.sandbox.resources`, checked to be valid R4B, so the mutations start from
shapes the readers really see and reach deep paths (a coding's code, a period's start) that fully random JSON almost
never hits.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

from fhir_mappings.code_systems import CPT, DICOM_DCM, ICD_10_CM, SOURCE_OF_PAYMENT_TYPOLOGY
from plugin.sandbox import resources as fx

# Element names the lenient views read, so random objects often look like the fields a reader looks for.
FHIR_KEYS = (
    "resourceType", "id", "status", "intent", "code", "coding", "system", "display", "text", "performedDateTime",
    "performedPeriod", "start", "end", "encounter", "reference", "basedOn", "reasonCode", "reasonReference",
    "bodySite", "note", "usedCode", "outcome", "complication", "followUp", "extension", "url", "valueCoding",
    "valueCodeableConcept", "valueString", "orderDetail", "quantityQuantity", "value", "occurrenceDateTime",
    "occurrencePeriod", "patientInstruction", "clinicalStatus", "verificationStatus", "recordedDate", "onsetDateTime",
    "modality", "series", "numberOfInstances", "instance", "started", "procedureReference", "type", "payor", "period",
    "order", "class", "name", "serviceType", "appointmentType", "requestedPeriod", "description", "comment", "entry",
    "resource", "link", "relation",
)  # fmt: skip
RESOURCE_TYPES = (
    "Procedure", "ServiceRequest", "Condition", "ImagingStudy", "Coverage", "Appointment", "OperationOutcome",
    "Bundle", "Patient", "MedicationRequest", "",
)  # fmt: skip
CODES = (
    "62320", "62321", "62322", "62323", "62324", "62325", "62326", "62327", "64479", "64480", "64483", "64484",
    "62280", "76000", "77003", "77012", "72275", "J3301", "50", "RT", "LT", "62323-50", "64483 RT", "M51.16",
    "m51.16 ", "M5116", "M54.5", "M48.061", "G89.29", "Z00.00", "C1", "L4-L5", "L5/S1", "T12 to L1",
)  # fmt: skip
SYSTEMS = (
    CPT, ICD_10_CM, DICOM_DCM, SOURCE_OF_PAYMENT_TYPOLOGY, "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "urn:oid:", "",
)  # fmt: skip
WORDS = (
    "transforaminal", "interlaminar", "epidural", "caudal", "fluoroscopy", "without fluoroscopy", "CT guided",
    "catheter", "continuous infusion", "single shot", "phenol", "alcohol", "bilateral", "pump trial", "cervical",
    "lumbar", "L4-L5", "C5-C6 to C7", "S1", "Medicare", "Molina", "neck", "low back",
)  # fmt: skip
ODD_DATES = (
    "2026-03-10", "2026-03-10T09:00:00Z", "2026-03-10T23:30:00-05:00", "2026-03-10T09:00:00", "2026-02-30",
    "2026-13-01", "2026-03", "2026", "0000-01-01", "9999-12-31T23:59:60Z", "2026-03-10T25:00:00Z",
    "2026-03-10T24:00:00+14:00", "2026-03-10T10:61", "2026-03-10T10:00:00.123456789+99:99", "20260310",
    "+2026-03-10", " 2026-03-10 ", "2026-03-10Z", "٢٠٢٦-٠٣-١٠", "２０２６-０３-１０", "2026-03-10T\u0661\u0660:00:00Z",
)  # fmt: skip
NUMBER_STRINGS = ("inf", "-inf", "nan", "NaN", "1e400", "-0", "1_000", "0x10", "", " 7 ", "٣")
ODD_NUMBERS = (0, -1, 2**63, -(2**63) - 1, 10**30, 1e308, -1e308, 5e-324, 0.5, -0.0, 1.0)

FHIR_DATE_TIMES = st.from_regex(
    r"\A\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?\Z", fullmatch=True
)
HUGE_STRINGS = st.builds(lambda piece, times: piece * times, st.text(min_size=1, max_size=8), st.integers(1, 40_000))
ODD_STRINGS = st.one_of(
    st.sampled_from(CODES + WORDS + ODD_DATES + NUMBER_STRINGS + RESOURCE_TYPES + SYSTEMS),
    st.text(),
    st.text(st.characters(codec="utf-8"), max_size=30),
    FHIR_DATE_TIMES,
    st.dates().map(lambda day: day.isoformat()),
    st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
    HUGE_STRINGS,
    st.lists(st.sampled_from(CODES + WORDS), max_size=8).map(" ".join),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(ODD_NUMBERS),
    st.floats(allow_nan=False, allow_infinity=False),
    ODD_STRINGS,
)
KEYS = st.one_of(st.sampled_from(FHIR_KEYS), st.text(max_size=12))
# Values that have broken readers before or are likely to: numbers as strings, non-finite and huge numbers, impossible
# dates, codes with modifiers, empty containers.
ODD_LEAVES: tuple[Any, ...] = (
    *NUMBER_STRINGS, *ODD_NUMBERS, *ODD_DATES, *CODES[::3], None, True, "", [], {}, [None], [[]], {"": None},
    "x" * 100_000,
)  # fmt: skip


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5)


# Anything JSON can carry (no NaN or infinities: JSON has none, and orjson refuses them).
JSON = st.recursive(SCALARS, _containers, max_leaves=25)


def _without(resource: dict[str, Any], element: str) -> dict[str, Any]:
    return {key: value for key, value in resource.items() if key != element}


def _base_resources() -> dict[str, list[dict[str, Any]]]:
    extension = {"url": "http://example.org/cpt-modifier", "valueCoding": {"code": "50"}}
    procedure = fx.procedure(
        "pr-1",
        "62323",
        "2026-03-10T09:00:00Z",
        encounter="Encounter/e1",
        text="Lumbar interlaminar epidural steroid injection L4-L5 with fluoroscopy",
        bodySite=[{"text": "lumbar spine L4-L5"}],
        note=[{"text": "Depo-Medrol 80 mg, no complications"}],
        reasonCode=[{"coding": [{"system": ICD_10_CM, "code": "M51.16"}]}],
        usedCode=[{"coding": [{"code": "J1030"}]}],
        outcome={"text": "tolerated well"},
        followUp=[{"text": "2 weeks"}],
        extension=[extension],
    )
    order = fx.service_request(
        "order-1",
        "64483",
        "Transforaminal epidural injection L5-S1 under fluoroscopy, right",
        occurrence="2026-12-01",
        reasons=[("M54.16", "Radiculopathy, lumbar region")],
        bodySite=[{"text": "L5-S1"}],
        quantityQuantity={"value": 1},
        note=[{"text": "62323-50 if interlaminar"}],
        extension=[extension],
    )
    guidance = fx.service_request("order-2", "77003", "Fluoroscopic guidance")
    uncoded = fx.service_request("order-3", None, "Caudal epidural with catheter, continuous infusion")
    return {
        "Procedure": [
            procedure,
            {
                **_without(fx.procedure("pr-2", "64484", "2026-01-05"), "performedDateTime"),
                "performedPeriod": {"start": "2026-01-05T08:00:00-05:00"},
            },
            fx.procedure("pr-3", "99213", "2026-02-01", text="Office visit"),
        ],
        "ServiceRequest": [order, guidance, uncoded],
        "Condition": [
            fx.condition("c-1", "M51.16", "Intervertebral disc disorders with radiculopathy, lumbar region"),
            fx.condition("c-2", "M54.5", "Low back pain", clinical_status="resolved"),
        ],
        "ImagingStudy": [
            fx.imaging_study("is-1", "RF", "2026-03-10", encounter="Encounter/e1", procedure="Procedure/pr-1"),
            fx.imaging_study("is-2", "CT", "2026-03-10"),
        ],
        "Coverage": [
            fx.coverage("cov-1", sopt="1", payor="Medicare Part B", order=1),
            fx.coverage("cov-2", payor="Molina Healthcare"),
        ],
        "Appointment": [
            fx.appointment("ap-1", "62323", "2026-12-10T09:00:00Z", text="ESI L4-L5"),
            fx.appointment("ap-2", None, "2026-12-20T09:00:00Z", based_on="ServiceRequest/order-1", text="injection"),
        ],
    }


BASES = {kind: [fx.valid(resource) for resource in bases] for kind, bases in _base_resources().items()}


def node_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path (keys and indexes) of every node of `value`, itself first."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from node_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from node_paths(item, (*path, index))


def replaced_at(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A deep copy of `value` with the node at `path` replaced by `new`."""
    if not path:
        return new
    copied = copy.deepcopy(value)
    _at(copied, path[:-1])[path[-1]] = new
    return copied


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


@st.composite
def _mutation(draw: st.DrawFn, value: Any) -> Any:
    """`value` with one node replaced, removed, wrapped, unwrapped, or given an extra field."""
    path = draw(st.sampled_from(list(node_paths(value))))
    node = _at(value, path)
    action = draw(st.sampled_from(("replace", "remove", "wrap", "unwrap", "add")))
    if action == "add" and isinstance(node, dict):
        node[draw(KEYS)] = draw(JSON)
        return value
    if action == "unwrap" and isinstance(node, (list, dict)) and node:
        new: Any = next(iter(node.values())) if isinstance(node, dict) else node[0]
    elif action == "wrap":
        new = [node] if draw(st.booleans()) else {draw(KEYS): node}
    elif action == "remove" and path:
        parent = _at(value, path[:-1])
        del parent[path[-1]]
        return value
    else:
        new = copy.deepcopy(draw(st.sampled_from(ODD_LEAVES) | JSON))
    if not path:
        return new
    _at(value, path[:-1])[path[-1]] = new
    return value


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    """A deep copy of `base` after one to four random mutations."""
    value = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        value = draw(_mutation(value))
    return value


def single_mutations(base: Any) -> Iterator[Any]:
    """Every copy of `base` with one node removed, wrapped in a list, or replaced by one of the ODD_LEAVES."""
    for path in node_paths(base):
        replacements = [[_at(base, path)], *ODD_LEAVES]
        for new in replacements:
            value = copy.deepcopy(base)
            if path:
                _at(value, path[:-1])[path[-1]] = copy.deepcopy(new)
            else:
                value = copy.deepcopy(new)
            yield value
        if path:
            value = copy.deepcopy(base)
            del _at(value, path[:-1])[path[-1]]
            yield value


def resources_like(resource_type: str) -> st.SearchStrategy[Any]:
    """One item as a reader of `resource_type` may meet it: realistic, mutated, of another type, or any JSON."""
    bases = BASES[resource_type]
    others = [resource for name, group in BASES.items() if name != resource_type for resource in group]
    return st.one_of(
        st.sampled_from(bases),
        st.sampled_from(bases).flatmap(mutated),
        st.sampled_from(others),
        st.just({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "exception"}]}),
        JSON,
    )


def bundle_of(items: st.SearchStrategy[list[Any]]) -> st.SearchStrategy[Any]:
    """A searchset Bundle of `items`, sometimes mutated itself (entries without `resource`, `entry` not a list...)."""
    bundles = items.map(lambda resources: {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]})
    return bundles | bundles.flatmap(mutated)


def prefetch_value(resource_type: str) -> st.SearchStrategy[Any]:
    """A prefetch value: a Bundle, a bare list, one resource, null, an OperationOutcome, or any JSON."""
    items = st.lists(resources_like(resource_type), max_size=6)
    return st.one_of(bundle_of(items), items, resources_like(resource_type), st.none(), JSON)

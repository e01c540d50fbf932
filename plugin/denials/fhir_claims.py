"""FHIR ExplanationOfBenefit and ClaimResponse (JSON: one resource or a Bundle; NDJSON: one resource a line) →
remittance lines.

Denial reasons are read as CARIN Blue Button writes them: an `item.adjudication` whose category is
`C4BBAdjudicationDiscriminator#denialreason`, its `reason` coded in the X12 CARC (or RARC) code system. A ClaimResponse
item names no procedure of its own: its code comes from the Claim it answers (contained, or in the same file), or
from an `addItem`. Resources of other types (a Claim, a Patient) are passed over; a resource that is meant to be read
but cannot be stops the whole file, with the line (NDJSON) or Bundle entry named.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fhir_mappings.code_systems import is_procedure_code_system
from fhir_mappings.dates import calendar_date
from plugin.denials.errors import MalformedFile
from plugin.denials.lines import Adjustment, RemittanceLine

CARC_SYSTEM = "https://x12.org/codes/claim-adjustment-reason-codes"
RARC_SYSTEM = "https://x12.org/codes/remittance-advice-remark-codes"
GROUP_SYSTEM = "https://x12.org/codes/claim-adjustment-group-codes"
DENIAL_REASON = "denialreason"
_BILLED = frozenset({"submitted"})
_PAID = frozenset({"paidtoprovider", "benefit", "payment"})
_READ = frozenset({"ExplanationOfBenefit", "ClaimResponse"})


class _View(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class _Coding(_View):
    system: str | None = None
    code: str | None = None


class _Concept(_View):
    coding: tuple[_Coding, ...] = ()

    def codes(self, system: str) -> list[str]:
        return [c.code for c in self.coding if c.code and c.system == system]


class _Money(_View):
    value: Decimal


class _Quantity(_View):
    value: Decimal | None = None


class _Period(_View):
    start: str | None = None


class _Identifier(_View):
    value: str | None = None


class _Reference(_View):
    reference: str | None = None
    display: str | None = None
    identifier: _Identifier | None = None


class _Adjudication(_View):
    category: _Concept
    reason: _Concept | None = None
    amount: _Money | None = None


class _Item(_View):
    sequence: int | None = None
    item_sequence: int | None = Field(None, alias="itemSequence")
    product_or_service: _Concept | None = Field(None, alias="productOrService")
    modifier: tuple[_Concept, ...] = ()
    serviced_date: str | None = Field(None, alias="servicedDate")
    serviced_period: _Period | None = Field(None, alias="servicedPeriod")
    quantity: _Quantity | None = None
    net: _Money | None = None
    adjudication: tuple[_Adjudication, ...] = ()


class _Insurance(_View):
    coverage: _Reference | None = None


class _ClaimResource(_View):
    resource_type: str = Field(alias="resourceType")
    id: str | None = None
    identifier: tuple[_Identifier, ...] = ()
    patient: _Reference | None = None
    insurer: _Reference | None = None
    billable_period: _Period | None = Field(None, alias="billablePeriod")
    insurance: tuple[_Insurance, ...] = ()
    request: _Reference | None = None
    item: tuple[_Item, ...] = ()
    add_item: tuple[_Item, ...] = Field((), alias="addItem")
    contained: tuple[dict[str, Any], ...] = ()


def read_fhir(text: str, file: str, codes: frozenset[str]) -> tuple[list[RemittanceLine], dict[str, str]]:
    """The lines of `codes` in the ExplanationOfBenefit and ClaimResponse resources of `text`, and the member ids its
    Coverage resources give a patient for (subscriberId and identifiers → beneficiary)."""
    resources = list(_resources(text, file))
    claims = {
        f"Claim/{resource['id']}": resource
        for _, resource in resources
        if resource.get("resourceType") == "Claim" and isinstance(resource.get("id"), str)
    }
    lines: list[RemittanceLine] = []
    for place, resource in resources:
        if resource.get("resourceType") not in _READ:
            continue
        try:
            view = _ClaimResource.model_validate(resource)
        except ValidationError as error:
            problem = error.errors()[0]
            where = ".".join(str(part) for part in problem["loc"])
            raise MalformedFile(file, place, f"{resource['resourceType']} {where}: {problem['msg']}") from None
        try:
            lines.extend(_lines(view, claims, codes))
        except ValueError as error:
            raise MalformedFile(file, place, f"{view.resource_type}: {error}") from None
    return lines, _members(resource for _, resource in resources if resource.get("resourceType") == "Coverage")


def _members(coverages: Iterable[dict[str, Any]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for coverage in coverages:
        beneficiary = coverage.get("beneficiary")
        reference = beneficiary.get("reference") if isinstance(beneficiary, dict) else None
        if not isinstance(reference, str) or not reference.startswith("Patient/"):
            continue
        identifiers = [i.get("value") for i in coverage.get("identifier") or [] if isinstance(i, dict)]
        for member_id in [coverage.get("subscriberId"), *identifiers]:
            if isinstance(member_id, str) and member_id:
                found[member_id] = reference
    return found


def _resources(text: str, file: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(place, resource) for each resource: a JSON document's own, its Bundle's entries, or one per NDJSON line."""
    stripped = text.strip()
    if not stripped:
        raise MalformedFile(file, "line 1", "the file is empty")
    try:
        document = orjson.loads(stripped)
    except orjson.JSONDecodeError:
        document = None  # not one JSON document: NDJSON, read line by line below
    if isinstance(document, dict):
        yield from _document(document, file)
        return
    if document is not None:
        raise MalformedFile(file, "line 1", "a FHIR resource or Bundle is a JSON object")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            resource = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            raise MalformedFile(file, f"line {number}", f"not JSON: {error}") from None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise MalformedFile(file, f"line {number}", "not a FHIR resource (no resourceType)")
        yield f"line {number}", resource


def _document(document: dict[str, Any], file: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(document.get("resourceType"), str):
        raise MalformedFile(file, "line 1", "not a FHIR resource (no resourceType)")
    if document["resourceType"] != "Bundle":
        yield "resource", document
        return
    for number, entry in enumerate(document.get("entry") or [], start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise MalformedFile(file, f"Bundle entry {number}", "not a FHIR resource (no resourceType)")
        yield f"Bundle entry {number}", resource


def _lines(
    claim: _ClaimResource, claims: Mapping[str, dict[str, Any]], codes: frozenset[str]
) -> Iterator[RemittanceLine]:
    is_eob = claim.resource_type == "ExplanationOfBenefit"
    requested = {} if is_eob else _requested_items(claim, claims)
    items = [*claim.item, *claim.add_item]
    for number, item in enumerate(items, start=1):
        described = item if item.product_or_service is not None else requested.get(item.item_sequence or -1)
        if described is None or described.product_or_service is None:
            if is_eob:
                raise ValueError(f"item {number} has no productOrService")
            continue  # an answer to a Claim this file does not hold: its procedure is unknown
        code = next(
            (c.code for c in described.product_or_service.coding if c.code and is_procedure_code_system(c.system)),
            None,
        )
        if code not in codes:
            continue
        served = calendar_date(described.serviced_date) or calendar_date(
            (described.serviced_period or claim.billable_period or _Period()).start
        )
        if served is None:
            raise ValueError(f"item {number} has no date of service (servicedDate, servicedPeriod or billablePeriod)")
        yield _line(claim, number, item, described, code, served)


def _line(claim: _ClaimResource, number: int, item: _Item, described: _Item, code: str, served: date) -> RemittanceLine:
    amounts = {
        coding.code: adjudication.amount.value
        for adjudication in item.adjudication
        if adjudication.amount is not None
        for coding in adjudication.category.coding
        if coding.code
    }
    reasons = [
        adjudication
        for adjudication in item.adjudication
        if any(coding.code == DENIAL_REASON for coding in adjudication.category.coding) and adjudication.reason
    ]
    billed = next((amounts[c] for c in _BILLED if c in amounts), described.net.value if described.net else Decimal(0))
    paid = next((amounts[c] for c in _PAID if c in amounts), Decimal(0))
    patient = claim.patient
    return RemittanceLine(
        source="fhir-eob" if claim.resource_type == "ExplanationOfBenefit" else "fhir-claimresponse",
        payer=(claim.insurer.display or claim.insurer.reference or "") if claim.insurer else "",
        claim_id=next((i.value for i in claim.identifier if i.value), None) or f"{claim.resource_type}/{claim.id}",
        claim_status=None,
        line_number=number,
        patient_reference=patient.reference if patient and patient.reference else None,
        member_id=_member_id(claim),
        service_date=served,
        cpt=code,
        modifiers=tuple(c.code for concept in described.modifier for c in concept.coding if c.code),
        units=described.quantity.value if described.quantity and described.quantity.value else Decimal(1),
        billed=billed,
        paid=paid,
        adjustments=tuple(_adjustments(reasons, billed - paid)),
        rarcs=tuple(code for adjudication in reasons for code in _reason(adjudication).codes(RARC_SYSTEM)),
        policy=None,
    )


def _reason(adjudication: _Adjudication) -> _Concept:
    return adjudication.reason or _Concept()


def _adjustments(reasons: Sequence[_Adjudication], unpaid: Decimal) -> Iterator[Adjustment]:
    """One adjustment per CARC; a denial reason states no amount of its own, so the first carries what was not paid."""
    first = True
    for adjudication in reasons:
        reason = _reason(adjudication)
        groups = reason.codes(GROUP_SYSTEM)
        for carc in reason.codes(CARC_SYSTEM):
            amount = adjudication.amount.value if adjudication.amount else (unpaid if first else Decimal(0))
            first = False
            yield Adjustment(group=groups[0] if groups else None, carc=carc, amount=amount)


def _member_id(claim: _ClaimResource) -> str | None:
    if claim.patient is not None and claim.patient.identifier is not None and claim.patient.identifier.value:
        return claim.patient.identifier.value
    for insurance in claim.insurance:
        coverage = insurance.coverage
        if coverage is not None and coverage.identifier is not None and coverage.identifier.value:
            return coverage.identifier.value
    return None


def _requested_items(claim: _ClaimResource, claims: Mapping[str, dict[str, Any]]) -> dict[int, _Item]:
    """The items of the Claim a ClaimResponse answers, by sequence: contained ("#id") or in the same file."""
    reference = claim.request.reference if claim.request else None
    if not reference:
        return {}
    if reference.startswith("#"):
        found = next((c for c in claim.contained if c.get("id") == reference[1:]), None)
    else:
        found = claims.get("Claim/" + reference.rsplit("Claim/", 1)[-1].split("/")[0])
    if found is None:
        return {}
    items = [_Item.model_validate(item) for item in found.get("item") or [] if isinstance(item, dict)]
    return {item.sequence: item for item in items if item.sequence is not None}

"""Where a service is furnished: the Location an encounter, an appointment or an order names, read only when the data
we already hold carries it (contained in the resource, or beside it in a bundle). No Location is fetched: a Location
that is only referenced tells nothing, and the caller falls back to what else it knows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from fhir_mappings.bundles import parsed, relative_reference
from fhir_mappings.facts import PlaceFoundOn, ServicePlace, SiteOfService

US_STATES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California", "CO": "Colorado",
    "CT": "Connecticut", "DE": "Delaware", "DC": "the District of Columbia", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky",
    "LA": "Louisiana", "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire",
    "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota",
    "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island",
    "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont",
    "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "AS": "American Samoa", "GU": "Guam", "MP": "the Northern Mariana Islands", "PR": "Puerto Rico",
    "VI": "the U.S. Virgin Islands",
}  # fmt: skip
_BY_NAME = {name.removeprefix("the ").lower(): code for code, name in US_STATES.items()}

ANY_SITE = frozenset(SiteOfService)
_OUTPATIENT = frozenset(
    {SiteOfService.OFFICE, SiteOfService.HOSPITAL_OUTPATIENT, SiteOfService.AMBULATORY_SURGICAL_CENTER}
)
_HOSPITAL = frozenset({SiteOfService.HOSPITAL_OUTPATIENT, SiteOfService.INPATIENT, SiteOfService.EMERGENCY})

# CMS Place of Service codes, the payers' own terms; only the codes that name one site of an injection are read.
_PLACE_OF_SERVICE_SYSTEMS = frozenset(
    {
        "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set",
        "http://terminology.hl7.org/CodeSystem/CMSPlaceofServiceCodes",
        "urn:oid:2.16.840.1.113883.6.50",
    }
)
_PLACE_OF_SERVICE = {
    "11": frozenset({SiteOfService.OFFICE}),
    "19": frozenset({SiteOfService.HOSPITAL_OUTPATIENT}),
    "22": frozenset({SiteOfService.HOSPITAL_OUTPATIENT}),
    "24": frozenset({SiteOfService.AMBULATORY_SURGICAL_CENTER}),
    "21": frozenset({SiteOfService.INPATIENT}),
    "23": frozenset({SiteOfService.EMERGENCY}),
}
# HL7 v3 ServiceDeliveryLocationRoleType (Location.type, ServiceRequest.locationCode): a hospital is one of three sites.
_ROLE_CODE_SYSTEMS = frozenset({"http://terminology.hl7.org/CodeSystem/v3-RoleCode", "urn:oid:2.16.840.1.113883.5.111"})
_ROLE_CODES = {"ER": frozenset({SiteOfService.EMERGENCY}), "HOSP": _HOSPITAL, "GACH": _HOSPITAL}
# HL7 v3 ActCode encounter classes (Encounter.class, a Coding whose system EHRs do not always write).
_ENCOUNTER_CLASSES = {
    "AMB": _OUTPATIENT,
    "IMP": frozenset({SiteOfService.INPATIENT}),
    "ACUTE": frozenset({SiteOfService.INPATIENT}),
    "NONAC": frozenset({SiteOfService.INPATIENT}),
    "EMER": frozenset({SiteOfService.EMERGENCY}),
}


def state_code(written: Any) -> str | None:
    """A US state or territory as its USPS code, from the code or the name an address gives; None for anything else."""
    if not isinstance(written, str):
        return None
    text = written.strip()
    if text.upper() in US_STATES:
        return text.upper()
    return _BY_NAME.get(text.removeprefix("the ").lower())


def encounter_place(encounter: Any, beside: Mapping[str, Mapping[str, Any]]) -> ServicePlace | None:
    """The place of an encounter: its current (else first) Location that the data holds, narrowed by its class."""
    resource = parsed(encounter)
    if not isinstance(resource, dict) or resource.get("resourceType") != "Encounter":
        return None
    entries = [entry for entry in _list(resource.get("location")) if isinstance(entry, dict)]
    # The location the patient is at now, then any other the encounter names.
    entries.sort(key=lambda entry: entry.get("status") != "active")
    by_class = _ENCOUNTER_CLASSES.get((_code(resource.get("class")) or "").strip().upper(), frozenset())
    for entry in entries:
        location = _resolve(entry.get("location"), resource, beside)
        if location is not None:
            return _place(PlaceFoundOn.ENCOUNTER, location, by_class)
    if by_class:
        source = f"Encounter/{resource['id']}" if isinstance(resource.get("id"), str) else None
        return ServicePlace(PlaceFoundOn.ENCOUNTER, None, by_class, source)
    return None


def appointment_place(appointments: Iterable[Any], beside: Mapping[str, Mapping[str, Any]]) -> ServicePlace | None:
    """The place of the first appointment that names a Location (a participant's actor) the data holds."""
    for appointment in _of_type(appointments, "Appointment"):
        for participant in _list(appointment.get("participant")):
            actor = participant.get("actor") if isinstance(participant, dict) else None
            location = _resolve(actor, appointment, beside)
            if location is not None:
                return _place(PlaceFoundOn.APPOINTMENT, location, frozenset())
    return None


def order_place(orders: Iterable[Any], beside: Mapping[str, Mapping[str, Any]]) -> ServicePlace | None:
    """The place of the first order that names a Location (`locationReference`) the data holds, or a site code."""
    for order in _of_type(orders, "ServiceRequest"):
        coded = _codes_to_sites(_list(order.get("locationCode")), _ROLE_CODE_SYSTEMS | _PLACE_OF_SERVICE_SYSTEMS)
        for reference in _list(order.get("locationReference")):
            location = _resolve(reference, order, beside)
            if location is not None:
                return _place(PlaceFoundOn.ORDER, location, coded)
        if coded:
            return ServicePlace(PlaceFoundOn.ORDER, None, coded)
    return None


def _place(found_on: PlaceFoundOn, location: Mapping[str, Any], narrowed_by: frozenset[SiteOfService]) -> ServicePlace:
    address = location.get("address")
    state = state_code(address.get("state")) if isinstance(address, dict) else None
    typed = _codes_to_sites(_list(location.get("type")), _ROLE_CODE_SYSTEMS | _PLACE_OF_SERVICE_SYSTEMS)
    # The Location's own type is the more specific; the encounter's class only narrows it when both agree.
    sites = (typed & narrowed_by or typed) if typed and narrowed_by else (typed or narrowed_by or ANY_SITE)
    source = f"Location/{location['id']}" if isinstance(location.get("id"), str) else None
    return ServicePlace(found_on, state, sites, source)


def _resolve(reference: Any, holder: Mapping[str, Any], beside: Mapping[str, Mapping[str, Any]]) -> Any:
    if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
        return None
    written = reference["reference"]
    found: Any
    if written.startswith("#"):
        found = next(
            (
                item
                for item in _list(holder.get("contained"))
                if isinstance(item, dict) and item.get("id") == written[1:]
            ),
            None,
        )
    else:
        found = beside.get(relative_reference(written))
    return found if isinstance(found, dict) and found.get("resourceType") == "Location" else None


def _codes_to_sites(concepts: Iterable[Any], systems: frozenset[str]) -> frozenset[SiteOfService]:
    """The sites the codings name, together; empty when none is a known site code."""
    sites: set[SiteOfService] = set()
    for concept in concepts:
        codings = concept.get("coding") if isinstance(concept, dict) and "coding" in concept else [concept]
        for coding in _list(codings):
            if not isinstance(coding, dict):
                continue
            system, code = coding.get("system"), coding.get("code")
            if not isinstance(system, str) or system not in systems or not isinstance(code, str):
                continue
            table = _PLACE_OF_SERVICE if system in _PLACE_OF_SERVICE_SYSTEMS else _ROLE_CODES
            sites |= table.get(code.strip().upper(), frozenset())
    return frozenset(sites)


def _code(coding: Any) -> str | None:
    return coding.get("code") if isinstance(coding, dict) and isinstance(coding.get("code"), str) else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _of_type(values: Iterable[Any], resource_type: str) -> Iterator[dict[str, Any]]:
    for item in values:
        resource = parsed(item)
        if isinstance(resource, dict) and resource.get("resourceType") == resource_type:
            yield resource

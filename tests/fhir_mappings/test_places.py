"""Where a service is furnished, read from the Location an encounter, appointment or order names in the data."""

from __future__ import annotations

from typing import Any

from fhir_mappings.facts import PlaceFoundOn, SiteOfService
from fhir_mappings.places import ANY_SITE, appointment_place, encounter_place, order_place, state_code

POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"


def location(state: Any = "TX", *, id: str = "site", pos: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Location", "id": id, "address": {"state": state}}
    if pos:
        resource["type"] = [{"coding": [{"system": POS, "code": pos}]}]
    return resource


def encounter(*, klass: str = "AMB", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Encounter", "id": "e1", "class": {"code": klass}, **extra}


def test_a_state_is_read_as_its_code_or_its_name() -> None:
    assert state_code(" tx ") == "TX"
    assert state_code("Texas") == "TX"
    assert state_code("District of Columbia") == "DC"
    assert state_code("Ontario") is None
    assert state_code(12) is None


def test_a_contained_location_gives_the_encounters_state_and_site() -> None:
    resource = encounter(contained=[location(pos="24")], location=[{"location": {"reference": "#site"}}])

    place = encounter_place(resource, {})

    assert place is not None
    assert (place.found_on, place.state, place.sites) == (
        PlaceFoundOn.ENCOUNTER,
        "TX",
        frozenset({SiteOfService.AMBULATORY_SURGICAL_CENTER}),
    )
    assert place.source == "Location/site"


def test_a_location_beside_the_encounter_is_found_by_its_reference_and_the_current_one_wins() -> None:
    resource = encounter(
        location=[
            {"location": {"reference": "Location/old"}, "status": "completed"},
            {"location": {"reference": "https://ehr.example/fhir/Location/now"}, "status": "active"},
        ]
    )
    beside = {"Location/old": location("OH", id="old"), "Location/now": location("FL", id="now")}

    place = encounter_place(resource, beside)

    assert place is not None
    assert place.state == "FL"


def test_a_location_only_referenced_gives_no_state_but_the_class_still_narrows_the_site() -> None:
    place = encounter_place(encounter(klass="IMP", location=[{"location": {"reference": "Location/x"}}]), {})

    assert place is not None
    assert place.state is None
    assert place.sites == frozenset({SiteOfService.INPATIENT})


def test_an_ambulatory_encounter_at_an_untyped_location_may_be_any_outpatient_site() -> None:
    resource = encounter(contained=[location()], location=[{"location": {"reference": "#site"}}])

    place = encounter_place(resource, {})

    assert place is not None
    assert SiteOfService.INPATIENT not in place.sites
    assert SiteOfService.OFFICE in place.sites


def test_an_appointments_location_is_a_participants_actor() -> None:
    appointment = {
        "resourceType": "Appointment",
        "contained": [location("KY")],
        "participant": [{"actor": {"reference": "Patient/p1"}}, {"actor": {"reference": "#site"}}],
    }

    place = appointment_place([appointment], {})

    assert place is not None
    assert (place.found_on, place.state, place.sites) == (PlaceFoundOn.APPOINTMENT, "KY", ANY_SITE)


def test_an_orders_location_reference_and_site_code_are_read() -> None:
    order = {
        "resourceType": "ServiceRequest",
        "locationCode": [{"coding": [{"system": POS, "code": "11"}]}],
        "locationReference": [{"reference": "Location/site"}],
    }

    place = order_place([order], {"Location/site": location("Oregon")})

    assert place is not None
    assert (place.found_on, place.state, place.sites) == (
        PlaceFoundOn.ORDER,
        "OR",
        frozenset({SiteOfService.OFFICE}),
    )


def test_a_reference_to_something_else_than_a_location_is_not_a_place() -> None:
    order = {"resourceType": "ServiceRequest", "locationReference": [{"reference": "Organization/o1"}]}

    assert order_place([order], {"Organization/o1": {"resourceType": "Organization", "id": "o1"}}) is None


def test_odd_shapes_are_stepped_over_not_errors() -> None:
    odd: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": "e1",
        "class": ["AMB"],
        "contained": [{"resourceType": "Location", "id": "site", "type": [{"coding": [{"system": ["x"], "code": 1}]}]}],
        "location": [{"location": {"reference": "#site"}}, {"location": "Location/x"}, 7],
    }
    place = encounter_place(odd, {})
    assert place is not None
    assert (place.state, place.sites) == (None, ANY_SITE)

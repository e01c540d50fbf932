"""The state where the service is furnished, and where that was learnt: it picks a Medicare MAC's LCD and decides
state-bound prior authorization (WISeR), so every card and `policies explain` say where it came from."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fhir_mappings.facts import PlaceFoundOn, ServicePlace
from fhir_mappings.places import US_STATES


class StateOrigin(StrEnum):
    CONFIGURED = "configured"
    ENCOUNTER = "encounter"
    APPOINTMENT = "appointment"
    ORDER = "order"
    PAYER = "payer"
    """The payer Organization's address: not where the service is furnished, only what is left when nothing says."""

    @property
    def furnished(self) -> bool:
        return self is not StateOrigin.PAYER


_FROM_PLACE = {
    PlaceFoundOn.ENCOUNTER: StateOrigin.ENCOUNTER,
    PlaceFoundOn.APPOINTMENT: StateOrigin.APPOINTMENT,
    PlaceFoundOn.ORDER: StateOrigin.ORDER,
}
_WHERE = {
    StateOrigin.CONFIGURED: "as configured for this service",
    StateOrigin.ENCOUNTER: "from the encounter's location",
    StateOrigin.APPOINTMENT: "from the appointment's location",
    StateOrigin.ORDER: "from the order's location",
}


@dataclass(frozen=True, slots=True)
class ServiceState:
    code: str
    origin: StateOrigin

    @property
    def name(self) -> str:
        return US_STATES.get(self.code, self.code)

    @property
    def words(self) -> str:
        """Where the state came from, as a card says it."""
        if self.origin is StateOrigin.PAYER:
            return f"{self.name}, from the payer's address (no location of the service is on record)"
        return f"service furnished in {self.name} ({_WHERE[self.origin]})"


def service_state(configured: str | None, place: ServicePlace | None) -> ServiceState | None:
    """The operator's `service_state` first (it knows the site for certain), else the state of the Location the
    hook's data names; None when neither says, and the payer's address is all that is left."""
    if configured:
        return ServiceState(configured, StateOrigin.CONFIGURED)
    if place is not None and place.state is not None:
        return ServiceState(place.state, _FROM_PLACE[place.found_on])
    return None

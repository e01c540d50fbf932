"""Domain-fact literals for rule tests: each test names only the facts that matter to it."""

from __future__ import annotations

from datetime import date
from typing import Any

from fhir_mappings.facts import BookedSession, InjectionOrder, PerformedInjection, StatedIntent
from plugin.policies.catalog import load_catalog
from plugin.policies.service_state import ServiceState, StateOrigin
from plugin.rules.applied_policy import AppliedPolicy

CATALOG = load_catalog()


def applied(
    policy_id: str, *, by_default: bool = False, on: date | None = None, state: str | None = None
) -> AppliedPolicy:
    """The policy as the service applies it: the version in force `on` (the latest without it), with all versions."""
    policy = CATALOG.version_on(policy_id, on) if on is not None else CATALOG.policies[policy_id]
    assert policy is not None, f"no version of {policy_id} in force on {on}"
    return AppliedPolicy(
        policy,
        CATALOG.conventions,
        "chosen by the test",
        by_default=by_default,
        versions=CATALOG.versions_of(policy_id),
        service_state=ServiceState(state, StateOrigin.CONFIGURED) if state else None,
        session_types=CATALOG.session_types,
    )


def performed(
    code: str, on: date, *, source: str = "", status: str = "completed", **changes: Any
) -> PerformedInjection:
    fields: dict[str, Any] = {
        "source": source or f"Procedure/{code}-{on.isoformat()}",
        "code": code,
        "status": status,
        "performed_on": on,
        "units": 1,
        "modifiers": (),
        "encounter": None,
        "based_on": (),
        "reason_codes": ("M51.16",),
        "reason_references": (),
        "intent": StatedIntent(),
        "has_body_site": True,
        "drug_codes": ("J3301",),
        "has_outcome": True,
        "has_complication_record": True,
        "has_follow_up": True,
        "notes": (),
    }
    fields.update(changes)
    return PerformedInjection(**fields)


def order(code: str | None, on: date | None, *, source: str = "ServiceRequest/new", **changes: Any) -> InjectionOrder:
    fields: dict[str, Any] = {
        "source": source,
        "code": code,
        "codes": (code,) if code else (),
        "modifiers": (),
        "units": 1,
        "occurrence": on,
        "reason_codes": ("M51.16",),
        "reason_references": (),
        "intent": StatedIntent(),
        "text": "",
    }
    fields.update(changes)
    return InjectionOrder(**fields)


def booking(code: str, on: date, *, status: str = "booked", source: str = "", **changes: Any) -> BookedSession:
    fields: dict[str, Any] = {
        "source": source or f"Appointment/{code}-{on.isoformat()}",
        "status": status,
        "on": on,
        "codes": (code,),
        "intent": StatedIntent(),
        "text": "",
    }
    fields.update(changes)
    return BookedSession(**fields)

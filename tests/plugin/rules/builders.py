"""Domain-fact literals for rule tests: each test names only the facts that matter to it."""

from __future__ import annotations

from datetime import date
from typing import Any

from fhir_mappings.facts import BookedSession, InjectionOrder, PerformedInjection, StatedIntent
from plugin.policies.catalog import load_catalog
from plugin.rules.applied_policy import AppliedPolicy

CATALOG = load_catalog()


def applied(policy_id: str) -> AppliedPolicy:
    return AppliedPolicy(
        CATALOG.policies[policy_id], CATALOG.conventions, "chosen by the test", session_types=CATALOG.session_types
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

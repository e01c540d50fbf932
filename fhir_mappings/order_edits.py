"""Draft orders changed the way a card's one-click fix changes them: a copy with one element replaced.

Everything the clinician entered that the fix is not about (codings of other systems, notes, timing, performer)
is kept as it was.
"""

from __future__ import annotations

import copy
from typing import Any

from fhir_mappings.code_systems import CPT, ICD_10_CM, is_procedure_code_system, is_system
from fhir_mappings.icd10cm import normalize


def recoded(order: dict[str, Any], code: str, display: str) -> dict[str, Any]:
    """`order` with its CPT/HCPCS coding replaced by `code`; other codings and the text are kept."""
    changed = copy.deepcopy(order)
    existing = changed.get("code")
    concept: dict[str, Any] = existing if isinstance(existing, dict) else {}
    codings = [
        c for c in concept.get("coding", []) if isinstance(c, dict) and not is_procedure_code_system(c.get("system"))
    ]
    concept["coding"] = [{"system": CPT, "code": code, "display": display}, *codings]
    concept.setdefault("text", display)
    changed["code"] = concept
    return changed


def with_reason(
    order: dict[str, Any], code: str, display: str, condition: str | None = None, replaces: str | None = None
) -> dict[str, Any]:
    """`order` with the ICD-10-CM diagnosis `code` as a reason (instead of `replaces`), and the Condition referenced."""
    changed = copy.deepcopy(order)
    reasons = [
        concept
        for concept in changed.get("reasonCode", [])
        if isinstance(concept, dict)
        and not (
            replaces is not None
            and any(
                isinstance(c, dict)
                and is_system(c.get("system"), ICD_10_CM)
                and isinstance(c.get("code"), str)
                and normalize(c["code"]) == normalize(replaces)
                for c in concept.get("coding", [])
            )
        )
    ]
    reasons.append({"coding": [{"system": ICD_10_CM, "code": code, "display": display}], "text": display})
    changed["reasonCode"] = reasons
    if condition is not None:
        references = [
            r for r in changed.get("reasonReference", []) if isinstance(r, dict) and r.get("reference") != condition
        ]
        changed["reasonReference"] = [*references, {"reference": condition}]
    return changed

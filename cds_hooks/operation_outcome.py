"""FHIR OperationOutcome bodies for protocol errors: every non-2xx answer carries one."""

from __future__ import annotations

from typing import Any


def operation_outcome(code: str, diagnostics: str, severity: str = "error") -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code}
    if diagnostics:
        issue["diagnostics"] = diagnostics
    return {"resourceType": "OperationOutcome", "issue": [issue]}

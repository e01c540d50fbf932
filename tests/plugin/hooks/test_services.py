from collections.abc import Iterable
from dataclasses import replace
from datetime import date

import httpx

from cds_hooks.models import HookRequest
from plugin.hooks.patient_data import FetchSettings
from plugin.hooks.record_data import DataKey, PatientData
from plugin.hooks.services import SERVICES, Evaluator
from plugin.policies.catalog import load_catalog
from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.findings import Finding
from plugin.rules.frequency import budget
from plugin.rules.hook_facts import HookFacts
from plugin.sandbox.resources import procedure, searchset

PATIENT_VIEW = next(spec for spec in SERVICES if spec.id == "epidural-patient-view")


def broken_check(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> Iterable[Finding]:
    raise RuntimeError("a bug in one rule")


def test_a_failing_rule_is_named_and_the_other_cards_still_come() -> None:
    spec = replace(PATIENT_VIEW, rules=(broken_check, budget))
    evaluator = Evaluator(load_catalog(), httpx.AsyncClient(), FetchSettings(), lambda: date(2026, 11, 27))
    request = HookRequest.model_validate({"hook": "patient-view", "hookInstance": "1", "context": {"patientId": "p1"}})
    data = PatientData(values={DataKey.PROCEDURES: searchset([procedure("a", "62323", "2026-10-01")])})
    response = evaluator.respond(spec, request, data)
    topics = sorted(card.source.topic.code for card in response.cards if card.source.topic)
    assert topics == ["data-incomplete", "frequency-budget"]
    incomplete = next(
        card for card in response.cards if card.source.topic and card.source.topic.code == "data-incomplete"
    )
    assert incomplete.detail is not None
    assert "broken check" in incomplete.detail

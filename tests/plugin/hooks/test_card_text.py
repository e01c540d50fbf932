"""Every card of every example request and every sandbox scenario reads as text for a clinician (docs/card-text.md).

The cards come from the service over HTTP, so a rule of any family, written on any branch, is read here: no FHIR ids or
element paths outside the one technical line that ends a detail, no internal policy ids or versions, no "(s)" plurals,
no ambiguous "next after", no source a clinician cannot open, and every summary under 140 characters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from plugin.hooks.cards import SUMMARY_LIMIT, TECHNICAL_PREFIX
from plugin.hooks.services import SERVICES
from plugin.policies.catalog import load_catalog
from plugin.sandbox.runner import hook_request
from plugin.sandbox.scenarios import build_scenarios
from plugin.serving.app import create_app
from plugin.serving.settings import Settings
from tests.conftest import TODAY
from tests.plugin.sandbox.test_scenario_outcomes import UNREACHABLE_FHIR, full_prefetch

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SERVICE_FOR = {spec.hook: spec.id for spec in SERVICES}
RESOURCE_TYPES = (
    "Patient",
    "Procedure",
    "ServiceRequest",
    "Condition",
    "ImagingStudy",
    "Coverage",
    "Organization",
    "Appointment",
    "Encounter",
    "MedicationAdministration",
    "MedicationStatement",
    "DocumentReference",
    "Observation",
    "Practitioner",
    "Bundle",
    "OperationOutcome",
)
FHIR_ID = re.compile(rf"\b(?:{'|'.join(RESOURCE_TYPES)})/[A-Za-z0-9\-.]+")
ELEMENT_PATH = re.compile(rf"\b(?:{'|'.join(RESOURCE_TYPES)})\.[a-z]\w*")
CAMEL_CASE_ELEMENT = re.compile(r"\b[a-z]{2,}[A-Z][A-Za-z]*\b")
PROPER_NAMES = frozenset({"eviCore"})  # written in camel case by their owners, and no FHIR element
POLICY_IDS = tuple(sorted({*load_catalog().policies, load_catalog().conventions.id}, key=len, reverse=True))
BANNED_WORDS = {
    "(s)": "a plural written as (s)",
    "next after": 'an ambiguous "next after": say "next eligible date YYYY-MM-DD"',
    "domain reference": "a source a clinician cannot open",
    "CodingAhead": "a coder website where an AMA or CMS source exists",
}


def text_problems(card: dict[str, Any]) -> list[str]:
    """What in a card breaks the card-text rules, in words; empty for a card a clinician can read."""
    problems: list[str] = []
    summary: str = card["summary"]
    if len(summary) > SUMMARY_LIMIT:
        problems.append(f"summary of {len(summary)} characters")
    lines = card.get("detail", "").split("\n")
    technical = lines[-1] if lines[-1].startswith(TECHNICAL_PREFIX) else ""
    prose = [summary, *(lines[:-1] if technical else lines)]
    labels = [link["label"] for link in card.get("links", [])]
    for text in [*prose, *labels]:
        problems.extend(f"FHIR id {found!r}" for found in FHIR_ID.findall(text))
        problems.extend(f"element path {found!r}" for found in ELEMENT_PATH.findall(text))
        problems.extend(
            f"element name {found!r}" for found in CAMEL_CASE_ELEMENT.findall(text) if found not in PROPER_NAMES
        )
        problems.extend(
            f"internal policy id {policy!r}" for policy in POLICY_IDS if re.search(rf"\b{re.escape(policy)}\b", text)
        )
        problems.extend(what for word, what in BANNED_WORDS.items() if word in text)
    return [f"{card['source']['topic']['code']}: {problem}" for problem in problems]


def example_cases() -> Iterator[Any]:
    for path in sorted(EXAMPLES.glob("*.json")):
        yield pytest.param(path.name, id=path.name)


def scenario_cases() -> Iterator[Any]:
    for scenario in build_scenarios(TODAY):
        for hook in scenario.hooks:
            yield pytest.param(scenario.name, hook, id=f"{scenario.name}-{hook}")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    store = tmp_path_factory.mktemp("feedback") / "feedback.db"
    settings = Settings(feedback_db=f"sqlite:///{store}")
    with TestClient(create_app(settings, auth=False, today=lambda: TODAY)) as service:
        yield service


def cards_for(client: TestClient, request: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post(f"/cds-services/{SERVICE_FOR[request['hook']]}", json=request)
    assert response.status_code == 200, response.text
    cards: list[dict[str, Any]] = response.json()["cards"]
    return cards


@pytest.mark.parametrize("name", list(example_cases()))
def test_every_card_of_an_example_reads_as_clinical_text(client: TestClient, name: str) -> None:
    request = json.loads((EXAMPLES / name).read_text())
    assert [problem for card in cards_for(client, request) for problem in text_problems(card)] == []


@pytest.mark.parametrize(("name", "hook"), list(scenario_cases()))
def test_every_card_of_a_scenario_reads_as_clinical_text(client: TestClient, name: str, hook: str) -> None:
    scenario = next(s for s in build_scenarios(TODAY) if s.name == name)
    request = hook_request(
        hook, scenario.patient_id, UNREACHABLE_FHIR, scenario=scenario, prefetch=full_prefetch(scenario)
    )
    assert [problem for card in cards_for(client, request) for problem in text_problems(card)] == []


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Procedure/esi-5 has no reason", "FHIR id 'Procedure/esi-5'"),
        ("no drug recorded (Procedure.usedCode)", "element path 'Procedure.usedCode'"),
        ("no reasonCode or reasonReference", "element name 'reasonCode'"),
        ("allowed by Medicare (medicare-esi-lcd 2021.12)", "internal policy id 'medicare-esi-lcd'"),
        ("2 item(s) missing", "a plural written as (s)"),
        ("next after 2027-01-11", 'an ambiguous "next after"'),
        ("epidural-cds domain reference section 8", "a source a clinician cannot open"),
    ],
)
def test_the_checker_finds_each_kind_of_problem(text: str, found: str) -> None:
    card = {"summary": "A summary", "detail": text, "source": {"topic": {"code": "rule"}}}
    assert any(found in problem for problem in text_problems(card))


def test_the_checker_allows_resources_on_the_last_technical_line_only() -> None:
    card = {
        "summary": "A summary",
        "detail": f"Plain words.\n\n{TECHNICAL_PREFIX}ServiceRequest/o1, Condition/c1",
        "source": {"topic": {"code": "rule"}},
    }
    assert text_problems(card) == []
    card["detail"] = f"{TECHNICAL_PREFIX}ServiceRequest/o1\n\nPlain words."
    assert text_problems(card) != []


def test_the_checker_finds_a_long_summary() -> None:
    card = {"summary": "x" * 140, "detail": "", "source": {"topic": {"code": "rule"}}}
    assert text_problems(card) == ["rule: summary of 140 characters"]

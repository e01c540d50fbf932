"""Two cards with fixes for one draft order: the EHR applies an accepted suggestion's `update` as the whole resource,
so each suggestion must write the order as every card about it would leave it. Accepting any one, or several in any
order, leaves a complete and consistent order (issue 12, "two accepted suggestions overwrite each other")."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from plugin.sandbox.resources import condition, coverage, order_sign, service_request

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
CPT = "http://www.ama-assn.org/go/cpt"
MEDICARE = [coverage("cov-1", sopt="1", payor="Medicare Part B")]


def updates(cards: list[dict[str, Any]], order: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(rule, label, resource) of every suggested update of `order`, on any card."""
    return [
        (card["source"]["topic"]["code"], suggestion["label"], action["resource"])
        for card in cards
        for suggestion in card.get("suggestions", [])
        for action in suggestion["actions"]
        if action["type"] == "update" and action["resource"]["id"] == order
    ]


def cpt(resource: dict[str, Any]) -> list[str]:
    return [coding["code"] for coding in resource["code"]["coding"] if coding["system"] == CPT]


def diagnoses(resource: dict[str, Any]) -> list[str]:
    return [coding["code"] for reason in resource.get("reasonCode", []) for coding in reason.get("coding", [])]


def test_the_code_and_the_diagnosis_card_each_suggest_the_whole_fixed_order(service: TestClient) -> None:
    request = json.loads((EXAMPLES / "order-sign-coding-errors.json").read_text())
    cards = service.post("/cds-services/epidural-order-sign", json=request).json()["cards"]
    order = next(
        entry["resource"]["id"]
        for entry in request["context"]["draftOrders"]["entry"]
        if "62323" in cpt(entry["resource"])
    )

    suggested = updates(cards, order)
    assert {rule for rule, _, _ in suggested} == {"code-approach-mismatch", "diagnosis-nonspecific"}
    for _rule, label, resource in suggested:
        assert cpt(resource) == ["64483"], label
        assert diagnoses(resource) == ["M51.16"], label
    # Whichever the clinician accepts last, the order the EHR keeps is the same complete order.
    for first, second in itertools.permutations(suggested, 2):
        assert first[2] == second[2]


def test_with_diagnoses_to_choose_from_the_code_card_offers_the_recode_with_each(service: TestClient) -> None:
    """M54.4 is a category: the diagnosis card offers its billable children; the code card (transforaminal words on
    62323) offers the recode once per child, so accepting it after choosing a diagnosis never drops the choice."""
    order = service_request(
        "o1",
        "62323",
        "Right L5 transforaminal epidural steroid injection under fluoroscopy",
        occurrence="2026-12-03",
        reasons=[("M54.4", "Lumbago with sciatica")],
    )
    request = order_sign(
        order, coverages=MEDICARE, conditions=[condition("c1", "M54.41", "Lumbago with sciatica, right side")]
    )
    cards = service.post("/cds-services/epidural-order-sign", json=request).json()["cards"]

    by_rule: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for rule, label, resource in updates(cards, "o1"):
        by_rule.setdefault(rule, []).append((label, resource))
    code_card = next(rule for rule in by_rule if rule.startswith("code-"))
    diagnosis_card = next(rule for rule in by_rule if rule.startswith("diagnosis-"))
    offered = [diagnoses(resource) for _, resource in by_rule[diagnosis_card]]
    assert len(offered) > 1
    assert [diagnoses(resource) for _, resource in by_rule[code_card]] == offered
    for label, resource in (*by_rule[code_card], *by_rule[diagnosis_card]):
        assert cpt(resource) == ["64483"], label
        assert "M54.4" not in diagnoses(resource), label
        assert len(diagnoses(resource)) == 1, label
    assert by_rule[code_card][0][0] == "Change the order to 64483 and use M54.41"

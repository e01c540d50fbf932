"""A correct order written as clinicians write it gets no card: devices, imaging findings, surgical history, other
procedures and symptoms in its words say nothing about today's injection (issue 12, "words matched anywhere").

Reading a phrase's target and assertion is the reader's work (`fhir_mappings/context.py`); the cards rest on what it
reads, and these orders check both together from outside.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from plugin.sandbox.resources import coverage, order_sign, service_request

MEDICARE = [coverage("cov-1", sopt="1", payor="Medicare Part B")]
DISC = ("M51.16", "Intervertebral disc disorders with radiculopathy, lumbar region")
ORDERS = [
    pytest.param(
        "Lumbar interlaminar epidural steroid injection L4-L5 under fluoroscopy. Previous ESI 14 months ago gave 70% "
        "relief. Patient denies fever, anticoagulant use or contrast allergy.",
        id="history-and-negations",
    ),
    pytest.param(
        "Lumbar interlaminar epidural steroid injection L4-L5 under fluoroscopy. Peripheral IV catheter in the left "
        "hand for sedation.",
        id="iv-catheter",
    ),
    pytest.param(
        "Lumbar interlaminar epidural steroid injection L4-L5 under fluoroscopy. MRI: L4-L5 protrusion with a T2 "
        "hyperintense annular fissure.",
        id="t2-hyperintense",
    ),
    pytest.param(
        "Lumbar interlaminar epidural steroid injection L4-L5 under fluoroscopy. History: s/p L5-S1 laminectomy 2019, "
        "prior medial branch RF neurolysis 2023.",
        id="surgical-history",
    ),
    pytest.param(
        "Lumbar interlaminar epidural steroid injection L4-L5 under fluoroscopy for bilateral lower extremity "
        "radicular pain.",
        id="bilateral-symptoms",
    ),
]


def signed(service: TestClient, text: str) -> list[dict[str, Any]]:
    order = service_request("o1", "62323", text, occurrence="2026-12-03", reasons=[DISC])
    response = service.post("/cds-services/epidural-order-sign", json=order_sign(order, coverages=MEDICARE))
    assert response.status_code == 200, response.text
    cards: list[dict[str, Any]] = response.json()["cards"]
    return cards


@pytest.mark.parametrize("text", ORDERS)
def test_a_correct_order_in_clinical_words_gets_no_card(service: TestClient, text: str) -> None:
    assert [card["summary"] for card in signed(service, text)] == []


HEDGED = [
    pytest.param(
        "Lumbar interlaminar epidural steroid injection L4-L5 under fluoroscopy; catheter may be needed if single "
        "shot fails.",
        id="catheter-may-be-needed",
    ),
    pytest.param(
        "Lumbar interlaminar epidural steroid injection L4-L5 under fluoroscopy, consider bilateral.",
        id="consider-bilateral",
    ),
    pytest.param(
        "Lumbar epidural steroid injection under fluoroscopy: possible L5-S1 TFESI vs interlaminar.",
        id="possible-tfesi-vs-interlaminar",
    ),
    pytest.param(
        "Lumbar interlaminar epidural steroid injection L4-5 vs L5-S1 under fluoroscopy; will decide level at time "
        "of procedure.",
        id="level-decided-later",
    ),
    pytest.param(
        "Lumbar interlaminar epidural steroid injection L4-L5 under fluoroscopy; phenol neurolysis if steroid fails.",
        id="neurolysis-if-steroid-fails",
    ),
]


@pytest.mark.parametrize("text", HEDGED)
def test_hedged_words_on_a_correct_order_give_no_card(service: TestClient, text: str) -> None:
    assert [card["summary"] for card in signed(service, text)] == []


def test_a_hedge_never_recodes_the_order(service: TestClient) -> None:
    """62322 without imaging, "fluoroscopy if available": the guidance is not decided, so nothing may recode it on
    the strength of the words."""
    order = service_request(
        "o1",
        "62322",
        "Lumbar interlaminar ESI L4-L5, fluoroscopy if available",
        occurrence="2026-12-03",
        reasons=[DISC],
    )
    response = service.post("/cds-services/epidural-order-sign", json=order_sign(order, coverages=[]))
    cards = response.json()["cards"]

    assert all(card["source"]["topic"]["code"] != "code-imaging-mismatch" for card in cards), cards
    assert all(card["indicator"] != "critical" for card in cards)

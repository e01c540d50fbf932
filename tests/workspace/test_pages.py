"""The billing workspace in Debian's headless Chromium: sign-in, each page, the timeline from a budget card's link."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.workspace.conftest import OPERATOR, PASSWORD, Workspace, shot

pytestmark = pytest.mark.integration


def _sign_in(page: Any, workspace: Workspace, password: str = PASSWORD) -> Any:
    page.goto(f"{workspace.url}/workspace/worklist")
    page.fill("input[name=username]", OPERATOR)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    return page


def _charts_drawn(page: Any) -> int:
    page.wait_for_selector("body[data-charts=drawn]")
    return int(page.locator("[data-chart] svg").count())


def test_a_page_asked_for_without_a_session_shows_the_sign_in_form(page: Any, workspace: Workspace) -> None:
    page.goto(f"{workspace.url}/workspace/denials")

    assert page.url.endswith("/workspace/login")
    assert page.locator("h1").inner_text() == "Sign in"
    shot(page, "01-sign-in")


def test_a_wrong_password_is_refused(page: Any, workspace: Workspace) -> None:
    _sign_in(page, workspace, password="not the password")

    assert page.url.endswith("/workspace/login")
    assert page.locator("[role=alert]").inner_text() == "Wrong user name or password."
    shot(page, "02-wrong-password")
    page.goto(f"{workspace.url}/workspace/worklist")
    assert page.url.endswith("/workspace/login")


def test_the_worklist_lists_the_injection_with_open_findings_and_the_booking(page: Any, workspace: Workspace) -> None:
    _sign_in(page, workspace)

    assert page.url.endswith("/workspace/worklist")
    rows = page.locator("table.data tbody tr")
    text = rows.all_inner_texts()
    assert any("2026-11-24" in row and "62323" in row for row in text)
    assert any("2026-12-08" in row and "booked" in row for row in text)
    assert _charts_drawn(page) == 1
    assert page.locator(".topbar .operator").inner_text() == OPERATOR
    shot(page, "03-worklist")


def test_denials_are_charted_by_family_and_payer(page: Any, workspace: Workspace) -> None:
    _sign_in(page, workspace)
    page.goto(f"{workspace.url}/workspace/denials")

    assert _charts_drawn(page) == 2
    figures = page.locator(".stat .figure").all_inner_texts()
    assert int(figures[0]) > 0
    assert page.locator("table.data tbody tr").count() > 0
    shot(page, "04-denials")


def test_card_feedback_shows_accept_and_override_rates_per_rule(page: Any, workspace: Workspace) -> None:
    _sign_in(page, workspace)
    page.goto(f"{workspace.url}/workspace/feedback")

    assert _charts_drawn(page) == 1
    rows = {row.split("\t")[0]: row.split("\t") for row in page.locator("table.data tbody tr").all_inner_texts()}
    assert rows["frequency-limit-exceeded"][1:5] == ["1", "1", "50%", "50%"]
    assert "Patient in severe pain (1)" in rows["frequency-limit-exceeded"][5]
    assert rows["imaging-evidence-missing"][3] == "100%"
    shot(page, "05-feedback")


def _budget_card_link(workspace: Workspace) -> str:
    request = {
        "hook": "patient-view",
        "hookInstance": "7d2c1a3e-6a8b-4c55-9f3e-1b2a3c4d5e6f",
        "fhirServer": workspace.fhir,
        "context": {"userId": "Practitioner/dr-1", "patientId": workspace.patient},
    }
    response = httpx.post(f"{workspace.url}/cds-services/epidural-patient-view", json=request, timeout=30)
    response.raise_for_status()
    budget = [card for card in response.json()["cards"] if card["source"]["topic"]["code"] == "frequency-budget"]
    links = [link["url"] for card in budget for link in card["links"] if link["label"] == "Injection timeline"]
    assert len(links) == len(budget) == 2  # one budget card per region, each with its link
    return str(links[0])


def test_the_budget_cards_link_carries_no_patient_id_and_opens_the_timeline(page: Any, workspace: Workspace) -> None:
    link = _budget_card_link(workspace)
    assert link.startswith(f"{workspace.url}/workspace/timeline/")
    assert workspace.patient not in link

    _sign_in(page, workspace)
    page.goto(link)

    assert page.locator("h1").inner_text().startswith("Injection timeline")
    lanes = {lane.locator("h2").inner_text(): lane for lane in page.locator("section.lane").all()}
    assert set(lanes) == {"Lumbar/sacral", "Cervical/thoracic"}
    assert re.search(r"Next eligible date: \d{4}-\d{2}-\d{2}", lanes["Lumbar/sacral"].inner_text())
    assert "Booked: 2026-12-08" in lanes["Lumbar/sacral"].inner_text()
    assert _charts_drawn(page) == 1
    assert page.locator("[data-chart] svg path").count() > 5
    shot(page, "06-timeline")


def test_a_worklist_row_opens_the_same_timeline(page: Any, workspace: Workspace) -> None:
    _sign_in(page, workspace)
    with page.expect_navigation():
        page.locator("table.data tbody tr a", has_text="Timeline").first.click()

    assert workspace.patient not in page.url
    assert page.locator("h1").inner_text() == f"Injection timeline · {workspace.patient}"


def test_an_altered_timeline_link_is_refused(page: Any, workspace: Workspace) -> None:
    _sign_in(page, workspace)
    response = page.goto(f"{workspace.url}/workspace/timeline/not-a-token")

    assert response.status == 404
    assert page.locator("h1").inner_text() == "Unknown link"
    shot(page, "07-unknown-link")


def test_signing_out_ends_the_session(page: Any, workspace: Workspace) -> None:
    _sign_in(page, workspace)
    with page.expect_navigation():
        page.click("text=Sign out")

    page.goto(f"{workspace.url}/workspace/feedback")
    assert page.url.endswith("/workspace/login")

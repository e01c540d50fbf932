"""A real service process with the workspace on, a real FHIR server behind it, a SQLite database with imported
denials and card feedback, a worklist file made by the worklist command, and Debian's Chromium driven by Playwright.

Screenshots go to var/test-artifacts/workspace/ (git-ignored), one per page and state, for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from bench.processes import free_port
from plugin.sandbox import resources as fx
from plugin.storage.feedback import FeedbackRecord, FeedbackStore
from plugin.workspace.operators import hash_password
from tests.integration.fhir_server import load_resources, owned_by, running_fhir_server
from tests.integration.local_process import REPO_ROOT, running_process
from tests.integration.service_process import SERVICE_COMMAND

ARTIFACTS = REPO_ROOT / "var" / "test-artifacts" / "workspace"
DENIAL_FIXTURES = REPO_ROOT / "tests" / "fixtures" / "denials"
OPERATOR = "billing"
PASSWORD = "correct horse battery staple"
CHROMIUM = Path(os.environ.get("EPIDURAL_TEST_CHROMIUM", "/usr/bin/chromium"))


@dataclass(frozen=True)
class Workspace:
    url: str  # the service's base URL; the workspace is at url + "/workspace"
    fhir: str
    patient: str


def _patient_resources(patient: str) -> list[dict[str, Any]]:
    """Three lumbar sessions in four months, one last week without archived images, and one booked next week."""
    resources: list[dict[str, Any]] = [{"resourceType": "Patient", "id": patient}]
    resources.extend(
        owned_by(fx.procedure(f"esi-{n}", "62323", f"{day}T10:00:00Z", encounter=f"Encounter/e{n}"), patient)
        for n, day in enumerate(("2026-03-02", "2026-08-03", "2026-09-14", "2026-11-24"))
    )
    resources.append(owned_by(fx.procedure("esi-c", "62321", "2026-06-15T10:00:00Z"), patient))
    resources.append(owned_by(fx.condition("dx", "M54.16", "Radiculopathy, lumbar region"), patient))
    resources.append(owned_by(fx.coverage("cov", sopt="121", payor="Medicare Part B"), patient))
    resources.append(owned_by(fx.appointment("appt", "62323", "2026-12-08T09:00:00Z"), patient))
    return resources


def _feedback(database: str) -> None:
    now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    outcomes = [
        ("frequency-limit-exceeded", "overridden", "Patient in severe pain"),
        ("frequency-limit-exceeded", "accepted", None),
        ("imaging-evidence-missing", "accepted", None),
        ("imaging-evidence-missing", "accepted", None),
        ("diagnosis-missing", "overridden", "Diagnosis documented elsewhere"),
        ("documentation-incomplete", "accepted", None),
    ]
    with FeedbackStore(database) as store:
        store.record(
            [
                FeedbackRecord(
                    service_id="epidural-order-sign",
                    card_uuid=str(uuid.uuid4()),
                    outcome=outcome,  # type: ignore[arg-type]
                    outcome_timestamp=now,
                    accepted_suggestions=(),
                    override_reason_code="pain" if reason else None,
                    override_reason_system="https://example.org/override" if reason else None,
                    override_reason_display=reason,
                    user_comment=None,
                    rule_id=rule,
                    received_at=now,
                )
                for rule, outcome, reason in outcomes
            ]
        )


def _command(*arguments: str) -> None:
    """The command as an operator runs it (in its own process: Playwright's loop runs in this one)."""
    subprocess.run([str(SERVICE_COMMAND), *arguments], check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    scratch = tmp_path_factory.mktemp("workspace")
    database = f"sqlite:///{scratch / 'service.db'}"
    with running_fhir_server() as fhir:
        patient = f"ws-{uuid.uuid4().hex[:8]}"
        load_resources(fhir, _patient_resources(patient))
        _command("denials", "import", "--db", database, *map(str, sorted(DENIAL_FIXTURES.glob("*.835"))))
        _feedback(database)
        listing = scratch / "patients.txt"
        listing.write_text(patient + "\n")
        worklist = scratch / "worklist.jsonl"
        arguments = ["--as-of", "2026-12-01", "--from", "2026-11-01", "--json", "--output", str(worklist)]
        _command("worklist", "--fhir-server", fhir, "--patients", str(listing), *arguments)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        config = scratch / "service.toml"
        config.write_text(
            f"""
feedback_db = "{database}"
public_base_url = "{url}"

[workspace]
secret_key = "{uuid.uuid4().hex}{uuid.uuid4().hex}"
worklist_file = "{worklist}"
fhir_server = "{fhir}"
secure_cookie = false

[workspace.local_user]
username = "{OPERATOR}"
password_hash = "{hash_password(PASSWORD)}"
"""
        )
        env = {name: value for name, value in os.environ.items() if not name.startswith("EPIDURAL_CDS_")}
        command = [str(SERVICE_COMMAND), "serve", "--no-auth", "--port", str(port), "--config", str(config)]
        with running_process("epidural-cds", command, f"{url}/readyz", timeout=60, env=env):
            yield Workspace(url=url, fhir=fhir, patient=patient)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Playwright's sync API runs an event loop in this thread while it is open: closed with the module, so no test
    elsewhere that runs its own loop (asyncio.run) ever shares a thread with it, in any test order."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/browser install (Debian's chromium)")
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="en-US")
    page = context.new_page()
    yield page
    context.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

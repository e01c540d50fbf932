"""`epidural-cds denials import` and `denials report` as a user runs them, on SQLite and PostgreSQL: the shipped
fixtures give the expected table, a second import stores nothing, a malformed file is refused whole."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from plugin.command_line.main import main
from plugin.serving.app import create_app
from plugin.serving.settings import Settings

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "denials"
SHIPPED = sorted(path for path in FIXTURES.iterdir() if path.is_file())
CARDS_ISSUED_ON = date(2026, 11, 27)  # a week before the first date of service in the fixtures

EXPECTED_TABLE = """\
15 spinal injection lines, 11 denials; a card would have prevented 1 ($900.00 of $7,050.00 denied)
1 denial not matched to a patient (no reference or known member id)

Denials by rule family and payer
family                           payer                      denials  a card would have prevented  denied  preventable
-------------------------------  -------------------------  -------  ---------------------------  ------  -----------
Frequency                        SYNTHETIC COMMERCIAL PLAN  1        0                            450.00  0.00
Frequency                        SYNTHETIC MEDICARE JF      1        1                            900.00  900.00
Levels and units                 SYNTHETIC MEDICARE CGS     1        0                            400.00  0.00
Levels and units                 SYNTHETIC MEDICARE JF      1        0                            400.00  0.00
Imaging guidance bundled         SYNTHETIC MEDICARE JF      1        0                            150.00  0.00
Modifiers                        SYNTHETIC MEDICARE JF      1        0                            450.00  0.00
Diagnosis and medical necessity  SYNTHETIC COMMERCIAL PLAN  1        0                            900.00  0.00
Diagnosis and medical necessity  SYNTHETIC MEDICARE JF      1        0                            900.00  0.00
Documentation                    SYNTHETIC MEDICARE JF      1        0                            800.00  0.00
Prior authorization              SYNTHETIC COMMERCIAL PLAN  1        0                            900.00  0.00
Prior authorization              SYNTHETIC MEDICAID PLAN    1        0                            800.00  0.00

Cards per rule: overridden then denied, accepted then paid
rule                      overridden, denied  denied  override reasons                accepted, paid  paid
------------------------  ------------------  ------  ------------------------------  --------------  ------
frequency-limit-exceeded  1                   900.00  Payer granted an exception (1)  0               0.00
imaging-guidance-bundled  0                   0.00                                    1               380.00
"""


def cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    """The command in a process of its own, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "plugin", "denials", *arguments],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def denials(capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """The same command through the same entry point, in this process: a process start costs seconds per call."""

    def run(*arguments: str) -> Ran:
        code = main(["denials", *arguments])
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run


def issue_cards_and_feedback(url: str) -> None:
    """Patient p1's frequency card overridden with a reason, and its bundled-guidance card accepted, through the
    service itself: the cards are written down with the patient and the day as they are issued."""
    settings = Settings(feedback_db=url)
    with TestClient(create_app(settings, auth=False, today=lambda: CARDS_ISSUED_ON)) as service:
        issued = {}
        for example in ("order-sign-limit-exceeded.json", "order-sign-coding-errors.json"):
            request = json.loads((REPO / "examples" / example).read_text())
            response = service.post("/cds-services/epidural-order-sign", json=request)
            assert response.status_code == 200
            issued |= {card["source"]["topic"]["code"]: card["uuid"] for card in response.json()["cards"]}
        feedback = [
            {
                "card": issued["frequency-limit-exceeded"],
                "outcome": "overridden",
                "overrideReason": {"reason": {"code": "payer-exception", "display": "Payer granted an exception"}},
                "outcomeTimestamp": "2026-11-27T10:00:00Z",
            },
            {
                "card": issued["imaging-guidance-bundled"],
                "outcome": "accepted",
                "outcomeTimestamp": "2026-11-27T10:01:00Z",
            },
        ]
        answer = service.post("/cds-services/epidural-order-sign/feedback", json={"feedback": feedback})
        assert answer.status_code == 200


def test_import_then_report_gives_the_expected_table(store_url: str) -> None:
    issue_cards_and_feedback(store_url)
    imported = cli("import", *map(str, SHIPPED), "--db", store_url)
    assert imported.returncode == 0, imported.stderr
    report = cli("report", "--db", store_url)
    assert report.returncode == 0, report.stderr
    assert report.stdout == EXPECTED_TABLE


def test_a_second_import_stores_nothing_new(store_url: str, denials: Callable[..., Ran]) -> None:
    assert denials("import", *map(str, SHIPPED), "--db", store_url).returncode == 0
    again = denials("import", *map(str, SHIPPED), "--db", store_url)
    assert again.returncode == 0, again.stderr
    assert all(line.endswith(" 0 new") for line in again.stdout.splitlines())
    report = json.loads(denials("report", "--db", store_url, "--json").stdout)
    assert (report["lines"], report["denials"]) == (15, 11)


def test_a_malformed_835_and_ndjson_line_are_refused_whole_with_the_place_named(
    store_url: str, denials: Callable[..., Ran]
) -> None:
    malformed = FIXTURES / "malformed"
    result = denials("import", str(malformed / "bad-amount.835"), str(malformed / "cut-line.ndjson"), "--db", store_url)
    assert result.returncode == 1
    assert "bad-amount.835: segment 15 (SVC)" in result.stderr
    assert "cut-line.ndjson: line 3: not JSON" in result.stderr
    report = denials("report", "--db", store_url)
    assert report.stdout.startswith("no remittance lines imported")


def test_a_refused_file_does_not_stop_the_others(store_url: str, denials: Callable[..., Ran]) -> None:
    result = denials(
        "import", str(FIXTURES / "malformed" / "truncated.835"), str(FIXTURES / "medicare-cgs.835"), "--db", store_url
    )
    assert result.returncode == 1
    assert "medicare-cgs.835: 1 spinal injection line read, 1 new" in result.stdout


def test_since_leaves_out_earlier_dates_of_service(store_url: str, denials: Callable[..., Ran]) -> None:
    assert denials("import", *map(str, SHIPPED), "--db", store_url).returncode == 0
    report = json.loads(denials("report", "--db", store_url, "--json", "--since", "2026-12-10").stdout)
    assert (report["lines"], report["denials"]) == (5, 3)


def test_csv_has_a_row_per_family_and_payer_and_per_rule(store_url: str, denials: Callable[..., Ran]) -> None:
    assert denials("import", *map(str, SHIPPED), "--db", store_url).returncode == 0
    rows = denials("report", "--db", store_url, "--csv").stdout.splitlines()
    assert rows[0].startswith("section,family,payer,rule,denials")
    assert sum(1 for row in rows if row.startswith("family,")) == 11

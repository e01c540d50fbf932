"""The command line as a user runs it: a real process, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from plugin.cards import card_uuid
from plugin.feedback import FeedbackRecord, FeedbackStore
from plugin.rules.findings import RuleId

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def cli(*arguments: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plugin", *arguments],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
        check=False,
    )


def test_check_prints_the_cards_as_a_table() -> None:
    result = cli("check", str(EXAMPLES / "order-sign-limit-exceeded.json"), "--as-of", "2026-11-27")
    assert result.returncode == 0, result.stderr
    assert "CRITICAL" in result.stdout
    assert "frequency-limit-exceeded" in result.stdout


def test_check_json_prints_the_raw_cds_hooks_response() -> None:
    result = cli("check", str(EXAMPLES / "order-sign-limit-exceeded.json"), "--as-of", "2026-11-27", "--json")
    assert result.returncode == 0, result.stderr
    cards = json.loads(result.stdout)["cards"]
    assert "frequency-limit-exceeded" in {card["source"]["topic"]["code"] for card in cards}


def test_check_picks_another_service_with_service_flag(tmp_path: Path) -> None:
    request = json.loads((EXAMPLES / "patient-view.json").read_text())
    request["hook"] = "encounter-start"
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    result = cli("check", str(path), "--service", "epidural-encounter-start", "--as-of", "2026-11-27")
    assert result.returncode == 0, result.stderr
    assert "epidural-encounter-start" in result.stdout


def test_check_explains_a_file_that_is_not_a_request(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"hook": "patient-view"}')
    result = cli("check", str(path))
    assert result.returncode == 2
    assert "hookInstance" in result.stderr


def test_policies_list_shows_versions_and_sources() -> None:
    result = cli("policies", "list")
    assert result.returncode == 0, result.stderr
    for expected in ("medicare-esi-lcd", "molina-esi", "generic-3-in-6", "2021.12", "https://www.cms.gov/"):
        assert expected in result.stdout


def test_policies_check_accepts_the_shipped_files() -> None:
    result = cli("policies", "check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")


def test_policies_check_reports_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("kind: payer-policy\nid: x\n")
    result = cli("policies", "check", str(tmp_path))
    assert result.returncode == 1
    assert f"{tmp_path / 'broken.yaml'}: version: Field required" in result.stderr


def test_serve_refuses_to_start_without_trusted_clients_or_no_auth(tmp_path: Path) -> None:
    result = cli(
        "serve", "--port", "0", env={"PATH": "/usr/bin:/bin", "EPIDURAL_CDS_FEEDBACK_DB": f"sqlite:///{tmp_path}/f.db"}
    )
    assert result.returncode == 2
    assert "trusted_clients" in result.stderr
    assert "--no-auth" in result.stderr


@pytest.mark.parametrize("way", ["config file", "environment"])
def test_authentication_cannot_be_configured_off(tmp_path: Path, way: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'feedback_db = "sqlite:///{tmp_path}/f.db"\n' + ("auth = false\n" if way == "config file" else "")
    )
    env = {"PATH": "/usr/bin:/bin", **({"EPIDURAL_CDS_AUTH": "false"} if way == "environment" else {})}

    result = cli("serve", "--config", str(config), "--port", "0", env=env)

    assert result.returncode == 2
    assert "is not a setting" in result.stderr
    assert "epidural-cds serve --no-auth" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_config_keys_stop_start_up(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('public_base_url = "https://cds.example.org"\ntrusted_client = []\n')
    result = cli("serve", "--config", str(config), env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "trusted_client" in result.stderr


def test_help_lists_every_command() -> None:
    result = cli("--help")
    for command in ("serve", "check", "policies", "sandbox"):
        assert command in result.stdout


def test_feedback_report_summarises_outcomes_per_rule(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    now = datetime(2026, 11, 27, 10, tzinfo=UTC)
    store = FeedbackStore(url)
    store.record(
        [
            FeedbackRecord(
                service_id="epidural-order-sign",
                card_uuid=card_uuid(RuleId.FREQUENCY_LIMIT_EXCEEDED),
                outcome=outcome,
                outcome_timestamp=now,
                accepted_suggestions=(),
                override_reason_code="payer-exception" if outcome == "overridden" else None,
                override_reason_system=None,
                override_reason_display="Payer granted an exception" if outcome == "overridden" else None,
                user_comment=None,
                rule_id=RuleId.FREQUENCY_LIMIT_EXCEEDED.value,
                received_at=now,
            )
            for outcome in ("accepted", "overridden", "overridden")
        ]
    )
    store.close()
    result = cli("feedback", "report", "--db", url)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("frequency-limit-exceeded"))
    assert line.split()[1:4] == ["1", "2", "67%"]
    assert "Payer granted an exception (2)" in line


def test_serve_with_no_auth_warns_loudly_before_serving(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "EPIDURAL_CDS_FEEDBACK_DB": f"sqlite:///{tmp_path}/f.db"}
    with subprocess.Popen(
        [sys.executable, "-m", "plugin", "serve", "--no-auth", "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env=env,
    ) as process:
        assert process.stderr is not None
        first_lines = [process.stderr.readline() for _ in range(3)]
        process.terminate()
    assert "--no-auth: JWT checks and the fhirServer allow-list are OFF" in "".join(first_lines)


def test_the_service_and_its_cli_do_not_load_the_r4b_models_only_sandbox_loading_uses() -> None:
    # Each worker imports the CLI (multiprocessing spawns it as the main module); the R4B models are ~9 MB apiece.
    probe = "import sys, plugin.cli, plugin.asgi; print('fhir.resources' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout

    assert loaded.strip() == "False"

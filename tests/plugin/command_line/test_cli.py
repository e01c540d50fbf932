"""The command line as a user runs it, on real files: through `main` in this process, with the environment and working
directory the test gives (which keeps `make unit` fast), and as a real process where only a process shows it (the
banner printed before serving, the modules a worker imports)."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from unittest.mock import patch

import orjson
import pytest

from bench.processes import free_port
from plugin.command_line.main import main
from plugin.hooks.cards import card_uuid
from plugin.policies.catalog import load_catalog
from plugin.rules.findings import RuleId
from plugin.sandbox.resources import coverage, order_sign
from plugin.storage.feedback import FeedbackRecord, FeedbackStore

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"


def _never_serve(options: object, prepare: Callable[[], None] = lambda: None) -> int:
    prepare()  # where `serve` checks the settings, before any worker starts
    raise AssertionError(f"the command went on to serve ({options}) instead of refusing")


def cli(*arguments: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`epidural-cds ARGUMENTS` run by `main` in this process, in `cwd` with exactly the environment `env`. A `serve`
    that does not refuse to start fails the test instead of serving."""
    stdout, stderr = io.StringIO(), io.StringIO()
    saved_environment, saved_cwd = dict(os.environ), Path.cwd()
    root = logging.getLogger()
    saved_logging = (root.handlers[:], root.level)  # serve configures the root logger for its JSON lines
    os.environ.clear()
    os.environ.update(saved_environment if env is None else env)
    os.chdir(cwd)
    try:
        with redirect_stdout(stdout), redirect_stderr(stderr), patch("plugin.command_line.main.serve", _never_serve):
            try:
                status = main(list(arguments))
            except SystemExit as exit_:  # argparse: --help, --version, usage errors
                status = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environment)
        root.handlers[:], level = saved_logging
        root.setLevel(level)
    return subprocess.CompletedProcess(list(arguments), status, stdout.getvalue(), stderr.getvalue())


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


def test_check_json_keeps_an_integer_beyond_64_bits_in_a_suggested_draft(tmp_path: Path) -> None:
    request = json.loads((EXAMPLES / "order-sign-coding-errors.json").read_text())
    big = 123456789012345678901234567890
    for entry in request["context"]["draftOrders"]["entry"]:
        entry["resource"]["extension"] = [{"url": "https://example.org/big", "valueInteger": big}]
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    result = cli("check", str(path), "--as-of", "2026-11-27", "--json")
    assert result.returncode == 0, result.stderr
    drafts = [
        action["resource"]
        for card in json.loads(result.stdout)["cards"]
        for suggestion in card.get("suggestions", [])
        for action in suggestion["actions"]
        if "resource" in action
    ]
    assert drafts
    assert all(draft["extension"][0]["valueInteger"] == big for draft in drafts)


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


def test_policies_list_shows_versions_sources_and_verification_per_number() -> None:
    result = cli("policies", "list")
    assert result.returncode == 0, result.stderr
    for expected in ("medicare-esi-lcd", "molina-mcp-032", "evicore-cmm-200", "2021.12", "https://www.cms.gov/"):
        assert expected in result.stdout
    assert "version 2023-12, in force from 2023-12-01 to 2024-10-31" in result.stdout
    assert "3 sessions per 6 months       verified" in result.stdout
    assert "UNVERIFIED" in result.stdout


def test_policies_explain_says_which_policy_applies_and_how_to_map_an_unmapped_plan(tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text(orjson.dumps(order_sign(coverages=[coverage("cov-1", payor="Acme Health")])).decode())
    result = cli("policies", "explain", str(request), "--as-of", "2026-12-02")
    assert result.returncode == 0, result.stderr
    assert "Policy: eviCore CMM-200 Epidural Steroid Injections" in result.stdout
    assert "no policy is configured for the primary coverage (Acme Health)" in result.stdout
    assert "payer_identifiers" in result.stdout
    assert "it asks for no prior authorization" in result.stdout


def test_policies_explain_names_the_rule_that_matched(tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text(orjson.dumps(order_sign(coverages=[coverage("cov-1", payor="Molina Healthcare")])).decode())
    result = cli("policies", "explain", str(request), "--as-of", "2026-12-02")
    assert "Policy: Molina Clinical Policy MCP-032" in result.stdout
    assert "payer or plan name 'Molina Healthcare'" in result.stdout


@pytest.mark.parametrize(
    ("example", "state"),
    [
        ("order-sign-medicare-wiser-texas.json", "service furnished in Texas (from the order's location)"),
        ("encounter-start-medicare-first-coast.json", "service furnished in Florida (from the encounter's location)"),
        ("appointment-book-medicare-cgs.json", "service furnished in Kentucky (from the appointment's location)"),
    ],
)
def test_explain_and_check_say_where_the_state_came_from_as_the_cards_do(example: str, state: str) -> None:
    path = str(Path(__file__).resolve().parents[3] / "examples" / example)
    explained = cli("policies", "explain", path, "--as-of", "2026-11-27")
    checked = cli("check", path, "--as-of", "2026-11-27", "--json")
    assert explained.returncode == checked.returncode == 0, explained.stderr + checked.stderr
    assert f", {state}" in explained.stdout
    assert all(f"applies by state: {state}." in card["detail"] for card in orjson.loads(checked.stdout)["cards"])


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
    # Workers are forked from the command line once it has imported the app: they hold whatever it imported, and the
    # R4B models are ~9 MB apiece.
    probe = "import sys, plugin.command_line.main, plugin.serving.asgi; print('fhir.resources' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout

    assert loaded.strip() == "False"


def test_a_worker_does_not_load_the_back_office_it_does_not_run() -> None:
    # Jinja2, Authlib and argon2 (a configured workspace's pages) and the X12 models (`denials import`) each cost
    # every worker ~0.2 s of start-up.
    probe = (
        "import sys, plugin.command_line.main, plugin.serving.asgi; "
        "print(sorted(m for m in ('jinja2', 'authlib', 'argon2', 'x12sdk') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout

    assert loaded.strip() == "[]"


def test_version_names_the_installed_release() -> None:
    result = cli("--version")
    assert result.returncode == 0
    assert re.fullmatch(r"epidural-cds \d+\.\d+\.\d+\S*\n", result.stdout)


def test_check_names_the_policy_it_applied_and_wraps_long_summaries_whole() -> None:
    narrow = {**os.environ, "COLUMNS": "70"}
    result = cli("check", str(EXAMPLES / "order-sign-limit-exceeded.json"), "--as-of", "2026-11-27", env=narrow)
    assert result.returncode == 0, result.stderr
    medicare = load_catalog().policies["medicare-esi-lcd"]
    assert f"policy: {medicare.title} (medicare-esi-lcd {medicare.version})" in result.stdout
    summary_column = [line[37:].strip() for line in result.stdout.splitlines() if line.startswith(("CRITICAL", " "))]
    assert len(summary_column) > 1  # wrapped over several lines...
    assert "earliest 2027-01-12" in " ".join(summary_column)  # ...and nothing cut, least of all the end


def test_fail_on_exits_1_only_when_a_card_at_or_above_the_indicator_is_present() -> None:
    limit_exceeded = str(EXAMPLES / "order-sign-limit-exceeded.json")  # one critical card
    without = cli("check", limit_exceeded, "--as-of", "2026-11-27")
    on_critical = cli("check", limit_exceeded, "--as-of", "2026-11-27", "--fail-on", "critical")
    on_warning = cli("check", limit_exceeded, "--as-of", "2026-11-27", "--fail-on", "warning")
    clean = cli(
        "check", str(EXAMPLES / "patient-view.json"), "--as-of", "2026-11-27", "--fail-on", "critical", "--json"
    )
    assert (without.returncode, on_critical.returncode, on_warning.returncode) == (0, 1, 1)
    assert clean.returncode == 0, clean.stdout
    assert not [card for card in json.loads(clean.stdout)["cards"] if card["indicator"] == "critical"]


def test_read_only_commands_create_nothing_and_the_default_database_is_per_user(tmp_path: Path) -> None:
    home, workdir = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    workdir.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    report = cli("feedback", "report", cwd=workdir, env=env)
    listing = cli("policies", "list", cwd=workdir, env=env)
    checked = cli("check", str(EXAMPLES / "order-sign.json"), cwd=workdir, env=env)
    assert (report.returncode, listing.returncode, checked.returncode) == (0, 0, 0), report.stderr + checked.stderr
    assert f"no database at {home}/.local/share/epidural-cds/feedback.db" in report.stdout
    assert list(home.iterdir()) == []
    assert list(workdir.iterdir()) == []


def test_a_bad_database_url_or_an_unreachable_postgresql_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    not_a_url = cli("feedback", "report", "--db", "mysql://user@db/feedback", env=env)
    unreachable = cli("feedback", "report", "--db", f"postgresql://user:secret@127.0.0.1:{free_port()}/db", env=env)
    serve = cli("serve", "--no-auth", "--port", "0", env={**env, "EPIDURAL_CDS_FEEDBACK_DB": "not a url"})
    for result in (not_a_url, unreachable, serve):
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert "secret" not in result.stderr
    assert "unsupported URL scheme 'mysql'" in not_a_url.stderr
    assert "cannot read the feedback database (OperationalError)" in unreachable.stderr
    assert "feedback_db is not a database URL" in serve.stderr


def test_every_serve_flag_says_what_it_does() -> None:
    result = cli("serve", "--help", env={**os.environ, "COLUMNS": "200"})
    options = re.findall(r"^  (--[a-z-]+)(?: [A-Z_]+)?\s*(.*)$", result.stdout, re.MULTILINE)
    assert {flag for flag, _ in options} >= {"--host", "--port", "--workers", "--config", "--no-auth"}
    assert all(text.strip() for _, text in options), options

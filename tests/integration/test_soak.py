"""bench/soak.py, shortened: the real service under mixed load, then SIGTERM with requests in flight."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_a_short_soak_serves_everything_loses_no_feedback_and_shuts_down_gracefully() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench.soak", "--seconds", "8", "--concurrency", "6"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "result: PASS" in run.stdout
    assert "lost 0" in run.stdout

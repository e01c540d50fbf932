"""Hypothesis profiles for the fuzz tests: "ci" by default, "deep" with HYPOTHESIS_PROFILE=deep.

"ci" is sized to finish the whole fuzz package in well under a minute on a 2-core machine, and derandomized: the
same cases every run, so a submission's CI result depends on its code, not on the luck of the draw. "deep" is
randomized, for a run before a release or after a change to the readers, and takes several minutes; what it finds
becomes a fixed regression case.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

_SLOW_IS_EXPECTED = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile(
    "ci", max_examples=300, deadline=None, derandomize=True, suppress_health_check=_SLOW_IS_EXPECTED
)
settings.register_profile("deep", max_examples=5000, deadline=None, suppress_health_check=_SLOW_IS_EXPECTED)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this package is a fuzz test, so `make unit` (-m "not fuzz") leaves them out."""
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.fuzz)

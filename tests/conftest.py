"""Fixtures shared by every test package: the service app, in-process, with a fixed date."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from plugin.serving.app import create_app
from plugin.serving.settings import Settings

TODAY = date(2026, 11, 27)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[TestClient]:
    """The service with auth off and its feedback in a fresh SQLite file, answering as of TODAY."""
    settings = Settings(feedback_db=f"sqlite:///{tmp_path / 'feedback.db'}")
    with TestClient(create_app(settings, auth=False, today=lambda: TODAY), raise_server_exceptions=False) as client:
        yield client

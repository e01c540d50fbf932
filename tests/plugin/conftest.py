"""Database fixtures for the plugin tests: a throwaway PostgreSQL cluster, and a store URL per backend."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bench.processes import free_port

POSTGRES_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "postgres"
_NOT_INSTALLED = 3  # scripts/postgres exit status when no server binaries are installed
# Set by `make test`: there the PostgreSQL cases must run, so a missing server fails instead of skipping.
REQUIRE_POSTGRES = os.environ.get("EPIDURAL_TESTS_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of database ``epidural_cds`` on a cluster started for this session (``scripts/postgres start``).

    When PostgreSQL is not installed the PostgreSQL cases skip, saying so, except under `make test`
    (EPIDURAL_TESTS_REQUIRE_POSTGRES=1), where they fail: CI must run them.
    """
    # Not under pytest's tmp_path: its parents are private to root, and the server runs as `postgres`.
    cluster_dir = tempfile.mkdtemp(prefix="epidural-cds-pg-")
    try:
        started = subprocess.run(
            [str(POSTGRES_SCRIPT), "start", cluster_dir, str(free_port())],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except BaseException:
        shutil.rmtree(cluster_dir, ignore_errors=True)
        raise
    if started.returncode != 0:
        subprocess.run([str(POSTGRES_SCRIPT), "stop", cluster_dir], capture_output=True, timeout=60, check=False)
        shutil.rmtree(cluster_dir, ignore_errors=True)
        if started.returncode == _NOT_INSTALLED:
            message = "PostgreSQL is not installed (run scripts/postgres install, or make test, which does)"
            if not REQUIRE_POSTGRES:
                pytest.skip(message)
            pytest.fail(f"{message}; the feedback store must be tested on it\n{started.stderr}", pytrace=False)
        pytest.fail(f"scripts/postgres start failed (exit {started.returncode}):\n{started.stderr}", pytrace=False)
    try:
        yield started.stdout.strip()
    finally:
        subprocess.run([str(POSTGRES_SCRIPT), "stop", cluster_dir], capture_output=True, timeout=60, check=False)
        shutil.rmtree(cluster_dir, ignore_errors=True)


@pytest.fixture
def postgres_database_url(postgres_url: str) -> Iterator[str]:
    """URL of a fresh, empty database on the session cluster, dropped after the test."""
    name = f"test_{uuid.uuid4().hex}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for an empty feedback store, once per supported backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'feedback.db'}"
    url: str = request.getfixturevalue("postgres_database_url")
    return url

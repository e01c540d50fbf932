"""A new installation: every workspace page answers, and says there is nothing yet, before any data exists."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from plugin.serving.app import create_app
from plugin.serving.settings import Settings
from plugin.workspace.links import TimelineLinks
from plugin.workspace.operators import hash_password

PASSWORD = "a long sandbox password"
SECRET = "w" * 40


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        feedback_db=f"sqlite:///{tmp_path / 'service.db'}",
        workspace={
            "secret_key": SECRET,
            "secure_cookie": False,
            "worklist_file": str(tmp_path / "worklist.jsonl"),
            "local_user": {"username": "billing", "password_hash": hash_password(PASSWORD)},
        },
    )
    with TestClient(create_app(settings, auth=False), follow_redirects=False) as test_client:
        form = test_client.get("/workspace/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf is not None
        signed_in = test_client.post(
            "/workspace/login", data={"username": "billing", "password": PASSWORD, "csrf": csrf.group(1)}
        )
        assert signed_in.status_code == 303
        yield test_client


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/workspace/worklist", "No worklist yet"),
        ("/workspace/denials", "No denials imported yet"),
        ("/workspace/feedback", "No feedback recorded yet"),
    ],
)
def test_each_page_says_when_it_has_nothing_to_show(client: TestClient, path: str, says: str) -> None:
    page = client.get(path)

    assert page.status_code == 200
    assert says in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_a_timeline_without_a_record_source_says_so(client: TestClient) -> None:
    token = TimelineLinks(SECRET, 60).token_for("p-1")

    page = client.get(f"/workspace/timeline/{token}")

    assert page.status_code == 503
    assert "no FHIR server configured" in page.text


def test_an_altered_timeline_link_is_unknown(client: TestClient) -> None:
    assert client.get("/workspace/timeline/gAAAAA-not-a-real-token").status_code == 404


def test_a_sign_in_without_the_forms_token_is_refused(client: TestClient) -> None:
    client.cookies.clear()

    refused = client.post("/workspace/login", data={"username": "billing", "password": PASSWORD, "csrf": "guess"})

    assert refused.status_code == 400
    assert client.get("/workspace/worklist").status_code == 303

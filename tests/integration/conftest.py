from collections.abc import Iterator

import pytest

from tests.integration.fhir_server import running_fhir_server


@pytest.fixture(scope="session")
def fhir_base_url() -> Iterator[str]:
    """Base URL (``http://127.0.0.1:<port>/fhir``) of a FHIR server started once for the test session."""
    with running_fhir_server() as base_url:
        yield base_url

"""The session-types policy data: shipped local appointment types, an operator's file laid over them, and errors."""

from datetime import date
from pathlib import Path

from fhir_mappings.facts import BookedSession, StatedIntent
from plugin.policies.catalog import check_directory, load_catalog
from plugin.rules.session_types import SessionReader

OPERATOR_FILE = """\
kind: session-types
appointment_types:
  - {code: "PAIN-17", system: "urn:clinic:visit-types", procedure_codes: ["64479"]}
  - {text: "ESI LUMBAR", region: cervical-thoracic}
"""


def visit(*, texts: tuple[str, ...] = (), codes: tuple[tuple[str | None, str], ...] = ()) -> BookedSession:
    return BookedSession(
        source="Appointment/a",
        status="booked",
        on=date(2026, 12, 1),
        codes=(),
        intent=StatedIntent(),
        text="",
        type_codes=codes,
        type_texts=texts,
    )


def test_the_shipped_file_loads_with_its_types_and_what_is_never_a_session() -> None:
    types = load_catalog().session_types
    assert types is not None
    assert types.not_sessions is not None
    assert any(entry.text == "ESI LUMBAR" for entry in types.appointment_types)


def test_an_operators_types_are_tried_before_the_shipped_ones(tmp_path: Path) -> None:
    (tmp_path / "visit-types.yaml").write_text(OPERATOR_FILE)
    catalog = load_catalog(tmp_path)
    types = catalog.session_types
    assert types is not None
    reader = SessionReader(catalog.policies["medicare-esi-lcd"].frequency, types)
    overridden = reader.appointment_type(visit(texts=("ESI LUMBAR",)))
    assert overridden is not None
    assert overridden.region == "cervical-thoracic"
    by_code = reader.appointment_type(visit(codes=(("urn:clinic:visit-types", "PAIN-17"),)))
    assert by_code is not None
    assert by_code.procedure_codes == ["64479"]
    shipped = reader.appointment_type(visit(texts=("epidural - cervical",)))
    assert shipped is not None
    assert shipped.region == "cervical-thoracic"
    assert types.not_sessions == load_catalog().session_types.not_sessions  # type: ignore[union-attr]


def test_a_code_of_another_system_does_not_match() -> None:
    catalog = load_catalog()
    reader = SessionReader(catalog.policies["medicare-esi-lcd"].frequency, catalog.session_types)
    assert reader.appointment_type(visit(codes=(("urn:other", "PAIN-17"),))) is None


def test_an_appointment_type_that_maps_to_nothing_is_reported_with_its_file(tmp_path: Path) -> None:
    (tmp_path / "visit-types.yaml").write_text("kind: session-types\nappointment_types:\n  - {text: ESI}\n")
    problems = check_directory(tmp_path)
    assert all(problem.file.endswith("visit-types.yaml") for problem in problems)
    assert any(
        problem.field == "appointment_types.0" and "procedure_codes, a region, or both" in problem.message
        for problem in problems
    )


def test_an_appointment_type_needs_a_code_or_a_text(tmp_path: Path) -> None:
    (tmp_path / "visit-types.yaml").write_text("kind: session-types\nappointment_types:\n  - {region: lumbar-sacral}\n")
    assert any("by code or by text" in problem.message for problem in check_directory(tmp_path))

"""The denial fixtures a newcomer imports are the ones the tests use, and cover every family a remittance can name."""

from __future__ import annotations

from pathlib import Path

from plugin.denials.classification import load_classification
from plugin.denials.importer import read_file
from plugin.denials.lines import spinal_injection_codes

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "denials"
EXAMPLES = REPO / "examples" / "denials"
CODES = spinal_injection_codes(frozenset({"76000", "77002", "77003", "77012", "72275"}))


def test_the_examples_are_a_copy_of_the_fixtures() -> None:
    shipped = {path.name: path.read_bytes() for path in FIXTURES.iterdir() if path.is_file()}
    assert {path.name: path.read_bytes() for path in EXAMPLES.iterdir()} == shipped


def test_the_fixtures_cover_every_family_a_mapping_points_to() -> None:
    classification = load_classification()
    families = set()
    for path in FIXTURES.iterdir():
        if path.is_file():
            lines, _ = read_file(path, CODES)
            families |= {
                verdict.family
                for line in lines
                if (verdict := classification.classify(line.adjustments, line.rarcs)) is not None
            }
    assert families == {mapping.family for mapping in classification.mappings}

"""CARC/RARC → rule family, from classification.yaml: RARC N362 decides whatever the CARC, each mapping has a source."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from plugin.denials.classification import load_classification
from plugin.denials.errors import ClassificationError
from plugin.denials.lines import Adjustment

SHIPPED = Path(__file__).resolve().parents[3] / "plugin" / "denials" / "classification.yaml"


def family(group: str, carc: str, *rarcs: str) -> str | None:
    verdict = load_classification().classify((Adjustment(group, carc, Decimal(100)),), rarcs)
    return verdict.family if verdict else None


@pytest.mark.parametrize(
    ("group", "carc", "rarcs", "expected"),
    [
        ("CO", "50", ("N115",), "diagnosis"),
        ("CO", "151", ("N115",), "frequency"),
        ("CO", "151", ("N362",), "levels-units"),  # CGS
        ("CO", "96", ("N362",), "levels-units"),  # Noridian JF
        ("CO", "236", (), "bundling"),
        ("CO", "97", (), "bundling"),
        ("CO", "119", (), "frequency"),
        ("CO", "4", (), "modifiers"),
        ("CO", "11", (), "diagnosis"),
        ("CO", "167", (), "diagnosis"),
        ("CO", "197", (), "prior-authorization"),
        ("CO", "15", (), "prior-authorization"),
        ("CO", "16", ("N29",), "documentation"),
    ],
)
def test_remittance_codes_point_to_their_rule_family(
    group: str, carc: str, rarcs: tuple[str, ...], expected: str
) -> None:
    assert family(group, carc, *rarcs) == expected


def test_a_contractual_write_off_is_no_denial() -> None:
    assert family("CO", "45") is None


def test_the_patients_share_is_no_denial() -> None:
    assert family("PR", "50") is None


def test_every_mapping_names_a_source_a_reader_can_open() -> None:
    for mapping in load_classification().mappings:
        assert mapping.sources
        assert all(str(source.url).startswith("https://") for source in mapping.sources)


def test_a_mapping_to_an_unknown_family_is_refused(tmp_path: Path) -> None:
    document = yaml.safe_load(SHIPPED.read_text())
    document["mappings"][0]["family"] = "levels"
    path = tmp_path / "classification.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ClassificationError, match="unknown family 'levels'"):
        load_classification(path)


def test_two_mappings_for_the_same_codes_are_refused(tmp_path: Path) -> None:
    document = yaml.safe_load(SHIPPED.read_text())
    document["mappings"].append(dict(document["mappings"][-1]))
    path = tmp_path / "classification.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ClassificationError, match="the same codes"):
        load_classification(path)


def test_an_unknown_rule_id_is_refused(tmp_path: Path) -> None:
    document = yaml.safe_load(SHIPPED.read_text())
    document["families"]["frequency"]["rules"] = ["frequency-limit"]
    path = tmp_path / "classification.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ClassificationError, match=r"families\.frequency\.rules"):
        load_classification(path)

"""The shipped ICD-10-CM table (April 2026 update of FY2026) and its history, against the domain reference §4."""

from __future__ import annotations

import gzip
import importlib.util
import json
import random
import re
import subprocess
import sys
import warnings
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from fhir_mappings.icd10cm import (
    ChangeKind,
    CodeValidity,
    HistoryChange,
    Icd10Cm,
    Icd10Code,
    SpinalRegionHint,
    load,
    normalize,
)


@pytest.fixture(scope="module")
def icd() -> Icd10Cm:
    return load()


@pytest.fixture(scope="module")
def table_document() -> dict[str, Any]:
    raw = resources.files("fhir_mappings.data").joinpath("icd10cm.json.gz").read_bytes()
    document: dict[str, Any] = json.loads(gzip.decompress(raw))
    return document


def _simple_icd_data_dir() -> Path:
    """The data folder of the installed simple_icd_10_cm, found without importing it (the import parses the XML)."""
    spec = importlib.util.find_spec("simple_icd_10_cm")
    if spec is None or spec.origin is None:
        pytest.skip("simple-icd-10-cm is not installed")
    return Path(spec.origin).parent / "data"


# --- normalize ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("m5116", "M51.16"),
        (" M51.16 ", "M51.16"),
        ("g543", "G54.3"),
        ("M54", "M54"),
        ("m54.", "M54"),
        ("S52001B", "S52.001B"),
    ],
)
def test_normalize_upper_cases_strips_and_adds_the_dot(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_lookup_accepts_undotted_lower_case_codes(icd: Icd10Cm) -> None:
    found = icd.lookup("m5116")
    assert found is not None
    assert found.code == "M51.16"


# --- the table: release, titles, billability ---------------------------------------------------------------------


def test_release_label_is_april_2026_of_fy2026(icd: Icd10Cm) -> None:
    assert (icd.release, icd.fiscal_year, icd.effective, icd.valid_through) == (
        "2026-04",
        "FY2026",
        date(2026, 4, 1),
        date(2026, 9, 30),
    )


@pytest.mark.parametrize("code", ["M51.16", "M51.17"])
def test_disc_disorder_with_radiculopathy_codes_are_billable_and_say_radiculopathy(icd: Icd10Cm, code: str) -> None:
    found = icd.lookup(code)
    assert found is not None
    assert found.billable
    assert "radiculopathy" in found.title


def test_m47_816_is_spondylosis_without_myelopathy_or_radiculopathy(icd: Icd10Cm) -> None:
    found = icd.lookup("M47.816")
    assert found is not None
    assert "without myelopathy or radiculopathy" in found.title


def test_lookup_gives_title_billable_flag_and_parent(icd: Icd10Cm) -> None:
    assert icd.lookup("M54.41") == Icd10Code("M54.41", "Lumbago with sciatica, right side", True, "M54.4")


def test_a_category_has_no_parent(icd: Icd10Cm) -> None:
    found = icd.lookup("M54")
    assert found is not None
    assert found.parent is None


def test_m54_4_is_a_header_whose_billable_codes_are_m54_40_to_m54_42(icd: Icd10Cm) -> None:
    assert not icd.is_billable("M54.4")
    assert icd.billable_descendants("M54.4") == ("M54.40", "M54.41", "M54.42")


def test_m54_50_is_billable(icd: Icd10Cm) -> None:
    assert icd.is_billable("M54.50")


def test_m51_36_is_a_header_in_2026_with_codes_m51_360_to_m51_369(icd: Icd10Cm) -> None:
    assert not icd.is_billable("M51.36")
    assert icd.billable_descendants("M51.36") == ("M51.360", "M51.361", "M51.362", "M51.369")


def test_billable_descendants_reach_past_intermediate_headers(icd: Icd10Cm) -> None:
    assert icd.billable_descendants("M47.8")[:2] == ("M47.811", "M47.812")


def test_a_billable_code_has_no_billable_descendants(icd: Icd10Cm) -> None:
    assert icd.billable_descendants("M51.16") == ()


def test_unknown_code_is_not_found(icd: Icd10Cm) -> None:
    assert icd.lookup("M51.99") is None
    assert not icd.is_billable("M51.99")
    assert "M51.99" not in icd


# --- spinal region --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "region"),
    [
        ("M50.12", SpinalRegionHint.CERVICAL_THORACIC),
        ("M51.14", SpinalRegionHint.CERVICAL_THORACIC),
        ("M51.16", SpinalRegionHint.LUMBAR_SACRAL),
        ("M54.16", SpinalRegionHint.LUMBAR_SACRAL),
        ("G54.3", SpinalRegionHint.CERVICAL_THORACIC),
        ("G54.4", SpinalRegionHint.LUMBAR_SACRAL),
        ("M54.50", SpinalRegionHint.LUMBAR_SACRAL),
        ("M54.2", SpinalRegionHint.CERVICAL_THORACIC),
        ("M54.6", SpinalRegionHint.CERVICAL_THORACIC),
        ("M54.41", SpinalRegionHint.LUMBAR_SACRAL),
        ("M47.817", SpinalRegionHint.LUMBAR_SACRAL),
        ("M48.062", SpinalRegionHint.LUMBAR_SACRAL),
        ("M43.03", SpinalRegionHint.CERVICAL_THORACIC),  # cervicothoracic
        ("M48.08", SpinalRegionHint.LUMBAR_SACRAL),  # sacral and sacrococcygeal
        ("M54.01", SpinalRegionHint.CERVICAL_THORACIC),  # occipito-atlanto-axial
    ],
)
def test_spinal_region_comes_from_the_title_words(icd: Icd10Cm, code: str, region: SpinalRegionHint) -> None:
    assert icd.spinal_region(code) is region


def test_g54_3_is_thoracic_not_lumbar(icd: Icd10Cm) -> None:
    assert icd.spinal_region("G54.3") is SpinalRegionHint.CERVICAL_THORACIC


def test_thoracolumbar_titles_hint_both_regions(icd: Icd10Cm) -> None:
    hint = icd.spinal_region("M51.15")
    assert hint is SpinalRegionHint.BOTH
    assert hint.includes("cervical-thoracic")
    assert hint.includes("lumbar-sacral")


def test_a_single_region_hint_includes_only_its_own_region() -> None:
    # the values of fhir_mappings.spine.SpinalRegion, the region of the CPT codes
    assert SpinalRegionHint.LUMBAR_SACRAL.includes("lumbar-sacral")
    assert not SpinalRegionHint.LUMBAR_SACRAL.includes("cervical-thoracic")


def test_a_code_without_a_level_in_its_title_or_ancestors_has_no_region(icd: Icd10Cm) -> None:
    assert icd.spinal_region("M54.10") is None  # radiculopathy, site unspecified


@pytest.mark.parametrize("code", ["N87.0", "I71.01", "L89.150"])  # cervical dysplasia, thoracic aorta, sacral ulcer
def test_region_words_outside_the_spine_give_no_region(icd: Icd10Cm, code: str) -> None:
    assert icd.spinal_region(code) is None


# --- Excludes1 ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("M54.40", "M51.16"),  # M54.4 Excludes1: lumbago with sciatica due to intervertebral disc disorder (M51.1-)
        ("M54.41", "M51.16"),
        ("M54.42", "M51.17"),
        ("M54.41", "M51.14"),
    ],
)
def test_lumbago_with_sciatica_excludes_disc_disorder_with_radiculopathy(icd: Icd10Cm, a: str, b: str) -> None:
    assert icd.excludes1_conflict(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("G54.4", "M51.17"),  # G54 Excludes1: intervertebral disc disorders (M50-M51)
        ("G54.4", "M51.16"),
        ("G54.3", "M51.14"),
        ("G54.2", "M50.12"),
        ("G54.4", "M47.817"),  # G54 Excludes1: spondylosis (M47.-)
        ("G54.4", "M47.26"),
        ("G54.4", "M54.10"),  # G54 Excludes1: radiculopathy NOS (M54.10)
    ],
)
def test_root_disorders_nec_exclude_disc_disorders_spondylosis_and_radiculopathy(icd: Icd10Cm, a: str, b: str) -> None:
    assert icd.excludes1_conflict(a, b)


def test_disc_disorder_with_radiculopathy_and_radiculopathy_exclude_each_other(icd: Icd10Cm) -> None:
    # M51.1 Excludes1 "lumbar radiculitis NOS (M54.16)"; M54.1 Excludes1 "... intervertebral disc disorder (M51.1-)"
    assert icd.excludes1_notes("M51.16", "M54.16") == (
        "M51.1 Excludes1: lumbar radiculitis NOS (M54.16)",
        "M54.1 Excludes1: radiculopathy with lumbar and other intervertebral disc disorder (M51.1-)",
    )


def test_excludes1_conflict_is_symmetric(icd: Icd10Cm) -> None:
    assert icd.excludes1_conflict("M51.16", "M54.41")


def test_excludes1_of_a_block_applies_to_its_codes(icd: Icd10Cm) -> None:
    # G50-G59 Excludes1: radiculitis NOS (M54.1-); G56 itself has no such note
    assert icd.excludes1_notes("G56.00", "M54.12") == ("G50-G59 Excludes1: radiculitis NOS (M54.1-)",)


def test_qualified_excludes1_ranges_are_expanded(icd: Icd10Cm) -> None:
    # S23.0 Excludes1: "... of thoracic intervertebral disc NOS (M51.- with fifth character 4)"
    assert icd.excludes1_conflict("S23.0XXA", "M51.24")
    assert not icd.excludes1_conflict("S23.0XXA", "M51.26")


@pytest.mark.parametrize(("a", "b"), [("M47.816", "M51.16"), ("M48.062", "M54.16"), ("M54.50", "M51.16")])
def test_codes_without_an_excludes1_between_them_do_not_conflict(icd: Icd10Cm, a: str, b: str) -> None:
    assert not icd.excludes1_conflict(a, b)


def test_an_unknown_code_conflicts_with_nothing(icd: Icd10Cm) -> None:
    assert not icd.excludes1_conflict("M51.99", "M54.41")


# --- validity on the date of service -------------------------------------------------------------------------------


def test_m54_5_is_invalid_after_its_expansion_with_its_subcodes_as_replacements(icd: Icd10Cm) -> None:
    validity = icd.validity_on("M54.5", date(2022, 1, 1))
    assert not validity.valid
    assert validity.replacements == ("M54.50", "M54.51", "M54.59")


def test_m54_5_was_billable_before_fy2022(icd: Icd10Cm) -> None:
    assert icd.validity_on("M54.5", date(2021, 6, 1)) == CodeValidity(True, "billable until 2021-09-30")


def test_m54_5_changes_on_october_1_2021(icd: Icd10Cm) -> None:
    assert icd.validity_on("M54.5", date(2021, 9, 30)).valid
    assert not icd.validity_on("M54.5", date(2021, 10, 1)).valid


def test_m54_50_is_not_valid_before_fy2022(icd: Icd10Cm) -> None:
    assert icd.validity_on("M54.50", date(2021, 5, 15)) == CodeValidity(
        False, "not yet valid before 2021-10-01", ("M54.5",)
    )


def test_m51_36_was_billable_on_2024_06_01(icd: Icd10Cm) -> None:
    assert icd.validity_on("M51.36", date(2024, 6, 1)).valid


def test_m51_36_is_invalid_from_fy2025(icd: Icd10Cm) -> None:
    validity = icd.validity_on("M51.36", date(2026, 5, 1))
    assert not validity.valid
    assert validity.replacements == ("M51.360", "M51.361", "M51.362", "M51.369")


def test_m51_360_is_not_valid_before_fy2025(icd: Icd10Cm) -> None:
    assert not icd.validity_on("M51.360", date(2024, 6, 1)).valid
    assert icd.validity_on("M51.360", date(2024, 10, 1)).valid


def test_a_header_without_history_is_invalid_and_names_its_children(icd: Icd10Cm) -> None:
    assert icd.validity_on("M54.4", date(2026, 5, 1)) == CodeValidity(
        False, "not a billable code: subcategory with 3 children", ("M54.40", "M54.41", "M54.42")
    )


def test_an_unknown_code_is_invalid(icd: Icd10Cm) -> None:
    assert icd.validity_on("M51.99", date(2026, 5, 1)) == CodeValidity(False, "unknown code")


def test_validity_accepts_a_datetime(icd: Icd10Cm) -> None:
    assert not icd.validity_on("m545", datetime(2022, 1, 1, 9, 30)).valid


def test_a_deleted_code_is_valid_before_and_invalid_from_its_deletion(table_document: dict[str, Any]) -> None:
    deleted = HistoryChange("M54.99", ChangeKind.DELETED, date(2020, 10, 1), ("M54.9",), (), "test")
    icd = Icd10Cm(table_document, [deleted])
    assert icd.validity_on("M54.99", date(2020, 9, 30)).valid
    assert icd.validity_on("M54.99", date(2020, 10, 1)) == CodeValidity(False, "deleted on 2020-10-01", ("M54.9",))


def test_a_history_entry_that_disagrees_with_the_release_is_refused(table_document: dict[str, Any]) -> None:
    wrong = HistoryChange("M54.50", ChangeKind.EXPANDED, date(2021, 10, 1), (), (), "test")  # M54.50 is billable
    with pytest.raises(ValueError, match=r"M54\.50"):
        Icd10Cm(table_document, [wrong])


# --- loading ------------------------------------------------------------------------------------------------------


def test_load_returns_one_shared_table() -> None:
    assert load() is load()


def test_the_runtime_module_does_not_import_simple_icd_10_cm() -> None:
    script = "import sys, fhir_mappings.icd10cm as m; m.load(); print('simple_icd_10_cm' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# --- in sync with the generator's source ---------------------------------------------------------------------------


def test_table_holds_exactly_the_codes_of_the_installed_simple_icd_10_cm(icd: Icd10Cm) -> None:
    # The package's code list names chapters ("13"), blocks ("M50-M54") and codes without dots ("M5116").
    (code_list,) = _simple_icd_data_dir().glob("code-list-*.txt")
    lines = code_list.read_text("utf-8").split()
    expected = {normalize(c) for c in lines if "-" not in c and not c.isdigit()}
    assert set(icd) == expected


def test_table_release_is_the_installed_simple_icd_10_cm_release(icd: Icd10Cm) -> None:
    names = [p.name for p in _simple_icd_data_dir().glob("icd10c-tabular-*.xml")]
    assert names == ["icd10c-tabular-April-1-2026.xml"]
    assert icd.release == "2026-04"


def _import_simple_icd_10_cm() -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # it reads its data with deprecated importlib APIs
        sicd: ModuleType = pytest.importorskip("simple_icd_10_cm")
    return sicd


def test_three_random_codes_match_simple_icd_10_cm(icd: Icd10Cm) -> None:
    sicd = _import_simple_icd_10_cm()  # ~1.3 s: parses the XML
    rng = random.Random(2026)
    for code in rng.sample(list(icd), 3):
        found = icd.lookup(code)
        assert found is not None
        assert (found.title, found.billable) == (sicd.get_description(code), sicd.is_leaf(code))
        parent = sicd.get_parent(code)  # a category's parent there is its block ("M50-M54", or "M99" for M99)
        is_code = re.fullmatch(r"[A-Z0-9]{3}(\.[A-Z0-9]+)?", parent) is not None and parent != code
        assert found.parent == (parent if is_code else None)

from datetime import date
from pathlib import Path

import pytest

from fhir_mappings.facts import PayerCoverage
from plugin.policies.catalog import PolicyCatalogError, check_directory, load_catalog
from plugin.policies.schema import PayerPolicy

SOPT = "urn:oid:2.16.840.1.113883.3.221.5"
DAY = date(2026, 11, 27)


def coverage(
    *, sopt: str | None = None, payor: str = "Acme", order: int | None = None, status: str = "active"
) -> PayerCoverage:
    return PayerCoverage(
        source="Coverage/c",
        type_codes=((SOPT, sopt),) if sopt else (),
        payor_names=(payor,),
        order=order,
        active_on_period=(None, None),
        status=status,
    )


def test_every_shipped_policy_loads_with_a_source() -> None:
    catalog = load_catalog()
    assert set(catalog.policies) == {"medicare-esi-lcd", "molina-esi", "generic-3-in-6"}
    for policy in catalog.policies.values():
        assert policy.sources
        assert str(policy.link.url).startswith("https://")


def test_medicare_policy_is_four_sessions_per_region_in_twelve_months() -> None:
    medicare = load_catalog().policies["medicare-esi-lcd"]
    assert medicare.frequency.scope == "per-region"
    assert [(limit.months, limit.max_sessions) for limit in medicare.frequency.limits] == [(12, 4)]
    assert set(medicare.frequency.counted_codes) == {
        "62320",
        "62321",
        "62322",
        "62323",
        "64479",
        "64480",
        "64483",
        "64484",
    }
    assert medicare.diagnoses is not None
    assert medicare.diagnoses.needs_verification


def test_generic_policy_is_three_in_six_and_six_in_twelve_across_all_codes() -> None:
    generic = load_catalog().policies["generic-3-in-6"]
    assert generic.frequency.scope == "combined"
    assert [(limit.months, limit.max_sessions, limit.max_injections) for limit in generic.frequency.limits] == [
        (6, 3, 6),
        (12, 6, 12),
    ]
    assert len(generic.frequency.counted_codes) == 12
    assert generic.conservative_default


def test_molina_counts_only_its_six_codes() -> None:
    molina = load_catalog().policies["molina-esi"]
    assert set(molina.frequency.counted_codes) == {"62321", "62323", "64479", "64480", "64483", "64484"}


@pytest.mark.parametrize(
    ("coverages", "expected"),
    [
        ([coverage(sopt="1")], "medicare-esi-lcd"),
        ([coverage(sopt="121")], "medicare-esi-lcd"),
        ([coverage(payor="Medicare Part B")], "medicare-esi-lcd"),
        ([coverage(payor="Molina Healthcare of Ohio")], "molina-esi"),
        ([coverage(payor="Molina Medicare Complete Care")], "medicare-esi-lcd"),
        ([coverage(sopt="2", payor="Medicaid")], "generic-3-in-6"),
        ([coverage(payor="Aetna")], "generic-3-in-6"),
        ([], "generic-3-in-6"),
        ([coverage(payor="Medicare", status="cancelled")], "generic-3-in-6"),
        ([coverage(payor="Aetna", order=2), coverage(payor="Medicare", order=1)], "medicare-esi-lcd"),
    ],
)
def test_default_coverage_mapping_of_the_contract(coverages: list[PayerCoverage], expected: str) -> None:
    assert load_catalog().select(coverages, DAY).policy.id == expected


def test_coverage_outside_its_period_is_not_in_force() -> None:
    expired = PayerCoverage("Coverage/c", (), ("Medicare",), None, (date(2020, 1, 1), date(2021, 1, 1)), "active")
    assert load_catalog().select([expired], DAY).policy.id == "generic-3-in-6"


def test_policy_dir_overrides_a_shipped_policy_by_id(tmp_path: Path) -> None:
    shipped = (Path(__file__).parents[3] / "plugin" / "policies" / "molina-esi.yaml").read_text()
    (tmp_path / "molina.yaml").write_text(
        shipped.replace("max_sessions: 4", "max_sessions: 2").replace('version: "MCP-032"', 'version: "local-1"')
    )
    molina = load_catalog(tmp_path).policies["molina-esi"]
    assert molina.version == "local-1"
    assert molina.frequency.limits[0].max_sessions == 2


def test_policy_dir_can_remap_coverage(tmp_path: Path) -> None:
    (tmp_path / "mapping.yaml").write_text(
        "kind: coverage-mapping\ndefault_policy: generic-3-in-6\nrules:\n"
        "  - policy: molina-esi\n    when: {payer_name_matches: '(?i)acme'}\n"
    )
    assert load_catalog(tmp_path).select([coverage(payor="ACME Health")], DAY).policy.id == "molina-esi"


def test_broken_files_report_every_problem_with_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "kind: payer-policy\nid: Bad Id\nversion: '1'\ntitle: t\npayer: p\neffective: {start: 2026-13-01}\n"
        "sources: []\nfrequency: {scope: sideways, counted_codes: [], limits: [{months: 0}], citation: c}\n"
        "surprise: 1\n"
    )
    (tmp_path / "broken.yaml").write_text("kind: [unclosed\n")
    problems = check_directory(tmp_path)
    fields = {(Path(problem.file).name, problem.field) for problem in problems}
    assert ("bad.yaml", "id") in fields
    assert ("bad.yaml", "effective.start") in fields
    assert ("bad.yaml", "sources") in fields
    assert ("bad.yaml", "frequency.scope") in fields
    assert ("bad.yaml", "frequency.limits.0.months") in fields
    assert ("bad.yaml", "surprise") in fields
    assert ("broken.yaml", "(file)") in fields


def test_mapping_to_an_unknown_policy_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "mapping.yaml").write_text(
        "kind: coverage-mapping\ndefault_policy: nope\nrules: [{policy: also-nope, when: {payer_name_matches: x}}]\n"
    )
    with pytest.raises(PolicyCatalogError) as raised:
        load_catalog(tmp_path)
    assert {problem.field for problem in raised.value.problems} == {"default_policy", "rules.0.policy"}


def test_window_without_a_cap_is_rejected() -> None:
    with pytest.raises(ValueError, match="max_sessions"):
        PayerPolicy.model_validate(
            {
                "kind": "payer-policy",
                "id": "x",
                "version": "1",
                "title": "t",
                "payer": "p",
                "effective": {"start": "2026-01-01"},
                "sources": [{"title": "src", "url": "https://example.org"}],
                "frequency": {
                    "scope": "combined",
                    "counted_codes": ["62323"],
                    "limits": [{"months": 6}],
                    "citation": "c",
                },
            }
        )

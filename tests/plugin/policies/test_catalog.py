from datetime import date
from pathlib import Path

import pytest

from fhir_mappings.facts import PayerCoverage, PlaceFoundOn, ServicePlace
from plugin.policies.catalog import PolicyCatalogError, check_directory, load_catalog
from plugin.policies.quotes import quoted_numbers
from plugin.policies.schema import PayerPolicy
from plugin.policies.service_state import ServiceState, StateOrigin

SOPT = "urn:oid:2.16.840.1.113883.3.221.5"
DAY = date(2026, 11, 27)


def coverage(
    *,
    sopt: str | None = None,
    payor: str = "Acme",
    order: int | None = None,
    status: str = "active",
    identifiers: tuple[str, ...] = (),
    states: tuple[str, ...] = (),
) -> PayerCoverage:
    return PayerCoverage(
        source="Coverage/c",
        type_codes=((SOPT, sopt),) if sopt else (),
        payor_names=(payor,),
        order=order,
        active_on_period=(None, None),
        status=status,
        payer_identifiers=identifiers,
        payer_states=states,
    )


SHIPPED = {
    "medicare-esi-lcd",
    "medicare-lcd-noridian-jf",
    "medicare-lcd-novitas",
    "medicare-lcd-first-coast",
    "medicare-lcd-cgs",
    "medicare-advantage",
    "evicore-cmm-200",
    "carelon-msk01",
    "blue-template",
    "bcbs-tennessee",
    "molina-mcp-032",
}


def test_every_shipped_policy_loads_with_a_source() -> None:
    catalog = load_catalog()
    assert set(catalog.policies) == SHIPPED
    for policy in catalog.policies.values():
        assert policy.sources
        assert str(policy.link.url).startswith("https://")


def test_every_shipped_number_has_a_quote_and_a_source() -> None:
    assert check_directory(None) == []
    for versions in load_catalog().versions.values():
        for policy in versions:
            assert all(number.source is not None for number in quoted_numbers(policy)), policy.id


def test_medicare_policy_is_four_sessions_per_region_in_twelve_months_verified() -> None:
    medicare = load_catalog().policies["medicare-esi-lcd"]
    assert medicare.frequency.scope == "per-region"
    assert [(limit.months, limit.max_sessions) for limit in medicare.frequency.limits] == [(12, 4)]
    assert all(limit.source is not None and limit.source.verified for limit in medicare.frequency.limits)
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


def test_wiser_is_six_states_2026_to_2031_on_its_codes() -> None:
    [wiser] = load_catalog().policies["medicare-lcd-novitas"].prior_authorizations
    assert wiser.states == ["AZ", "NJ", "OH", "OK", "TX", "WA"]
    assert wiser.effective is not None
    assert (wiser.effective.start, wiser.effective.end) == (date(2026, 1, 1), date(2031, 12, 31))
    assert wiser.codes == ["62321", "64479", "64480", "64483", "64484"]
    assert list(wiser.conditional_codes) == ["62323"]


def test_molina_counts_only_its_six_codes_and_has_two_phases() -> None:
    molina = load_catalog().policies["molina-mcp-032"]
    assert set(molina.frequency.counted_codes) == {"62321", "62323", "64479", "64480", "64483", "64484"}
    assert molina.repeat is not None
    assert (molina.repeat.initial_sessions, molina.repeat.relief_percent, molina.repeat.weeks) == (2, 50, 6)
    assert [(interval.phase, interval.days) for interval in molina.intervals] == [("initial", 14), ("repeat", 60)]


def test_the_blue_template_holds_two_versions_judged_by_date() -> None:
    catalog = load_catalog()
    assert [policy.version for policy in catalog.versions["blue-template"]] == ["2023-12", "2024-11"]
    assert catalog.version_on("blue-template", date(2024, 10, 31)).version == "2023-12"  # type: ignore[union-attr]
    assert catalog.version_on("blue-template", date(2024, 11, 1)).version == "2024-11"  # type: ignore[union-attr]
    assert catalog.version_on("blue-template", date(2023, 11, 30)) is None


@pytest.mark.parametrize(
    ("coverages", "expected"),
    [
        ([coverage(sopt="1")], "medicare-esi-lcd"),
        ([coverage(sopt="121")], "medicare-esi-lcd"),
        ([coverage(sopt="111")], "medicare-advantage"),
        ([coverage(payor="Humana Medicare Advantage PPO")], "medicare-advantage"),
        # Plan names as EHRs send them without a type: the product type after other words or in parentheses.
        ([coverage(payor="Aetna Medicare Premier (PPO)")], "medicare-advantage"),
        ([coverage(payor="Wellcare Medicare (HMO)")], "medicare-advantage"),
        ([coverage(payor="Molina Medicare Complete Care (HMO D-SNP)")], "medicare-advantage"),
        ([coverage(payor="Humana Gold Plus H1036-236 (HMO)")], "medicare-advantage"),
        ([coverage(payor="Kaiser Permanente Senior Advantage")], "medicare-advantage"),
        # Medigap plans supplement traditional Medicare, which decides coverage.
        ([coverage(payor="AARP Medicare Supplement Plan G")], "medicare-esi-lcd"),
        ([coverage(payor="Medicare Select Plan N")], "medicare-esi-lcd"),
        ([coverage(payor="Medicare Part B")], "medicare-esi-lcd"),
        ([coverage(payor="Molina Healthcare of Ohio")], "molina-mcp-032"),
        ([coverage(payor="Molina Medicare Complete Care")], "medicare-esi-lcd"),
        ([coverage(payor="Cigna Healthcare")], "evicore-cmm-200"),
        ([coverage(payor="Anthem Blue Cross")], "carelon-msk01"),
        ([coverage(payor="Florida Blue")], "blue-template"),
        ([coverage(payor="BlueCross BlueShield of Tennessee")], "bcbs-tennessee"),
        ([coverage(sopt="2", payor="Medicaid")], "evicore-cmm-200"),
        ([coverage(payor="Aetna")], "evicore-cmm-200"),
        ([], "evicore-cmm-200"),
        ([coverage(payor="Medicare", status="cancelled")], "evicore-cmm-200"),
        ([coverage(payor="Aetna", order=2), coverage(payor="Medicare", order=1)], "medicare-esi-lcd"),
    ],
)
def test_default_coverage_mapping_of_the_contract(coverages: list[PayerCoverage], expected: str) -> None:
    assert load_catalog().select(coverages, DAY).policy.id == expected


def test_an_unmapped_plan_gets_the_typical_commercial_rule_marked_as_default() -> None:
    selection = load_catalog().select([coverage(payor="Aetna")], DAY)
    assert selection.by_default
    assert "no policy is configured" in selection.why
    assert not load_catalog().select([coverage(payor="Cigna")], DAY).by_default


def test_the_service_state_picks_the_mac_of_traditional_medicare(tmp_path: Path) -> None:
    mapping = (Path(__file__).parents[3] / "plugin" / "policies" / "coverage-mapping.yaml").read_text()
    (tmp_path / "mapping.yaml").write_text(mapping.replace("default_policy:", "service_state: TX\ndefault_policy:"))
    selection = load_catalog(tmp_path).select([coverage(sopt="1")], DAY)
    assert selection.policy.id == "medicare-lcd-novitas"
    assert selection.service_state == ServiceState("TX", StateOrigin.CONFIGURED)
    assert "state TX: service furnished in Texas (as configured for this service)" in selection.why


def test_a_payer_identifier_selects_a_policy_and_states_narrow_it(tmp_path: Path) -> None:
    (tmp_path / "mapping.yaml").write_text(
        "kind: coverage-mapping\ndefault_policy: evicore-cmm-200\nrules:\n"
        "  - policy: molina-mcp-032\n    when: {payer_identifiers: ['MOLINA-OH'], states: [OH]}\n"
        "  - policy: bcbs-tennessee\n    when: {payer_identifiers: ['00390']}\n"
    )
    catalog = load_catalog(tmp_path)
    assert catalog.select([coverage(identifiers=("00390",))], DAY).policy.id == "bcbs-tennessee"
    ohio = coverage(identifiers=("MOLINA-OH",), states=("OH",))
    assert catalog.select([ohio], DAY).policy.id == "molina-mcp-032"
    texas = coverage(identifiers=("MOLINA-OH",), states=("TX",))
    assert catalog.select([texas], DAY).policy.id == "evicore-cmm-200"


def test_coverage_outside_its_period_is_not_in_force() -> None:
    expired = PayerCoverage("Coverage/c", (), ("Medicare",), None, (date(2020, 1, 1), date(2021, 1, 1)), "active")
    assert load_catalog().select([expired], DAY).policy.id == "evicore-cmm-200"


def test_policy_dir_overrides_a_shipped_policy_by_id(tmp_path: Path) -> None:
    shipped = (Path(__file__).parents[3] / "plugin" / "policies" / "molina-mcp-032.yaml").read_text()
    (tmp_path / "molina.yaml").write_text(
        shipped.replace("max_sessions: 4", "max_sessions: 2").replace('version: "2024-08-14"', 'version: "local-1"')
    )
    molina = load_catalog(tmp_path).policies["molina-mcp-032"]
    assert molina.version == "local-1"
    assert molina.frequency.limits[0].max_sessions == 2


def test_policy_dir_can_remap_coverage(tmp_path: Path) -> None:
    (tmp_path / "mapping.yaml").write_text(
        "kind: coverage-mapping\ndefault_policy: evicore-cmm-200\nrules:\n"
        "  - policy: molina-mcp-032\n    when: {payer_name_matches: '(?i)acme'}\n"
    )
    assert load_catalog(tmp_path).select([coverage(payor="ACME Health")], DAY).policy.id == "molina-mcp-032"


def test_overlapping_versions_are_reported(tmp_path: Path) -> None:
    shipped = (Path(__file__).parents[3] / "plugin" / "policies" / "blue-template.yaml").read_text()
    (tmp_path / "blue.yaml").write_text(shipped.replace("  end: 2024-10-31\n", ""))
    problems = check_directory(tmp_path)
    assert [(problem.field, "must end before" in problem.message) for problem in problems] == [("effective", True)]


def test_a_number_without_a_quote_is_reported_by_check(tmp_path: Path) -> None:
    shipped = (Path(__file__).parents[3] / "plugin" / "policies" / "bcbs-tennessee.yaml").read_text()
    start = shipped.index("      source:")
    end = shipped.index("  exemptions:")
    (tmp_path / "bcbst.yaml").write_text(shipped[:start] + shipped[end:])
    problems = check_directory(tmp_path)
    assert [(problem.field, problem.message) for problem in problems] == [
        ("frequency.limits.0", "no quote and source for 3 sessions per 6 months")
    ]


def test_a_plain_http_quote_url_is_reported(tmp_path: Path) -> None:
    shipped = (Path(__file__).parents[3] / "plugin" / "policies" / "bcbs-tennessee.yaml").read_text()
    (tmp_path / "bcbst.yaml").write_text(shipped.replace("url: https://bcbst.com", "url: http://bcbst.com", 1))
    assert [problem.message for problem in check_directory(tmp_path)] == ["not an https URL"]


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


def _at(state: str) -> ServicePlace:
    return ServicePlace(PlaceFoundOn.ENCOUNTER, state, frozenset())


def test_the_encounters_location_picks_the_mac_and_says_so() -> None:
    selection = load_catalog().select([coverage(sopt="1")], DAY, _at("FL"))
    assert selection.policy.id == "medicare-lcd-first-coast"
    assert selection.chosen_in == ServiceState("FL", StateOrigin.ENCOUNTER)
    assert "state FL: service furnished in Florida (from the encounter's location)" in selection.why


def test_the_configured_state_wins_over_a_location(tmp_path: Path) -> None:
    mapping = (Path(__file__).parents[3] / "plugin" / "policies" / "coverage-mapping.yaml").read_text()
    (tmp_path / "mapping.yaml").write_text(mapping.replace("default_policy:", "service_state: KY\ndefault_policy:"))
    selection = load_catalog(tmp_path).select([coverage(sopt="1")], DAY, _at("FL"))
    assert selection.policy.id == "medicare-lcd-cgs"
    assert selection.service_state == ServiceState("KY", StateOrigin.CONFIGURED)


def test_without_a_site_state_the_payers_address_is_said_to_be_only_that() -> None:
    selection = load_catalog().select([coverage(sopt="1", states=("OH",))], DAY)
    assert selection.policy.id == "medicare-lcd-cgs"
    assert selection.service_state is None
    assert selection.chosen_in == ServiceState("OH", StateOrigin.PAYER)
    assert "Ohio, from the payer's address (no location of the service is on record)" in selection.why

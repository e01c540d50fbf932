import uuid

from plugin.cards import card_uuid, render, rule_of_card
from plugin.rules.findings import Citing, Finding, Recode, RemoveOrder, RuleId, Severity
from tests.fhir_fixtures import service_request

CITING = Citing("medicare-esi-lcd", "2021.12", "Medicare ESI LCDs", "https://www.cms.gov/x")
DRAFT = service_request("o1", "62322", "Lumbar ESI L4-L5 under fluoroscopy")
GUIDANCE = service_request("o2", "77003", "Fluoroscopic guidance")
DRAFTS = {"ServiceRequest/o1": DRAFT, "ServiceRequest/o2": GUIDANCE}


def finding(severity: Severity = Severity.WARNING, **changes: object) -> Finding:
    fields: dict[str, object] = {
        "rule": RuleId.CODE_IMAGING_MISMATCH,
        "severity": severity,
        "summary": "Fluoroscopy ordered with a without-imaging code: use 62323",
        "detail": "detail",
        "subject": "ServiceRequest/o1",
        "citing": CITING,
    }
    fields.update(changes)
    return Finding(**fields)  # type: ignore[arg-type]


def test_card_uuid_is_a_uuid_that_names_its_rule() -> None:
    for rule in RuleId:
        value = card_uuid(rule)
        assert uuid.UUID(value).version == 8
        assert rule_of_card(value) is rule


def test_foreign_uuids_name_no_rule() -> None:
    assert rule_of_card(str(uuid.uuid4())) is None
    assert rule_of_card("not-a-uuid") is None


def test_cards_come_most_severe_first() -> None:
    findings = [
        finding(Severity.INFO, subject="ServiceRequest/a", summary="a"),
        finding(Severity.CRITICAL, subject="ServiceRequest/b", summary="b"),
        finding(Severity.WARNING, subject="ServiceRequest/c", summary="c"),
    ]
    cards = render(findings, DRAFTS)
    assert [card.indicator for card in cards] == ["critical", "warning", "info"]


def test_fixes_become_suggestions_with_the_first_one_recommended() -> None:
    fixes = (
        Recode("ServiceRequest/o1", "62323", "with imaging"),
        RemoveOrder("ServiceRequest/o2", "Remove the 77003 order"),
    )
    [card] = render([finding(fixes=fixes)], DRAFTS)
    assert card.selection_behavior == "at-most-one"
    update, delete = card.suggestions
    assert update.is_recommended is True
    assert delete.is_recommended is False
    assert update.actions[0].type == "update"
    assert update.actions[0].resource is not None
    assert update.actions[0].resource["code"]["coding"][0]["code"] == "62323"
    assert delete.actions[0].type == "delete"
    assert delete.actions[0].resource_id == "ServiceRequest/o2"


def test_fix_for_an_order_not_in_the_request_is_dropped() -> None:
    [card] = render([finding(fixes=(Recode("ServiceRequest/elsewhere", "62323", "x"),))], DRAFTS)
    assert card.suggestions == []
    assert "selectionBehavior" not in card.to_wire()


def test_policy_card_links_to_its_source() -> None:
    [card] = render([finding()], DRAFTS)
    assert [(link.url, link.type) for link in card.links] == [("https://www.cms.gov/x", "absolute")]

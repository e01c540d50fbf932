import uuid
from datetime import date

from plugin.hooks.cards import SUMMARY_LIMIT, card_summary, card_uuid, render, rule_of_card
from plugin.rules.findings import Citing, Finding, Recode, RemoveOrder, RuleId, SetReason, Severity
from plugin.sandbox.resources import service_request

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


# --- one problem, one card ------------------------------------------------------------------------------------------


def test_findings_about_one_problem_of_one_order_make_one_card() -> None:
    approach = finding(rule=RuleId.CODE_APPROACH_MISMATCH, summary="Approach", detail="Approach words.\n\nCPT.")
    imaging = finding(rule=RuleId.CODE_IMAGING_MISMATCH, summary="Imaging", detail="Imaging words.\n\nCPT.")
    [card] = render([imaging, approach], DRAFTS)
    assert card.source.topic is not None
    assert card.source.topic.code == "code-approach-mismatch"
    assert card.summary == "Approach"
    assert card.detail == "Approach words.\n\nCPT.\n\nImaging words.\n\nRecord: ServiceRequest/o1"


def test_the_same_problem_of_two_orders_makes_two_cards() -> None:
    cards = render([finding(), finding(subject="ServiceRequest/o2", summary="other order")], DRAFTS)
    assert len(cards) == 2


def test_different_problems_of_one_order_make_two_cards() -> None:
    diagnosis = finding(rule=RuleId.DIAGNOSIS_MISSING, summary="No diagnosis")
    assert len(render([finding(), diagnosis], DRAFTS)) == 2


def test_a_problem_of_a_session_makes_one_card_whatever_order_line_found_it() -> None:
    day = date(2026, 12, 3)
    first = finding(rule=RuleId.LEVELS_EXCEEDED, summary="2 regions", session=day)
    second = finding(rule=RuleId.LEVELS_EXCEEDED, summary="2 levels", subject="ServiceRequest/o2", session=day)
    [card] = render([first, second], DRAFTS)
    assert card.summary == "2 regions"
    assert card.detail is not None
    assert card.detail.endswith("Record: ServiceRequest/o1, ServiceRequest/o2")


def test_findings_that_say_the_same_thing_make_one_card() -> None:
    cards = render([finding(subject=None), finding(subject=None)], DRAFTS)
    assert len(cards) == 1


def test_the_most_severe_finding_leads_a_merged_card() -> None:
    warning = finding(rule=RuleId.CODE_APPROACH_MISMATCH, summary="warning")
    critical = finding(rule=RuleId.IMAGING_REQUIRED, severity=Severity.CRITICAL, summary="critical")
    [card] = render([warning, critical], DRAFTS)
    assert (card.indicator, card.summary) == ("critical", "critical")


def test_a_finding_with_a_fix_leads_one_that_only_asks_to_check() -> None:
    check = finding(rule=RuleId.CODE_APPROACH_MISMATCH, summary="check the approach")
    fix = finding(
        rule=RuleId.CODE_CATHETER_MISMATCH, summary="use 62327", fixes=(Recode("ServiceRequest/o1", "62327", "c"),)
    )
    [card] = render([check, fix], DRAFTS)
    assert card.summary == "use 62327"


def test_a_merged_card_offers_one_recode_per_order() -> None:
    first = finding(rule=RuleId.CODE_APPROACH_MISMATCH, fixes=(Recode("ServiceRequest/o1", "64483", "tf"),))
    second = finding(rule=RuleId.CODE_REGION_MISMATCH, summary="r", fixes=(Recode("ServiceRequest/o1", "62321", "c"),))
    [card] = render([second, first], DRAFTS)
    assert [suggestion.label for suggestion in card.suggestions] == ["Change the order to 64483"]


def test_a_merged_card_keeps_each_diagnosis_offered_once() -> None:
    first = finding(
        rule=RuleId.DIAGNOSIS_NONSPECIFIC, fixes=(SetReason("ServiceRequest/o1", "M51.16", "disc", None, "M54.50"),)
    )
    second = finding(
        rule=RuleId.DIAGNOSIS_NOT_COVERED,
        summary="not covered",
        fixes=(SetReason("ServiceRequest/o1", "M51.16", "disc"), SetReason("ServiceRequest/o1", "M48.062", "stenosis")),
    )
    [card] = render([second, first], DRAFTS)
    assert [suggestion.label for suggestion in card.suggestions] == ["Use M51.16 disc", "Use M48.062 stenosis"]
    action = card.suggestions[0].actions[0]
    assert action.resource is not None
    assert [r["coding"][0]["code"] for r in action.resource["reasonCode"]] == ["M51.16"]


def test_a_merged_card_offers_every_override_reason_once() -> None:
    nonspecific = finding(rule=RuleId.DIAGNOSIS_NONSPECIFIC)
    uncovered = finding(rule=RuleId.DIAGNOSIS_NOT_COVERED, summary="not covered")
    [card] = render([nonspecific, uncovered], DRAFTS)
    codes = [reason.code for reason in card.override_reasons]
    assert codes == ["diagnosis-verified", "documentation-to-follow", "medical-necessity"]


def test_paragraphs_said_by_two_findings_are_said_once() -> None:
    first = finding(rule=RuleId.CODE_APPROACH_MISMATCH, detail="One.\n\nThe shared source.")
    second = finding(rule=RuleId.CODE_REGION_MISMATCH, summary="r", detail="Two.\n\nThe shared source.")
    [card] = render([first, second], DRAFTS)
    assert card.detail == "One.\n\nThe shared source.\n\nTwo.\n\nRecord: ServiceRequest/o1"


# --- text -----------------------------------------------------------------------------------------------------------


def test_a_long_summary_is_cut_at_a_word_within_the_limit() -> None:
    [card] = render([finding(summary="word " * 40)], DRAFTS)
    assert len(card.summary) <= SUMMARY_LIMIT
    assert card.summary.endswith("word…")


def test_a_summary_within_the_limit_is_kept_whole() -> None:
    assert card_summary("x" * SUMMARY_LIMIT) == "x" * SUMMARY_LIMIT


def test_the_technical_line_names_the_subject_then_the_references() -> None:
    [card] = render([finding(references=("Condition/c1", "ImagingStudy/i1"))], DRAFTS)
    assert card.detail == "detail\n\nRecord: ServiceRequest/o1, Condition/c1, ImagingStudy/i1"


def test_a_card_about_nothing_on_record_has_no_technical_line() -> None:
    [card] = render([finding(subject=None)], DRAFTS)
    assert card.detail == "detail"


def test_the_link_is_labelled_with_the_policy_title_only() -> None:
    [card] = render([finding()], DRAFTS)
    assert [link.label for link in card.links] == ["Medicare ESI LCDs"]


def test_the_technical_line_stays_short() -> None:
    references = tuple(f"Procedure/p{number}" for number in range(8))
    [card] = render([finding(references=references)], DRAFTS)
    assert card.detail is not None
    assert card.detail.endswith(
        "Record: ServiceRequest/o1, Procedure/p0, Procedure/p1, Procedure/p2, Procedure/p3 and 4 more"
    )


def test_cards_that_disagree_on_an_orders_code_offer_no_recode_for_it() -> None:
    """Rules make code fixes agree; should two cards still disagree, neither one-click fix is safe."""
    code = finding(rule=RuleId.CODE_APPROACH_MISMATCH, fixes=(Recode("ServiceRequest/o1", "64483", "tf"),))
    levels = finding(rule=RuleId.LEVELS_EXCEEDED, summary="levels", fixes=(Recode("ServiceRequest/o1", "62323", "il"),))
    diagnosis = finding(
        rule=RuleId.DIAGNOSIS_MISSING, summary="dx", fixes=(SetReason("ServiceRequest/o1", "M51.16", "disc"),)
    )
    cards = {card.summary: card for card in render([code, levels, diagnosis], DRAFTS)}

    assert cards[code.summary].suggestions == []
    assert cards["levels"].suggestions == []
    [only] = cards["dx"].suggestions
    assert only.actions[0].resource is not None
    assert only.actions[0].resource["code"]["coding"][0]["code"] == "62322"


def test_an_order_to_be_removed_is_offered_no_diagnosis() -> None:
    removal = finding(
        rule=RuleId.IMAGING_GUIDANCE_BUNDLED,
        summary="remove",
        subject="ServiceRequest/o2",
        fixes=(RemoveOrder("ServiceRequest/o2", "Remove it"),),
    )
    diagnosis = finding(
        rule=RuleId.DIAGNOSIS_MISSING,
        summary="dx",
        subject="ServiceRequest/o2",
        fixes=(SetReason("ServiceRequest/o2", "M51.16", "disc"),),
    )
    cards = {card.summary: card for card in render([removal, diagnosis], DRAFTS)}

    assert [suggestion.label for suggestion in cards["remove"].suggestions] == ["Remove it"]
    assert cards["dx"].suggestions == []

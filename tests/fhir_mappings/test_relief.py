"""Relief stated in a note or an order: the amount, whether it is told as had, and how long it lasted."""

from __future__ import annotations

import pytest

from fhir_mappings.relief import StatedRelief, read_stated_relief


def read(text: str) -> list[tuple[float, float | None]]:
    return [(round(r.percent), None if r.weeks is None else round(r.weeks, 1)) for r in read_stated_relief(text)]


def test_a_pertinent_negative_earlier_in_the_sentence_does_not_deny_the_relief() -> None:
    note = (
        "Interval history: she denies new weakness or bowel/bladder symptoms and reports 70% relief lasting 8 weeks "
        "after the last injection on 9/10, with right L4 radicular pain gradually returning over the past 2 weeks."
    )
    # The response's own duration (8 weeks), not the later "over the past 2 weeks".
    assert read(note) == [(70, 8.0)]
    assert read("No new weakness, 60% relief for 6 weeks after the L5-S1 TFESI.") == [(60, 6.0)]


@pytest.mark.parametrize(
    "note",
    [
        "No 50% relief for 6 weeks; pain back after days.",
        "Denies 70% relief for 8 weeks.",
        "Did not get 50% relief for 6 weeks after the last injection.",
        "Will repeat only if she has 50% relief for 6 weeks.",
        "Repeat TFESI if she reports 50% relief for 6 weeks.",
        "No relief from the last injection.",
        "Did not get relief.",
        "Denies relief.",
        "Less than 30% relief for about 1 week after the 9/10 injection.",
    ],
)
def test_relief_denied_hedged_bounded_or_without_an_amount_states_none(note: str) -> None:
    assert read_stated_relief(note) == ()


def test_scores_before_and_after_in_words_give_the_relief() -> None:
    note = "After the 7/15 injection her leg pain decreased from 8/10 to 2/10 and stayed there for 4 months."
    [relief] = read_stated_relief(note)
    assert relief == StatedRelief(percent=75.0, weeks=4 * 52 / 12)
    assert read("Pain 8/10 -> 3/10 at the 6 week visit.") == [(62, 6.0)]
    assert read("Leg pain went from 8 to 2/10 for 2 months.") == [(75, 8.7)]


def test_dates_are_not_scores() -> None:
    assert read_stated_relief("PT from 9/10 to 10/15 with 3 visits a week.") == ()


def test_relief_worded_before_its_number_is_read() -> None:
    assert read("Pain reduced by 75% for 3 months.") == [(75, 13.0)]
    assert read("Improved 80% for six weeks after the last ESI.") == [(80, 6.0)]
    assert read("Reports improvement in her leg pain of 60% x 8 wks.") == [(60, 8.0)]
    assert read("70% relief x8 weeks.") == [(70, 8.0)]


def test_the_duration_is_the_responses_not_the_first_in_the_sentence() -> None:
    assert read("At her 2 week follow-up she reported 80% relief, which has lasted 10 weeks.") == [(80, 10.0)]
    assert read("8 weeks of 70% relief after the last TFESI.") == [(70, 8.0)]


def test_a_month_is_a_twelfth_of_a_year_so_three_months_is_thirteen_weeks() -> None:
    assert read("70% relief for 3 months.") == [(70, 13.0)]


def test_a_length_given_as_an_upper_bound_or_immediate_relief_states_no_lasting_length() -> None:
    assert read("70% relief for less than 2 weeks.") == [(70, None)]
    assert read("Post procedure: patient reports 80% relief of leg pain. Vitals stable.") == [(80, None)]
    # Minutes are a length: the later "2 weeks" is when the pain came back, not how long the relief lasted.
    assert read("80% relief at 15 minutes, pain back in 2 weeks.") == [(80, 0.0)]
    assert read("80% relief post-procedure, follow up in 2 weeks.") == [(80, None)]
    assert read("70% relief, pain back within 3 weeks.") == [(70, None)]


def test_a_reason_given_ends_the_hedge_of_the_plan() -> None:
    assert read("Consider repeat TFESI given 70% relief x 8 weeks.") == [(70, 8.0)]
    assert read("Plan repeat L5-S1 TFESI as she reports 60% relief for 10 weeks.") == [(60, 10.0)]


def test_a_range_counts_at_its_lower_bound() -> None:
    assert read("50-60% relief for 6-8 weeks.") == [(50, 6.0)]

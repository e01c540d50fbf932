"""The timeline counts sessions as the frequency rules do: per region, windows ending today, the next eligible date."""

from __future__ import annotations

from datetime import date

from plugin.hooks.services import read_record
from plugin.policies.catalog import load_catalog
from plugin.sandbox.resources import appointment, coverage, procedure
from plugin.worklist.review import patient_data
from plugin.workspace.timeline import Timeline, chart_option, timeline

TODAY = date(2026, 12, 1)


def _view() -> Timeline:
    resources = [
        *(
            procedure(f"l{n}", "62323", f"{day}T10:00:00Z")
            for n, day in enumerate(("2026-03-02", "2026-08-03", "2026-10-26"))
        ),
        procedure("c1", "62321", "2026-06-15T10:00:00Z"),
        coverage("cov", sopt="121", payor="Medicare Part B"),
        appointment("appt", "62323", "2026-12-08T09:00:00Z"),
    ]
    return timeline(read_record(patient_data(resources)), load_catalog(None), TODAY)


def test_each_region_has_its_sessions_windows_and_next_eligible_date() -> None:
    view = _view()

    lanes = {lane.label: lane for lane in view.lanes}
    assert set(lanes) == {"Lumbar/sacral", "Cervical/thoracic"}
    lumbar = lanes["Lumbar/sacral"]
    assert [(s.day, s.booked) for s in lumbar.sessions] == [
        (date(2026, 3, 2), False), (date(2026, 8, 3), False), (date(2026, 10, 26), False), (date(2026, 12, 8), True)
    ]  # fmt: skip
    (window,) = lumbar.windows
    assert (window.months, window.sessions, window.max_sessions, window.end) == (12, 3, 4, TODAY)
    assert lumbar.next_eligible is not None
    assert lumbar.next_eligible > TODAY  # the booking on 2026-12-08 uses the fourth session of the year
    assert lanes["Cervical/thoracic"].next_eligible == TODAY


def test_the_chart_plots_performed_and_booked_sessions_and_a_pin_per_next_eligible_date() -> None:
    option = chart_option(_view())

    series = {entry["name"]: entry for entry in option["series"]}
    assert len(series["Performed"]["data"]) == 4
    assert [point["value"] for point in series["Booked"]["data"]] == [["2026-12-08", "Lumbar/sacral"]]
    assert len(series["Next eligible"]["data"]) == 2
    assert option["yAxis"]["data"] == ["Cervical/thoracic", "Lumbar/sacral"]

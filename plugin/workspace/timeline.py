"""A patient's injection timeline: sessions per region on a time axis, the policy's windows ending today, booked
sessions and the next eligible date, counted by the same session history the frequency rules use."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import msgspec

from fhir_mappings.facts import ClinicalRecord
from plugin.hooks.services import applied
from plugin.policies.catalog import PolicyCatalog
from plugin.rules.calendar import add_months
from plugin.rules.hook_facts import HookFacts
from plugin.rules.session_types import Pool
from plugin.rules.sessions import SessionHistory


class Session(msgspec.Struct, frozen=True):
    day: date
    injections: int
    booked: bool


class Window(msgspec.Struct, frozen=True):
    months: int
    start: date
    end: date
    sessions: int
    max_sessions: int | None
    injections: int
    max_injections: int | None

    @property
    def full(self) -> bool:
        return (self.max_sessions is not None and self.sessions >= self.max_sessions) or (
            self.max_injections is not None and self.injections >= self.max_injections
        )


class Lane(msgspec.Struct, frozen=True):
    """One pool of sessions the policy counts together: a region, or all regions."""

    label: str
    sessions: tuple[Session, ...]
    windows: tuple[Window, ...]
    next_eligible: date | None


class Timeline(msgspec.Struct, frozen=True):
    today: date
    policy_title: str
    policy_url: str
    policy_why: str
    lanes: tuple[Lane, ...]


def _label(pool: Pool) -> str:
    return "All regions" if pool is None else pool.label.capitalize()


def timeline(record: ClinicalRecord, catalog: PolicyCatalog, today: date) -> Timeline:
    selection = catalog.select(record.coverages, today)
    policy = selection.policy
    limits = list(policy.frequency.limits)
    history = SessionHistory.of(HookFacts(record=record), applied(selection, catalog), today)
    lanes = []
    for pool, ledger in sorted(history.pools.items(), key=lambda item: _label(item[0])):
        windows = []
        for limit in limits:
            used = ledger.used_in_window_ending(today, limit.months)
            windows.append(
                Window(
                    months=limit.months,
                    start=add_months(today, -limit.months) + timedelta(days=1),
                    end=today,
                    sessions=len(used),
                    max_sessions=limit.max_sessions,
                    injections=sum(ledger.injections_on[day] for day in used),
                    max_injections=limit.max_injections,
                )
            )
        sessions = tuple(
            Session(day, ledger.injections_on[day], day in ledger.booked) for day in sorted(ledger.injections_on)
        )
        lanes.append(
            Lane(
                label=_label(pool),
                sessions=sessions,
                windows=tuple(windows),
                next_eligible=ledger.earliest_compliant(today, 1, limits, additional=True),
            )
        )
    return Timeline(today, policy.title, str(policy.link.url), selection.why, tuple(lanes))


def chart_option(view: Timeline) -> dict[str, Any]:
    """An Apache ECharts option: one lane per pool, performed and booked sessions as points, the longest window
    ending today as a band, today as a line, and each lane's next eligible date as a pin."""
    labels = [lane.label for lane in view.lanes]
    earliest = min((session.day for lane in view.lanes for session in lane.sessions), default=view.today)
    longest = max((window for lane in view.lanes for window in lane.windows), key=lambda w: w.months, default=None)
    start = min(earliest, longest.start if longest else view.today) - timedelta(days=30)
    latest = max(
        [view.today, *(s.day for lane in view.lanes for s in lane.sessions), *_eligible_dates(view)], default=view.today
    )

    def points(booked: bool) -> list[dict[str, Any]]:
        return [
            {
                "value": [session.day.isoformat(), lane.label],
                "injections": session.injections,
                "symbolSize": 10 + 4 * min(session.injections, 4),
            }
            for lane in view.lanes
            for session in lane.sessions
            if session.booked is booked
        ]

    eligible = [
        {
            "value": [lane.next_eligible.isoformat(), lane.label],
            "label": {
                "show": True,
                "position": "right",
                "formatter": f"next eligible {lane.next_eligible.isoformat()}",
            },
        }
        for lane in view.lanes
        if lane.next_eligible is not None
    ]
    bands = (
        [
            [
                {"xAxis": longest.start.isoformat(), "name": f"{longest.months}-month window ending today"},
                {"xAxis": longest.end.isoformat()},
            ]
        ]
        if longest
        else []
    )
    return {
        "animation": False,
        "grid": {"left": 130, "right": 40, "top": 50, "bottom": 60},
        "legend": {"top": 8, "data": ["Performed", "Booked", "Next eligible"]},
        "tooltip": {"trigger": "item"},
        "xAxis": {
            "type": "time",
            "min": start.isoformat(),
            "max": (latest + timedelta(days=120)).isoformat(),
            "splitLine": {"show": True, "lineStyle": {"color": "#eef2f7"}},
        },
        "yAxis": {"type": "category", "data": labels, "axisTick": {"show": False}},
        "series": [
            {
                "name": "Performed",
                "type": "scatter",
                "data": points(booked=False),
                "itemStyle": {"color": "#2563eb"},
                "markArea": {
                    "silent": True,
                    "itemStyle": {"color": "rgba(37, 99, 235, 0.07)"},
                    "label": {"color": "#475569", "position": "insideTop"},
                    "data": bands,
                },
                "markLine": {
                    "silent": True,
                    "symbol": "none",
                    "lineStyle": {"color": "#334155", "type": "solid"},
                    "label": {"formatter": "Today", "position": "end", "color": "#334155"},
                    "data": [{"xAxis": view.today.isoformat()}],
                },
            },
            {
                "name": "Booked",
                "type": "scatter",
                "symbol": "diamond",
                "data": points(booked=True),
                "itemStyle": {"color": "#f59e0b"},
            },
            {
                "name": "Next eligible",
                "type": "scatter",
                "symbol": "pin",
                "symbolSize": 30,
                "symbolOffset": [0, -12],
                "data": eligible,
                "itemStyle": {"color": "#16a34a"},
                "label": {"color": "#166534", "fontWeight": "bold"},
            },
        ],
    }


def _eligible_dates(view: Timeline) -> list[date]:
    return [lane.next_eligible for lane in view.lanes if lane.next_eligible is not None]

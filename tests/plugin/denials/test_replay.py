"""Replaying a denied line's rules on the record as of its date of service applies the policy as the hooks do."""

from __future__ import annotations

from datetime import date

from plugin.denials.replay import judge_as_of
from plugin.hooks.record_data import DataKey, PatientData
from plugin.hooks.services import read_record
from plugin.policies.catalog import load_catalog
from plugin.sandbox.resources import condition, coverage, procedure, searchset

SERVED = date(2026, 12, 3)


def replayed_rules(payor: str) -> tuple[str, ...]:
    data = PatientData(
        values={
            DataKey.PROCEDURES: searchset(
                [
                    procedure(
                        "esi-1",
                        "64483",
                        "2026-12-03T09:00:00-05:00",
                        text="Right L4-L5 transforaminal epidural steroid injection under fluoroscopy",
                        reasons=[("M54.16", "Radiculopathy, lumbar region")],
                    )
                ]
            ),
            DataKey.CONDITIONS: searchset([condition("c1", "M54.16", "Radiculopathy, lumbar region")]),
            DataKey.COVERAGE: searchset([coverage("cov-1", payor=payor)]),
            DataKey.IMAGING_STUDIES: searchset([]),
        }
    )
    replay = judge_as_of(load_catalog(), read_record(data), data, "64483", SERVED)
    assert replay.injection == "Procedure/esi-1"
    return replay.rules


def test_a_denial_for_an_unmapped_plan_is_not_blamed_on_a_prior_authorization_card_the_service_never_shows() -> None:
    assert "prior-auth-required" not in replayed_rules("TRICARE East (Humana Military)")


def test_a_denial_for_a_mapped_plan_still_replays_its_prior_authorization() -> None:
    assert "prior-auth-required" in replayed_rules("Cigna Healthcare")

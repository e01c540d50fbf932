"""`diagnostic-imaging-missing`: the policy asks for a recent MRI or CT of the region and none is on record.

A study counts when its modality is one the policy names, it was done within the policy's months before the session,
and its words name the session's region or no region at all (a study whose region cannot be told is not held against
the order).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from plugin.rules.applied_policy import AppliedPolicy
from plugin.rules.calendar import add_months
from plugin.rules.episodes import Placed, placed
from plugin.rules.findings import Finding, RuleId, Severity
from plugin.rules.hook_facts import HookFacts

_MODALITY_WORDS = {"MR": "MRI", "CT": "CT"}


def _check(sessions: Iterable[Placed], facts: HookFacts, policy: AppliedPolicy) -> Iterator[Finding]:
    care = facts.care
    for place in sessions:
        requirement = place.policy.diagnostic_imaging
        if requirement is None or not place.applies(requirement.phase):
            continue
        if not care.diagnostic_imaging_known or not facts.imaging_known:
            continue  # the data-incomplete card says which data could not be read
        since = add_months(place.session.on, -requirement.months)
        recent = [
            study
            for study in care.diagnostic_studies
            if study.modalities & set(requirement.modalities)
            and study.on is not None
            and since <= study.on <= place.session.on
            and (not study.regions or place.region is None or place.region in study.regions)
        ]
        if recent:
            continue
        kinds = " or ".join(_MODALITY_WORDS.get(modality, modality) for modality in requirement.modalities)
        region = f" of the {place.region.label} spine" if place.region is not None else ""
        yield Finding(
            rule=RuleId.DIAGNOSTIC_IMAGING_MISSING,
            severity=Severity.WARNING,
            summary=f"No {kinds}{region} in the {requirement.months} months before {place.session.on.isoformat()}",
            detail=(
                f"{policy.named} asks for a recent {kinds}{region}, done within {requirement.months} months before the "
                f"injection (since {since.isoformat()}); none is on record as an imaging study or radiology report. "
                f"Attach the report, or order the study first." + policy.grounds(requirement.source)
            ),
            subject=place.session.source,
            citing=policy.citing,
            session=place.session.on,
        )


def order_diagnostic_imaging(facts: HookFacts, policy: AppliedPolicy, as_of: date) -> list[Finding]:
    return list(_check(placed(facts, policy, as_of, bookings=False), facts, policy))

"""The spine as the codes see it: two billing regions, injection approaches, and the CPT code table that ties them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

import yaml


class SpinalRegion(StrEnum):
    """The two regions the CPT codes and the Medicare LCDs distinguish."""

    CERVICAL_THORACIC = "cervical-thoracic"
    LUMBAR_SACRAL = "lumbar-sacral"

    @property
    def label(self) -> str:
        return "cervical/thoracic" if self is SpinalRegion.CERVICAL_THORACIC else "lumbar/sacral"


class Approach(StrEnum):
    INTERLAMINAR = "interlaminar"
    TRANSFORAMINAL = "transforaminal"
    NEUROLYTIC = "neurolytic"


_SEGMENT_REGIONS = {"C": SpinalRegion.CERVICAL_THORACIC, "T": SpinalRegion.CERVICAL_THORACIC}


def region_of_segment(segment: str) -> SpinalRegion:
    """C and T segments are cervical/thoracic; L, S and the coccyx lumbar/sacral."""
    return _SEGMENT_REGIONS.get(segment[:1].upper(), SpinalRegion.LUMBAR_SACRAL)


@dataclass(frozen=True, slots=True)
class SpinalLevel:
    """A level as written ("L4-L5", "T12-L1", "S1"): its upper and, for an interspace, lower segment."""

    upper: str
    lower: str | None = None

    @property
    def text(self) -> str:
        return self.upper if self.lower is None else f"{self.upper}-{self.lower}"

    @property
    def billing_region(self) -> SpinalRegion:
        """The region a code for this level belongs to: the upper segment's, because the nerve root that exits at an
        interspace is the upper segment's (a T12-L1 transforaminal injection is reported with 64479, Medicare
        article A58993)."""
        return region_of_segment(self.upper)


@dataclass(frozen=True, slots=True)
class InjectionCode:
    code: str
    display: str
    approach: Approach
    region: SpinalRegion | None
    imaging: bool
    catheter: bool
    add_on_to: str | None = None


@dataclass(frozen=True, slots=True)
class InjectionCodeTable:
    source: str
    codes: dict[str, InjectionCode]

    def get(self, code: str | None) -> InjectionCode | None:
        return self.codes.get(code.strip()) if code else None

    def choose(
        self, *, approach: Approach, region: SpinalRegion, imaging: bool, catheter: bool
    ) -> InjectionCode | None:
        """The primary (non add-on) code with these properties; None where CPT has no such code."""
        for candidate in self.codes.values():
            if (
                candidate.add_on_to is None
                and candidate.approach is approach
                and candidate.region is region
                and candidate.imaging is imaging
                and candidate.catheter is catheter
            ):
                return candidate
        return None


@cache
def injection_codes() -> InjectionCodeTable:
    text = resources.files("fhir_mappings.data").joinpath("spinal_injection_codes.yaml").read_text("utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    codes = {
        entry["code"]: InjectionCode(
            code=entry["code"],
            display=entry["display"],
            approach=Approach(entry["approach"]),
            region=SpinalRegion(entry["region"]) if entry.get("region") else None,
            imaging=bool(entry["imaging"]),
            catheter=bool(entry["catheter"]),
            add_on_to=entry.get("add_on_to"),
        )
        for entry in document["codes"]
    }
    return InjectionCodeTable(source=document["source"], codes=codes)

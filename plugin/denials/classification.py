"""Denials classified as data: which rule family a line's group code, CARC and RARC point to (classification.yaml).

The file is validated by a strict schema when it is loaded: an unknown key, family or rule id, a mapping without a
source, or two mappings for the same codes stop the load with every problem named.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, model_validator

from plugin.denials.errors import ClassificationError
from plugin.denials.lines import Adjustment
from plugin.rules.findings import RuleId

PAYER_GROUPS: frozenset[str] = frozenset({"CO", "OA", "PI"})  # PR is the patient's share: never a denial


def payer_side(adjustment: Adjustment) -> bool:
    """Whether the payer, not the patient, bears the adjustment; a FHIR denial reason without a group code is."""
    return adjustment.group is None or adjustment.group in PAYER_GROUPS


ReasonCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{1,5}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    title: str = Field(min_length=3)
    url: HttpUrl


class Family(_Strict):
    title: str = Field(min_length=3)
    rules: tuple[RuleId, ...]


class Mapping(_Strict):
    carcs: tuple[ReasonCode, ...] = ()
    rarcs: tuple[ReasonCode, ...] = ()
    groups: tuple[Literal["CO", "OA", "PI"], ...] = ()
    family: str
    meaning: str = Field(min_length=3)
    sources: tuple[Source, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _names_a_code(self) -> Mapping:
        if not self.carcs and not self.rarcs:
            raise ValueError("a mapping needs carcs, rarcs or both")
        return self


class CardWindow(_Strict):
    days_before: int = Field(ge=0, le=365)
    days_after: int = Field(ge=0, le=365)


class Classification(_Strict):
    kind: Literal["denial-classification"]
    version: str
    sources: dict[str, Source]
    families: dict[str, Family] = Field(min_length=1)
    mappings: tuple[Mapping, ...] = Field(min_length=1)
    card_window: CardWindow

    @model_validator(mode="after")
    def _consistent(self) -> Classification:
        problems = [
            f"mappings[{i}]: unknown family {m.family!r}"
            for i, m in enumerate(self.mappings)
            if m.family not in self.families
        ]
        seen: dict[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], int] = {}
        for i, mapping in enumerate(self.mappings):
            key = (tuple(sorted(mapping.carcs)), tuple(sorted(mapping.rarcs)), tuple(sorted(mapping.groups)))
            if key in seen:
                problems.append(f"mappings[{i}]: the same codes as mappings[{seen[key]}]")
            seen.setdefault(key, i)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def classify(self, adjustments: Sequence[Adjustment], rarcs: Iterable[str]) -> Verdict | None:
        """The family a line's adjustments and remark codes point to; None when nothing on the line is a denial the
        service knows (a contractual write-off, the patient's share)."""
        payer_side_adjustments = [adjustment for adjustment in adjustments if payer_side(adjustment)]
        remarks = set(rarcs)
        for mapping in self.mappings:  # RARC mappings first: N362 decides whatever the CARC
            if not mapping.rarcs or remarks.isdisjoint(mapping.rarcs):
                continue
            for adjustment in payer_side_adjustments:
                if self._matches_carc(mapping, adjustment):
                    return Verdict(mapping.family, adjustment, next(r for r in mapping.rarcs if r in remarks), mapping)
        for adjustment in payer_side_adjustments:
            for mapping in self.mappings:
                if not mapping.rarcs and self._matches_carc(mapping, adjustment):
                    return Verdict(mapping.family, adjustment, None, mapping)
        return None

    @staticmethod
    def _matches_carc(mapping: Mapping, adjustment: Adjustment) -> bool:
        return (not mapping.carcs or adjustment.carc in mapping.carcs) and (
            not mapping.groups or adjustment.group is None or adjustment.group in mapping.groups
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """Why a line counts as a denial of `family`: the adjustment and remark code that decided it, and the mapping."""

    family: str
    adjustment: Adjustment
    rarc: str | None
    mapping: Mapping


def load_classification(path: Path | None = None) -> Classification:
    """The shipped classification, or the file at `path`; raises ClassificationError naming every problem."""
    if path is None:
        return _shipped()
    return _parse(path.read_text("utf-8"), str(path))


@cache
def _shipped() -> Classification:
    text = resources.files("plugin.denials").joinpath("classification.yaml").read_text("utf-8")
    return _parse(text, "plugin/denials/classification.yaml")


def _parse(text: str, name: str) -> Classification:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ClassificationError(f"{name}: not YAML: {error}") from None
    try:
        return Classification.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or '(file)'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise ClassificationError(f"{name}: {problems}") from None

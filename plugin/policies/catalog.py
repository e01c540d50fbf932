"""Loading, validating and choosing policies.

The shipped files live beside this module; an operator's `policy_dir` adds files or replaces shipped ones with the same
`id` (or `kind`, for the coverage mapping and coding conventions). Every problem is reported with its file and field,
all at once, so an operator fixes a directory in one pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from fhir_mappings.code_systems import is_system
from fhir_mappings.facts import PayerCoverage
from plugin.policies.schema import CodingConventions, CoverageMapping, CoverageSelector, PayerPolicy, SessionTypes

PolicyDocument = PayerPolicy | CodingConventions | CoverageMapping | SessionTypes
_DOCUMENT: TypeAdapter[PolicyDocument] = TypeAdapter(PolicyDocument)
_SHIPPED_PACKAGE = "plugin.policies"


class _PolicyYamlLoader(yaml.SafeLoader):
    """Leaves dates as text for the schema to parse, so a bad date is a field error, not a YAML crash."""


_PolicyYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


class PolicyCatalogError(Exception):
    def __init__(self, problems: Sequence[PolicyProblem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class PolicySelection:
    policy: PayerPolicy
    coverage: PayerCoverage | None
    why: str


@dataclass(frozen=True)
class PolicyCatalog:
    policies: dict[str, PayerPolicy]
    conventions: CodingConventions
    mapping: CoverageMapping
    origins: dict[str, str] = field(default_factory=dict)
    session_types: SessionTypes | None = None

    @property
    def default_policy(self) -> PayerPolicy:
        return self.policies[self.mapping.default_policy]

    def select(self, coverages: Iterable[PayerCoverage], on: date) -> PolicySelection:
        """The policy of the patient's primary Coverage in force on `on`; the default when nothing matches."""
        in_force = sorted(
            (coverage for coverage in coverages if coverage.in_force_on(on)),
            key=lambda coverage: coverage.order if coverage.order is not None else 1_000_000,
        )
        if not in_force:
            return PolicySelection(self.default_policy, None, "no active coverage on record")
        primary = in_force[0]
        for rule in self.mapping.rules:
            if _matches(rule.when, primary):
                policy = self.policies[rule.policy]
                if policy.effective.covers(on):
                    return PolicySelection(policy, primary, "matched the patient's primary coverage")
        return PolicySelection(self.default_policy, primary, "no policy is configured for this coverage")


def _matches(selector: CoverageSelector, coverage: PayerCoverage) -> bool:
    if selector.type_system is not None and selector.type_code_prefix is not None:
        for system, code in coverage.type_codes:
            if is_system(system, selector.type_system) and code.startswith(selector.type_code_prefix):
                return True
    if selector.payer_name_matches is not None:
        pattern = re.compile(selector.payer_name_matches)
        return any(pattern.search(name) for name in coverage.payor_names)
    return False


def _read_documents(named: Iterable[tuple[str, str]]) -> tuple[list[tuple[str, PolicyDocument]], list[PolicyProblem]]:
    documents: list[tuple[str, PolicyDocument]] = []
    problems: list[PolicyProblem] = []
    for name, text in named:
        try:
            raw: Any = yaml.load(text, Loader=_PolicyYamlLoader)
        except yaml.YAMLError as error:
            problems.append(PolicyProblem(name, "(file)", f"not valid YAML: {error}"))
            continue
        try:
            documents.append((name, _DOCUMENT.validate_python(raw)))
        except ValidationError as error:
            for problem in error.errors(include_url=False):
                # The union tag is the first location part; drop it so the field reads as the file spells it.
                location = [str(part) for part in problem["loc"]]
                if location and location[0] in {"PayerPolicy", "CodingConventions", "CoverageMapping", "SessionTypes"}:
                    location = location[1:]
                problems.append(PolicyProblem(name, ".".join(location) or "(file)", problem["msg"]))
    return documents, problems


def _shipped_files() -> list[tuple[str, str]]:
    folder = resources.files(_SHIPPED_PACKAGE)
    return sorted(
        (f"(shipped) {entry.name}", entry.read_text("utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith((".yaml", ".yml"))
    )


def _directory_files(directory: Path) -> list[tuple[str, str]]:
    if not directory.is_dir():
        raise PolicyCatalogError([PolicyProblem(str(directory), "(directory)", "not a directory")])
    return sorted(
        (str(path), path.read_text("utf-8")) for path in directory.iterdir() if path.suffix in {".yaml", ".yml"}
    )


def load_catalog(policy_dir: Path | None = None) -> PolicyCatalog:
    """The shipped policies, overlaid by `policy_dir`'s; raises PolicyCatalogError listing every problem."""
    named = _shipped_files() + (_directory_files(policy_dir) if policy_dir is not None else [])
    documents, problems = _read_documents(named)
    policies: dict[str, PayerPolicy] = {}
    origins: dict[str, str] = {}
    conventions: CodingConventions | None = None
    mapping: CoverageMapping | None = None
    session_types: SessionTypes | None = None
    for name, document in documents:
        if isinstance(document, PayerPolicy):
            policies[document.id] = document
            origins[document.id] = name
        elif isinstance(document, CodingConventions):
            conventions = document
            origins[document.id] = name
        elif isinstance(document, SessionTypes):
            # Shipped files come first: an operator's file is laid over the shipped one, not in place of it.
            session_types = document if session_types is None else document.merged_over(session_types)
            origins["session-types"] = name
        else:
            mapping = document
            origins["coverage-mapping"] = name
    if conventions is None:
        problems.append(PolicyProblem("(catalog)", "kind", "no coding-conventions file"))
    if mapping is None:
        problems.append(PolicyProblem("(catalog)", "kind", "no coverage-mapping file"))
    else:
        mapping_file = origins["coverage-mapping"]
        if mapping.default_policy not in policies:
            problems.append(PolicyProblem(mapping_file, "default_policy", f"unknown policy {mapping.default_policy!r}"))
        for position, rule in enumerate(mapping.rules):
            if rule.policy not in policies:
                problems.append(
                    PolicyProblem(mapping_file, f"rules.{position}.policy", f"unknown policy {rule.policy!r}")
                )
    if problems or conventions is None or mapping is None:
        raise PolicyCatalogError(problems)
    return PolicyCatalog(
        policies=policies, conventions=conventions, mapping=mapping, origins=origins, session_types=session_types
    )


def check_directory(policy_dir: Path | None) -> list[PolicyProblem]:
    """Every problem in the shipped files plus `policy_dir`, as `policies check` reports them."""
    try:
        load_catalog(policy_dir)
    except PolicyCatalogError as error:
        return list(error.problems)
    return []

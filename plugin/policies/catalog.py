"""Loading, validating and choosing policies.

The shipped files live beside this module; an operator's `policy_dir` adds files or replaces shipped ones with the same
`id` (or `kind`, for the coverage mapping and coding conventions). Every problem is reported with its file and field,
all at once, so an operator fixes a directory in one pass. A payer policy file may hold several versions (YAML
documents); the version in force on a date of service is the one that judges it.
"""

from __future__ import annotations

import itertools
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
from fhir_mappings.facts import PayerCoverage, ServicePlace
from plugin.policies.quotes import quoted_numbers
from plugin.policies.schema import CodingConventions, CoverageMapping, CoverageSelector, PayerPolicy, SessionTypes
from plugin.policies.service_state import ServiceState, StateOrigin, service_state

PolicyDocument = PayerPolicy | CodingConventions | CoverageMapping | SessionTypes
_DOCUMENT: TypeAdapter[PolicyDocument] = TypeAdapter(PolicyDocument)
_SHIPPED_PACKAGE = "plugin.policies"
_DOCUMENT_KINDS = frozenset({"PayerPolicy", "CodingConventions", "CoverageMapping", "SessionTypes"})


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
    by_default: bool = False
    """True when no configured policy matched and the typical commercial rule stands in for the plan's own."""
    versions: tuple[PayerPolicy, ...] = ()
    """Every version of the chosen policy, so each session is judged by the one in force on its date."""
    service_state: ServiceState | None = None
    """Where the service is furnished, when configured or named by the hook's data."""
    chosen_in: ServiceState | None = None
    """The state whose mapping rule chose the policy (possibly the payer's address), when a state decided it."""


@dataclass(frozen=True)
class PolicyCatalog:
    policies: dict[str, PayerPolicy]
    """The latest version of each policy."""
    conventions: CodingConventions
    mapping: CoverageMapping
    origins: dict[str, str] = field(default_factory=dict)
    versions: dict[str, tuple[PayerPolicy, ...]] = field(default_factory=dict)
    """Every version of each policy, oldest first."""
    session_types: SessionTypes | None = None

    @property
    def default_policy(self) -> PayerPolicy:
        return self.policies[self.mapping.default_policy]

    def version_on(self, policy_id: str, day: date) -> PayerPolicy | None:
        return next((policy for policy in self.versions_of(policy_id) if policy.effective.covers(day)), None)

    def versions_of(self, policy_id: str) -> tuple[PayerPolicy, ...]:
        return self.versions.get(policy_id) or (self.policies[policy_id],)

    def select(
        self, coverages: Iterable[PayerCoverage], on: date, place: ServicePlace | None = None
    ) -> PolicySelection:
        """The policy of the patient's primary Coverage in force on `on`; the default when nothing matches. `place` is
        where the hook's data says the service is furnished; the mapping's `service_state` overrides it."""
        in_force = sorted(
            (coverage for coverage in coverages if coverage.in_force_on(on)),
            key=lambda coverage: coverage.order if coverage.order is not None else 1_000_000,
        )
        state = service_state(self.mapping.service_state, place)
        if not in_force:
            return self._default(on, None, "no active coverage is on record", state)
        primary = in_force[0]
        for rule in self.mapping.rules:
            matched = _matches(rule.when, primary, state)
            if matched is None:
                continue
            policy = self.version_on(rule.policy, on)
            if policy is not None:
                reason, chosen_in = matched
                why = f"the primary coverage ({_named(primary)}) matched {reason}"
                return PolicySelection(policy, primary, why, False, self.versions_of(rule.policy), state, chosen_in)
        return self._default(
            on, primary, f"no policy is configured for the primary coverage ({_named(primary)})", state
        )

    def _default(
        self, on: date, coverage: PayerCoverage | None, why: str, state: ServiceState | None
    ) -> PolicySelection:
        policy_id = self.mapping.default_policy
        policy = self.version_on(policy_id, on) or self.policies[policy_id]
        return PolicySelection(policy, coverage, why, True, self.versions_of(policy_id), state)


def _named(coverage: PayerCoverage) -> str:
    return ", ".join(dict.fromkeys(coverage.payor_names)) or "no payer name"


def _matches(
    selector: CoverageSelector, coverage: PayerCoverage, state: ServiceState | None
) -> tuple[str, ServiceState | None] | None:
    """Why `selector` matches `coverage`, in words, with the state that decided it; None when it does not. Every
    condition it sets must hold."""
    reasons: list[str] = []
    if selector.type_system is not None and selector.type_code_prefix is not None:
        codes = [
            code
            for system, code in coverage.type_codes
            if is_system(system, selector.type_system) and code.startswith(selector.type_code_prefix)
        ]
        if not codes:
            return None
        reasons.append(f"coverage type {codes[0]}")
    if selector.payer_identifiers:
        known = [value for value in coverage.payer_identifiers if value in selector.payer_identifiers]
        if not known:
            return None
        reasons.append(f"payer identifier {known[0]}")
    if selector.payer_name_matches is not None:
        pattern = re.compile(selector.payer_name_matches)
        names = [name for name in coverage.payor_names if pattern.search(name)]
        if not names:
            return None
        reasons.append(f"payer or plan name {names[0]!r}")
    chosen_in: ServiceState | None = None
    if selector.states:
        states = [state] if state else [ServiceState(code, StateOrigin.PAYER) for code in coverage.payer_states]
        found = [candidate for candidate in states if candidate.code in selector.states]
        if not found:
            return None
        chosen_in = found[0]
        reasons.append(f"state {chosen_in.code}: {chosen_in.words}")
    return " and ".join(reasons), chosen_in


def _read_documents(named: Iterable[tuple[str, str]]) -> tuple[list[tuple[str, PolicyDocument]], list[PolicyProblem]]:
    documents: list[tuple[str, PolicyDocument]] = []
    problems: list[PolicyProblem] = []
    for name, text in named:
        try:
            raws: list[Any] = [raw for raw in yaml.load_all(text, Loader=_PolicyYamlLoader) if raw is not None]
        except yaml.YAMLError as error:
            problems.append(PolicyProblem(name, "(file)", f"not valid YAML: {error}"))
            continue
        for position, raw in enumerate(raws):
            # A second document of a file is a further version; its fields are named with the document number.
            prefix = f"[document {position + 1}] " if len(raws) > 1 else ""
            try:
                documents.append((name, _DOCUMENT.validate_python(raw)))
            except ValidationError as error:
                for problem in error.errors(include_url=False):
                    # The union tag is the first location part; drop it so the field reads as the file spells it.
                    location = [str(part) for part in problem["loc"]]
                    if location and location[0] in _DOCUMENT_KINDS:
                        location = location[1:]
                    problems.append(PolicyProblem(name, prefix + (".".join(location) or "(file)"), problem["msg"]))
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
    versions: dict[str, list[PayerPolicy]] = {}
    origins: dict[str, str] = {}
    conventions: CodingConventions | None = None
    mapping: CoverageMapping | None = None
    session_types: SessionTypes | None = None
    for name, document in documents:
        if isinstance(document, PayerPolicy):
            if origins.get(document.id) != name:
                # A file that names an id replaces every version of it read from another file (an operator override).
                versions[document.id] = []
            versions[document.id].append(document)
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
        if mapping.default_policy not in versions:
            problems.append(PolicyProblem(mapping_file, "default_policy", f"unknown policy {mapping.default_policy!r}"))
        for position, rule in enumerate(mapping.rules):
            if rule.policy not in versions:
                problems.append(
                    PolicyProblem(mapping_file, f"rules.{position}.policy", f"unknown policy {rule.policy!r}")
                )
    ordered = {
        policy_id: tuple(sorted(found, key=lambda p: p.effective.start)) for policy_id, found in versions.items()
    }
    for policy_id, found in ordered.items():
        problems.extend(_version_problems(origins[policy_id], found))
    if problems or conventions is None or mapping is None:
        raise PolicyCatalogError(problems)
    return PolicyCatalog(
        policies={policy_id: found[-1] for policy_id, found in ordered.items()},
        conventions=conventions,
        mapping=mapping,
        origins=origins,
        versions=ordered,
        session_types=session_types,
    )


def _version_problems(file: str, versions: Sequence[PayerPolicy]) -> list[PolicyProblem]:
    """Versions of one policy must have distinct names and follow one another without overlapping."""
    problems: list[PolicyProblem] = []
    names = [policy.version for policy in versions]
    if len(set(names)) != len(names):
        problems.append(PolicyProblem(file, "version", f"the same version is given twice: {', '.join(names)}"))
    for earlier, later in itertools.pairwise(versions):
        if earlier.effective.end is None or earlier.effective.end >= later.effective.start:
            problems.append(
                PolicyProblem(
                    file,
                    "effective",
                    f"version {earlier.version} must end before version {later.version} starts "
                    f"({later.effective.start.isoformat()})",
                )
            )
    return problems


def check_directory(policy_dir: Path | None) -> list[PolicyProblem]:
    """Every problem in the shipped files plus `policy_dir`, as `policies check` reports them: the schema's, and
    every number without a quote and a source (`audit`)."""
    try:
        catalog = load_catalog(policy_dir)
    except PolicyCatalogError as error:
        return list(error.problems)
    return audit(catalog)


def audit(catalog: PolicyCatalog) -> list[PolicyProblem]:
    """Numbers without the payer's words for them, and sources that are not https links a clinician can open."""
    problems: list[PolicyProblem] = []
    for policy_id, versions in sorted(catalog.versions.items()):
        file = catalog.origins[policy_id]
        for policy in versions:
            prefix = f"version {policy.version}: " if len(versions) > 1 else ""
            for number in quoted_numbers(policy):
                if number.source is None:
                    problems.append(
                        PolicyProblem(file, prefix + number.field, f"no quote and source for {number.what}")
                    )
                elif number.source.url.scheme != "https":
                    problems.append(PolicyProblem(file, prefix + number.field + ".source.url", "not an https URL"))
            for position, citation in enumerate(policy.sources):
                if citation.url.scheme != "https":
                    problems.append(PolicyProblem(file, f"{prefix}sources.{position}.url", "not an https URL"))
    return problems

"""Prior authorizations an order or a booking carries, read the way EHRs send them.

- **A ClaimResponse it refers to**: `ServiceRequest.supportingInfo` or `.insurance` (R4 allows a ClaimResponse there),
  or `Appointment.supportingInformation`, naming a ClaimResponse contained in the resource or beside it in the request
  (the draft orders, the appointments and what they `_include`). It is an authorization when its `use` is
  preauthorization, its status active, its `outcome` complete or partial (error and queued are no decision) and it
  carries a `preAuthRef`. A Da Vinci PAS response decides per line, by the review action (X12 306) of its adjudication:
  A1 certified in total, A2 certified partial and A6 modified approve the line; A3 not certified, A4 pended, C
  cancelled and the rest do not. A line's period (`itemPreAuthPeriod`) and number (the review action's `number`) win
  over the response's `preAuthPeriod` and `preAuthRef`; its codes are its own `productOrService` (an added line) or
  that of the request Claim's item of its sequence.
- **An authorization number in its words** ("auth # CA-2026-558812", "prior authorization approved 11/30/2026,
  reference 228819341"): a word for the authorization, then, in the same sentence, a number marker and an identifier
  with a digit. It counts only when the context reader (fhir_mappings/context.py), with the status words of
  `data/authorization_vocabulary.yaml` added to its triggers, finds the word and the number affirmed: "auth pending",
  "auth not yet obtained", "PA denied", "will request auth" state none. Its sentence gives the codes it names and its
  period ("valid through 02/21/2027", "11/24/2026 - 02/21/2027").

Read leniently from raw resources: whatever does not have the expected shape is no authorization, never an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import yaml

from fhir_mappings.bundles import relative_reference
from fhir_mappings.code_systems import is_procedure_code_system
from fhir_mappings.context import Assertion, Context, lexicon_with, trigger_lists
from fhir_mappings.dates import calendar_date
from fhir_mappings.facts import Authorization, Evidence
from fhir_mappings.phrases import PhraseBook, Phrases, Text, phrases
from fhir_mappings.spine import injection_codes

_REFERRING = ("supportingInfo", "insurance", "supportingInformation")
_DECIDED = frozenset({"complete", "partial"})
# X12 306 (Healthcare Services Review action codes, as Da Vinci PAS carries them).
_APPROVING = frozenset({"A1", "A2", "A6"})

# A number marker and the identifier after it: "# CA-2026-558812", "ref 228819341", "no. 12345", "number: A1234".
_NUMBER = re.compile(
    r"(?:#|(?<![\w-])(?:no|nbr|num|number|ref|reference|id)\b\.?|:)[ \t]*(?:#|:)?[ \t]*"
    r"(?P<id>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?![\w-])",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")
_DATE_SHAPED = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}-\d{1,2}-\d{2,4}")
_PROCEDURE_CODE = re.compile(r"(?<![\w-])\d{4}[0-9A-Z](?![\w-])")
# Sentences end at ! ? ; a line break, or a full stop before a space, except the stop of "no." and "ref.", which mark a
# number in the same sentence.
_SENTENCE_END = re.compile(r"[!?;\n]|(?<![Nn][Oo])(?<![Rr][Ee][Ff])\.(?=\s|$)")

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_DATE = (
    r"(?:\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/(?:\d{4}|\d{2})(?!\d)"
    r"|(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?\s+\d{1,2},?\s+\d{4})"
)
_RANGE = re.compile(rf"(?P<start>{_DATE})\s*(?:-|–|—|to|through|thru|until)\s*(?P<end>{_DATE})", re.IGNORECASE)
_UNTIL = re.compile(
    rf"\b(?:through|thru|until|till|to|expires?|expiring|expiration|exp\.?|ends?|ending)\s*(?:on\s+|date:?\s*)?"
    rf"(?P<end>{_DATE})",
    re.IGNORECASE,
)
_FROM = re.compile(
    rf"\b(?:from|starting|starts?|effective|eff\.?|beginning|begins?)\s*(?:on\s+)?(?P<start>{_DATE})", re.I
)


def read_authorizations(
    resource: Mapping[str, Any], label: str, beside: Mapping[str, Mapping[str, Any]], texts: Iterable[str] = ()
) -> tuple[Authorization, ...]:
    """The approved authorizations `resource` (labelled `label`) refers to, resolved in its `contained` or in
    `beside` (by `Type/id`, or by the full URL a bundle entry gave it), and those its `texts` state."""
    found: list[Authorization] = []
    for reference in _references(resource):
        target, source = _resolve(reference, resource, label, beside)
        if target is not None and target.get("resourceType") == "ClaimResponse":
            found.extend(_approved(target, source, resource, beside))
    # A number the notes repeat from a ClaimResponse is that authorization: the payer's record tells its period and
    # codes, and a note that leaves them out must not make an expired one look valid.
    structured = {authorization.number for authorization in found}
    for text in texts:
        found.extend(stated for stated in stated_authorizations(text, label) if stated.number not in structured)
    return tuple(dict.fromkeys(found))


def _references(resource: Mapping[str, Any]) -> Iterator[str]:
    for element in _REFERRING:
        for item in _list(resource.get(element)):
            if isinstance(item, dict) and isinstance(item.get("reference"), str):
                yield item["reference"]


def _resolve(
    reference: str, holder: Mapping[str, Any], label: str, beside: Mapping[str, Mapping[str, Any]]
) -> tuple[Mapping[str, Any] | None, str]:
    if reference.startswith("#"):
        for item in _list(holder.get("contained")):
            if isinstance(item, dict) and item.get("id") == reference[1:]:
                return item, f"{label}{reference}"
        return None, reference
    found = beside.get(relative_reference(reference)) or beside.get(reference)
    if found is None:
        return None, reference
    kind, identifier = found.get("resourceType"), found.get("id")
    named = (
        f"{kind}/{identifier}"
        if isinstance(kind, str) and isinstance(identifier, str)
        else relative_reference(reference)
    )
    return found, named


@dataclass(frozen=True, slots=True)
class _Line:
    codes: tuple[str, ...]
    actions: frozenset[str]
    number: str | None
    period: tuple[date | None, date | None] | None


def _approved(
    response: Mapping[str, Any], source: str, holder: Mapping[str, Any], beside: Mapping[str, Mapping[str, Any]]
) -> list[Authorization]:
    if response.get("use") != "preauthorization" or response.get("status", "active") != "active":
        return []
    number = _string(response.get("preAuthRef"))
    if response.get("outcome") not in _DECIDED or not number:
        return []
    start, end = _period(response.get("preAuthPeriod")) or (None, None)
    requested = _requested_codes(response, holder, beside)
    lines = [
        _line(item, requested.get(_sequence(item.get("itemSequence")), ()))
        for item in _list(response.get("item"))
        if isinstance(item, dict)
    ]
    lines += [
        _line(item, _codes(item.get("productOrService")))
        for item in _list(response.get("addItem"))
        if isinstance(item, dict)
    ]
    header = _actions(response.get("adjudication"))[0]
    if not header and not any(line.actions for line in lines):
        # No review action anywhere: the outcome and the reference are the decision, for every line it answers.
        codes = tuple(dict.fromkeys(code for line in lines for code in line.codes))
        return [Authorization(source, number, start, end, codes)]
    if not lines:
        return [Authorization(source, number, start, end)] if header <= _APPROVING else []
    approved = []
    for line in lines:
        actions = line.actions or header
        if actions and actions <= _APPROVING:
            line_start, line_end = line.period or (start, end)
            approved.append(Authorization(source, line.number or number, line_start, line_end, line.codes))
    return approved


def _line(item: Mapping[str, Any], codes: tuple[str, ...]) -> _Line:
    actions, number = _actions(item.get("adjudication"))
    period = next(
        (
            found
            for extension in _list(item.get("extension"))
            if isinstance(extension, dict)
            and str(extension.get("url", "")).endswith("itemPreAuthPeriod")
            and (found := _period(extension.get("valuePeriod"))) is not None
        ),
        None,
    )
    return _Line(codes, actions, number, period)


def _actions(adjudications: Any) -> tuple[frozenset[str], str | None]:
    """The review action codes of a list of adjudications, and the authorization number one of them gives."""
    codes: set[str] = set()
    number = None
    for adjudication in _list(adjudications):
        if not isinstance(adjudication, dict):
            continue
        for extension in _list(adjudication.get("extension")):
            if not isinstance(extension, dict) or not str(extension.get("url", "")).endswith("reviewAction"):
                continue
            for part in _list(extension.get("extension")):
                if not isinstance(part, dict):
                    continue
                url = str(part.get("url", ""))
                if url.endswith("reviewActionCode"):
                    concept = part.get("valueCodeableConcept")
                    codings = _list(concept.get("coding")) if isinstance(concept, dict) else []
                    codes.update(
                        c["code"].strip().upper()
                        for c in codings
                        if isinstance(c, dict) and isinstance(c.get("code"), str)
                    )
                elif url == "number":
                    number = _string(part.get("valueString")) or number
    return frozenset(codes), number


def _requested_codes(
    response: Mapping[str, Any], holder: Mapping[str, Any], beside: Mapping[str, Mapping[str, Any]]
) -> dict[int | None, tuple[str, ...]]:
    """The procedure codes of the request Claim's items, by sequence, when the Claim is at hand."""
    request = response.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("reference"), str):
        return {}
    written = request["reference"]
    claim, _ = _resolve(written, response, "", beside)
    if claim is None and written.startswith("#"):
        claim, _ = _resolve(written, holder, "", beside)
    if claim is None or claim.get("resourceType") != "Claim":
        return {}
    return {
        _sequence(item.get("sequence")): _codes(item.get("productOrService"))
        for item in _list(claim.get("item"))
        if isinstance(item, dict)
    }


def _sequence(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _codes(concept: Any) -> tuple[str, ...]:
    codings = _list(concept.get("coding")) if isinstance(concept, dict) else []
    return tuple(
        dict.fromkeys(
            coding["code"].strip().upper()
            for coding in codings
            if isinstance(coding, dict)
            and isinstance(coding.get("code"), str)
            and is_procedure_code_system(_string(coding.get("system")))
        )
    )


def _period(value: Any) -> tuple[date | None, date | None] | None:
    if not isinstance(value, dict):
        return None
    start, end = calendar_date(value.get("start")), calendar_date(value.get("end"))
    return (start, end) if start is not None or end is not None else None


def _string(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# -- Words ------------------------------------------------------------------------------------------------------------


@cache
def _vocabulary() -> dict[str, Any]:
    text = resources.files("fhir_mappings.data").joinpath("authorization_vocabulary.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


@cache
def _mentions() -> Phrases:
    return phrases(_vocabulary()["mentions"])


@cache
def _book() -> PhraseBook:
    data = _vocabulary()
    return lexicon_with(
        [(("mention",), data["mentions"]), (("pseudo",), data["pseudo"]), *trigger_lists(data["context"])]
    )


def stated_authorizations(words: str, source: str) -> list[Authorization]:
    """The authorization numbers `words` affirm, each with the codes and period its sentence names."""
    text = Text(words)
    if not _DIGIT.search(words) or not _mentions().search(text):
        return []
    matches = list(_book().matches(text))
    mentions = [(start, end) for start, end, labels in matches if ("mention",) in labels]
    context: Context | None = None
    found = []
    for sentence_start, sentence_end in _sentences(words):
        for number in _NUMBER.finditer(words, sentence_start, sentence_end):
            identifier = number.group("id")
            if not _is_identifier(identifier):
                continue
            # The nearest word for the authorization before the number ("auth no." is both).
            mention = next(
                (
                    span
                    for span in reversed(mentions)
                    if sentence_start <= span[0] < number.start() and span[1] <= number.start("id")
                ),
                None,
            )
            if mention is None:
                continue
            context = context or Context(text, matches)
            if any(context.read(*span).assertion is not Assertion.AFFIRMED for span in (mention, number.span("id"))):
                continue
            sentence = words[sentence_start:sentence_end]
            offset = number.start("id") - sentence_start
            start, end = _stated_period(sentence)
            codes = tuple(
                dict.fromkeys(
                    code.group()
                    for code in _PROCEDURE_CODE.finditer(sentence)
                    if not (offset <= code.start() < offset + len(identifier))
                )
            )
            found.append(Authorization(source, identifier, start, end, codes, Evidence.STATED))
    return found


def _sentences(words: str) -> Iterator[tuple[int, int]]:
    start = 0
    for end in _SENTENCE_END.finditer(words):
        yield start, end.start()
        start = end.end()
    yield start, len(words)


def _is_identifier(value: str) -> bool:
    """An identifier has a digit and four characters or more, and is neither a date nor an injection code."""
    if len(value) < 4 or not _DIGIT.search(value) or _DATE_SHAPED.fullmatch(value):
        return False
    return injection_codes().get(value.upper()) is None


def _stated_period(sentence: str) -> tuple[date | None, date | None]:
    if (both := _RANGE.search(sentence)) is not None:
        return _written_date(both.group("start")), _written_date(both.group("end"))
    until = _UNTIL.search(sentence)
    since = _FROM.search(sentence)
    return (
        _written_date(since.group("start")) if since else None,
        _written_date(until.group("end")) if until else None,
    )


def _written_date(words: str) -> date | None:
    """A date as notes write it: 2027-02-21, 02/21/2027, 2/21/27 (US order), Feb 21, 2027."""
    words = words.strip()
    try:
        if "-" in words[:5]:
            return calendar_date(words)
        if "/" in words:
            month, day, year = (int(part) for part in words.split("/"))
            return date(year + 2000 if year < 100 else year, month, day)
        name, day_words, year_words = re.split(r"[\s,.]+", words.replace(",", " "))[:3]
        return date(int(year_words), _MONTHS[name.lower()], int(day_words))
    except (ValueError, KeyError):
        return None

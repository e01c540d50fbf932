"""X12 835 (005010X221A1) remittances → remittance lines, through x12sdk's typed models.

x12sdk validates each transaction set as it closes (field types, code lists, segment counts, the claim balance rule)
but reports a problem by its place in the model (``loop_2000.0.loop_2100.1.loop_2110.0.svc_segment``) and accepts a
file that simply stops. So the segments are fed to its parser one by one here: every segment has a number, a problem
is reported as "segment 17 (SVC)", and the envelope (ISA … IEA, GS/GE, ST/SE) is checked to be complete.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import ValidationError
from x12sdk.io import X12SegmentReader
from x12sdk.models import X12Delimiters
from x12sdk.parsing import X12ParseException, create_parser
from x12sdk.v5010.x12_835_005010X221A1.loops import Loop2100, Loop2110
from x12sdk.v5010.x12_835_005010X221A1.transaction_set import HealthCareClaimPayment

from plugin.denials.errors import MalformedFile
from plugin.denials.lines import Adjustment, RemittanceLine

# x12sdk logs each segment it cannot place at ERROR with a traceback; the reader reports it once, with its number.
logging.getLogger("x12sdk").setLevel(logging.CRITICAL)

_IMPLEMENTATION = "005010X221A1"
_LOOPS = ("loop_2000", "loop_2100", "loop_2110")
_CAS_PAIRS = 6  # a CAS segment carries up to six reason / amount pairs


@dataclass(frozen=True, slots=True)
class _Segment:
    number: int  # 1 = ISA
    name: str
    loops: tuple[int | None, int | None, int | None]  # indexes of the enclosing 2000, 2100 and 2110 loops
    area: str  # "header", "loop_1000a", "loop_1000b", "detail" or "footer"


def read_835(text: str, file: str, codes: frozenset[str]) -> list[RemittanceLine]:
    """The lines of `codes` in every 835 transaction of `text`; MalformedFile (naming `file` and the segment) if any
    part of the file cannot be read."""
    if not text.lstrip().startswith("ISA"):
        raise MalformedFile(file, "segment 1", "an X12 file starts with an ISA segment")
    lines: list[RemittanceLine] = []
    with ExitStack() as stack:
        try:
            reader = stack.enter_context(X12SegmentReader(text.lstrip()))
        except (ValueError, IndexError):  # the delimiters are read at fixed places of the 106-character ISA segment
            raise MalformedFile(file, "segment 1 (ISA)", "not a complete ISA segment") from None
        delimiters = reader.delimiters
        assert delimiters is not None  # set on entering the reader
        for model, segments in _transactions(reader.segments(), delimiters, file):
            lines.extend(_lines(model, segments, delimiters.component_separator, codes, file))
    return lines


def _transactions(
    segments: Iterator[tuple[str, list[str]]], delimiters: X12Delimiters, file: str
) -> Iterator[tuple[HealthCareClaimPayment, list[_Segment]]]:
    number = 0
    open_envelopes: list[str] = []
    parser: Any = None
    version: str | None = None
    transaction: list[_Segment] = []
    loops: list[int | None] = [None, None, None]
    area = "header"
    for name, fields in segments:
        number += 1
        place = f"segment {number} ({name})"
        if number == 1 and name != "ISA":
            raise MalformedFile(file, place, "an X12 file starts with an ISA segment")
        if name in ("ISA", "GS"):
            open_envelopes.append(name)
            if name == "GS":
                version = fields[8] if len(fields) > 8 else None
            continue
        if name in ("IEA", "GE"):
            expected = "ISA" if name == "IEA" else "GS"
            if not open_envelopes or open_envelopes.pop() != expected or parser is not None:
                raise MalformedFile(file, place, f"{name} does not close an open {expected}")
            continue
        if name == "ST":
            if parser is not None:
                raise MalformedFile(file, place, "ST before the SE of the previous transaction set")
            code = fields[1] if len(fields) > 1 else ""
            if code != "835":
                raise MalformedFile(file, place, f"transaction set {code or '(none)'} is not an 835 remittance")
            if (version or (fields[3] if len(fields) > 3 else "")) != _IMPLEMENTATION:
                raise MalformedFile(file, place, f"only the {_IMPLEMENTATION} implementation of the 835 is read")
            parser = create_parser("835", _IMPLEMENTATION, delimiters)
            transaction, loops, area = [], [None, None, None], "header"
        if parser is None:
            raise MalformedFile(file, place, "segment outside a transaction set (ST … SE)")
        area, loops = _advance(name, fields, area, loops)
        transaction.append(_Segment(number, name, (loops[0], loops[1], loops[2]), area))
        try:
            model = parser.parse(name, fields)
        except ValidationError as error:
            raise MalformedFile(file, *_locate(error, transaction)) from None
        except (X12ParseException, KeyError, IndexError, ValueError, AttributeError, TypeError) as error:
            # x12sdk's loop parsers fail in these ways on a segment cut short or out of place (found by fuzzing)
            problem = (
                str(error) if isinstance(error, X12ParseException) else f"not a valid {name} segment in this place"
            )
            raise MalformedFile(file, place, problem) from None
        if name == "SE":
            parser = None
            yield model, transaction
    if number == 0:
        raise MalformedFile(file, "segment 1", "the file holds no segments")
    if parser is not None or open_envelopes:
        missing = "SE" if parser is not None else ("IEA" if open_envelopes[0] == "ISA" else "GE")
        raise MalformedFile(file, f"segment {number + 1}", f"the file ends before its {missing} segment")


def _advance(name: str, fields: Sequence[str], area: str, loops: list[int | None]) -> tuple[str, list[int | None]]:
    """Which part of the 835 a segment opens or stays in, and the index of each enclosing loop."""
    entity = fields[1] if len(fields) > 1 else ""
    if name == "N1" and area in ("header", "loop_1000a") and entity == "PR":
        return "loop_1000a", loops
    if name == "N1" and entity == "PE":
        return "loop_1000b", loops
    if name == "LX":
        return "detail", [(loops[0] + 1) if loops[0] is not None else 0, None, None]
    if name == "CLP" and area == "detail":
        return area, [loops[0], (loops[1] + 1) if loops[1] is not None else 0, None]
    if name == "SVC" and area == "detail":
        return area, [loops[0], loops[1], (loops[2] + 1) if loops[2] is not None else 0]
    if name in ("PLB", "SE"):
        return "footer", [None, None, None]
    return area, loops


def _locate(error: ValidationError, transaction: Sequence[_Segment]) -> tuple[str, str]:
    """The segment a validation problem is about, and the problem in words (never the value: it may be PHI)."""
    problem = error.errors()[0]
    loc = problem["loc"]
    wanted: list[int | None] = [None, None, None]
    area = "detail" if loc and loc[0] in _LOOPS else str(loc[0]) if loc else "footer"
    segment_name: str | None = None
    repeat = 0
    field = ""
    for position, part in enumerate(loc):
        following = loc[position + 1] if position + 1 < len(loc) else None
        if part in _LOOPS and isinstance(following, int):
            wanted[_LOOPS.index(str(part))] = following
        elif isinstance(part, str) and part.endswith("_segment") and segment_name is None:
            segment_name = part.removesuffix("_segment").upper()
            repeat = following if isinstance(following, int) else 0
        elif isinstance(part, str) and segment_name is not None and not part.endswith("_segment"):
            field = part
    depth = max((i + 1 for i, index in enumerate(wanted) if index is not None), default=0)
    candidates = [
        s
        for s in transaction
        if s.area == area and all(s.loops[i] == wanted[i] for i in range(3) if i < depth or s.area == "detail")
    ]
    if segment_name is not None:
        named = [s for s in candidates if s.name == segment_name]
        candidates = named[repeat : repeat + 1] or named or candidates
    if not loc:  # a rule over the whole transaction set (its segment count): the SE segment states it
        candidates = [s for s in transaction if s.name == "SE"] or list(transaction[-1:])
    segment = candidates[0] if candidates else transaction[-1]
    words = f"{field}: {problem['msg']}" if field else str(problem["msg"])
    return f"segment {segment.number} ({segment.name})", words


def _lines(
    model: HealthCareClaimPayment, segments: Sequence[_Segment], component: str, codes: frozenset[str], file: str
) -> Iterator[RemittanceLine]:
    payer = model.loop_1000a.n1_segment.name
    for i, header in enumerate(model.loop_2000):
        for j, claim in enumerate(header.loop_2100):
            for k, line in enumerate(claim.loop_2110 or []):
                parts = line.svc_segment.composite_medical_procedure_identifier_1.split(component)
                code = parts[1] if len(parts) > 1 else ""
                if code not in codes:
                    continue
                svc = next(s for s in segments if s.name == "SVC" and s.loops == (i, j, k))
                try:
                    service_date = _service_date(claim, line)
                except ValueError:
                    raise MalformedFile(
                        file, f"segment {svc.number} (SVC)", "the date of service of this line is not a CCYYMMDD date"
                    ) from None
                if service_date is None:
                    raise MalformedFile(
                        file, f"segment {svc.number} (SVC)", "a service line without a date of service (DTM*472)"
                    )
                modifiers = tuple(part for part in parts[2:] if part)
                yield _line(payer, claim, k + 1, line, code, modifiers, service_date)


def _line(
    payer: str,
    claim: Loop2100,
    number: int,
    line: Loop2110,
    code: str,
    modifiers: tuple[str, ...],
    service_date: date,
) -> RemittanceLine:
    svc = line.svc_segment
    clp = claim.clp_segment
    references = {
        _text(ref.reference_identification_qualifier): ref.reference_identification for ref in line.ref_segment or []
    }
    return RemittanceLine(
        source="x12-835",
        payer=payer,
        claim_id=clp.payer_claim_control_number or clp.patient_control_number,
        claim_status=_text(clp.claim_status_code),
        line_number=number,
        patient_reference=None,
        member_id=_member_id(claim),
        service_date=service_date,
        cpt=code,
        modifiers=modifiers,
        units=Decimal(svc.original_units_of_service_count or svc.units_of_service_paid_count or 1),
        billed=Decimal(svc.line_item_charge_amount),
        paid=Decimal(svc.line_item_provider_payment_amount),
        adjustments=tuple(_adjustments(line)),
        rarcs=tuple(dict.fromkeys([*(lq.form_identifier for lq in line.lq_segment or []), *_claim_remarks(claim)])),
        policy=references.get("0K"),
    )


def _member_id(claim: Loop2100) -> str | None:
    by_entity = {_text(nm1.entity_identifier_code): nm1 for nm1 in claim.nm1_segment}
    for entity in ("QC", "IL"):  # the patient; the insured when the patient is a dependent without an id of their own
        nm1 = by_entity.get(entity)
        if nm1 is not None and nm1.identification_code:
            return str(nm1.identification_code)
    return None


def _service_date(claim: Loop2100, line: Loop2110) -> date | None:
    for dtm in line.dtm_segment or []:
        if _text(dtm.date_time_qualifier) in ("472", "150"):
            return _x12_date(dtm.production_date)
    for claim_dtm in claim.dtm_segment or []:
        if _text(claim_dtm.date_time_qualifier) == "232":
            return _x12_date(claim_dtm.production_date)
    return None


def _text(value: object) -> str:
    """A code as the file wrote it: x12sdk gives code-list fields as enums."""
    return str(value.value) if isinstance(value, Enum) else str(value)


def _x12_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    return datetime.strptime(str(value), "%Y%m%d").date()


def _adjustments(line: Loop2110) -> Iterator[Adjustment]:
    for cas in line.cas_segment or []:
        group = _text(cas.adjustment_group_code)
        for pair in range(1, _CAS_PAIRS + 1):
            reason = getattr(cas, f"adjustment_reason_code_{pair}")
            amount = getattr(cas, f"monetary_amount_{pair}")
            if reason:
                yield Adjustment(group=group, carc=str(reason), amount=Decimal(amount or 0))


def _claim_remarks(claim: Loop2100) -> Iterator[str]:
    for segment in (claim.moa_segment, claim.mia_segment):
        if segment is None:
            continue
        for name, value in segment:
            if "remark_code" in name and value:
                yield str(value)

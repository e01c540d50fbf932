import msgspec
import orjson
import pytest

from cds_hooks.models import HookRequest

_PROCEDURES = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {"resourceType": "Procedure"}}]}


def _body(**fields: object) -> bytes:
    request = {"hook": "order-sign", "hookInstance": "h-1", "context": {"patientId": "p-1"}, **fields}
    return orjson.dumps(request)


def test_prefetch_values_stay_raw_json_slices_of_the_body() -> None:
    request = HookRequest.from_json(_body(prefetch={"procedures": _PROCEDURES, "patient": None}))

    assert request is not None
    assert request.prefetch is not None
    assert isinstance(request.prefetch["procedures"], msgspec.Raw)
    assert orjson.loads(bytes(request.prefetch["procedures"])) == _PROCEDURES
    assert bytes(request.prefetch["patient"]) == b"null"


def test_the_rest_of_the_request_is_read_as_the_model_reads_parsed_json() -> None:
    body = _body(fhirServer="https://ehr.example/fhir", fhirAuthorization={"access_token": "t", "subject": "c"})

    assert HookRequest.from_json(body) == HookRequest.model_validate(orjson.loads(body))


def test_field_names_are_accepted_as_the_model_accepts_them() -> None:
    body = orjson.dumps({"hook": "order-sign", "hook_instance": "h-1", "context": {"patientId": "p-1"}})

    request = HookRequest.from_json(body)

    assert request is not None
    assert request.hook_instance == "h-1"


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        _body(prefetch=["not", "an", "object"]),
        _body(context={"patientId": ""}),
        b'{"hook": "order-sign", "context": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    ],
    ids=["malformed", "not-an-object", "prefetch-not-an-object", "invalid-context", "too-deep"],
)
def test_a_body_it_cannot_read_is_left_to_the_ordinary_reading_that_words_the_error(body: bytes) -> None:
    assert HookRequest.from_json(body) is None

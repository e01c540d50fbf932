"""Resources out of whatever an EHR sends: a searchset Bundle, a single resource, a list, or nothing.

A value may still be raw JSON (`msgspec.Raw`, as prefetch values leave the request body): `opened` parses a Bundle
only down to its entries, whose resources stay raw until a reader decodes the fields it needs from their bytes.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator
from typing import Any, TypedDict

import msgspec
import orjson


# Only what the readers and the pager use: every other field of a Bundle is stepped over, not built.
class _Entry(TypedDict, total=False):
    resource: msgspec.Raw


class _Bundle(TypedDict, total=False):
    resourceType: Any
    link: Any
    entry: list[_Entry]


class _Identity(TypedDict, total=False):
    resourceType: Any
    id: Any


_BUNDLE = msgspec.json.Decoder(_Bundle)
_IDENTITY = msgspec.json.Decoder(_Identity)


def opened(value: Any) -> Any:
    """A value ready for `resources_in`: raw JSON holding a Bundle becomes the Bundle with raw entry resources;
    other raw JSON is parsed whole; anything already parsed is returned as it is."""
    if not isinstance(value, msgspec.Raw):
        return value
    try:
        bundle = _BUNDLE.decode(value)
    # Not an object, entries of another shape, deep nesting, or bytes that are not UTF-8 (a fetched page).
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return parsed(value)
    return bundle if bundle.get("resourceType") == "Bundle" else parsed(value)


# What a slice that no parser reads becomes: not a JSON object, so a reader skips it with a note.
UNREADABLE = "unreadable JSON"


def parsed(value: Any) -> Any:
    """Raw JSON as Python values, by orjson as when the whole body was parsed; anything else as it is.

    The body was well-formed JSON, so is each slice, but msgspec, which read the body, steps over numbers it would
    not convert and orjson refuses some that JSON allows (1e999 overflows a double); the standard library reads
    those as infinity, which the views then refuse where a number is needed.
    """
    if not isinstance(value, msgspec.Raw):
        return value
    try:
        return orjson.loads(memoryview(value))
    except orjson.JSONDecodeError:
        try:
            return json.loads(bytes(value))
        except (ValueError, RecursionError):
            return UNREADABLE


def _kind(resource: Any) -> Any:
    if isinstance(resource, msgspec.Raw):
        try:
            return _IDENTITY.decode(resource).get("resourceType")
        except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
            resource = parsed(resource)
    return resource.get("resourceType") if isinstance(resource, dict) else None


def resources_in(value: Any) -> Iterator[Any]:
    """Every entry resource of a Bundle (including `_include`d ones), a bare resource, or each item of a list.

    Items are yielded as found, dict or not, so the reader can count what it had to skip. Lists are flattened with
    a stack, not recursion: a request can nest them deeper than Python's recursion limit.
    """
    pending = [value]
    while pending:
        item = pending.pop()
        if item is None:
            continue
        if isinstance(item, list):
            pending.extend(reversed(item))
        elif isinstance(item, dict) and item.get("resourceType") == "Bundle":
            entries = item.get("entry")
            if isinstance(entries, list):
                yield from (entry.get("resource") if isinstance(entry, dict) else entry for entry in entries)
        else:
            yield item


def is_operation_outcome(value: Any) -> bool:
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"


def relative_reference(reference: str) -> str:
    """`Type/id` for a relative, absolute (`https://ehr/fhir/Type/id`) or versioned (`Type/id/_history/2`) reference,
    so references written either way match; `urn:uuid:` and contained (`#id`) references are returned as they are."""
    if reference.startswith(("urn:", "#")):
        return reference
    path = reference.partition("/_history/")[0].rstrip("/")
    parts = path.split("/")
    return "/".join(parts[-2:]) if len(parts) > 2 else path


def reference_of(resource: dict[str, Any]) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id')}"


def index_by_reference(resources: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """`Type/id` → resource, for resolving references within what the request already carries."""
    index: dict[str, dict[str, Any]] = {}
    for item in resources:
        resource = parsed(item)
        if isinstance(resource, dict) and isinstance(resource.get("id"), str) and resource.get("resourceType"):
            index[reference_of(resource)] = resource
    return index


def by_full_url(value: Any) -> dict[str, dict[str, Any]]:
    """`fullUrl` → resource for the entries of a Bundle: a reference written as an entry's full URL (`urn:uuid:…`)
    cannot be resolved by `Type/id`."""
    bundle = parsed(value)  # whole: `opened` keeps only each entry's resource
    entries = bundle.get("entry") if isinstance(bundle, dict) and bundle.get("resourceType") == "Bundle" else None
    index: dict[str, dict[str, Any]] = {}
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict) or not isinstance(entry.get("fullUrl"), str):
            continue
        resource = parsed(entry.get("resource"))
        if isinstance(resource, dict):
            index[entry["fullUrl"]] = resource
    return index


def separate_included(
    resources: Iterable[Any], included_types: Collection[str]
) -> tuple[list[Any], dict[str, dict[str, Any]]]:
    """A search's results apart from the resources `_include` brought along (those of `included_types`), the latter
    indexed by `Type/id` for resolving the results' references."""
    results: list[Any] = []
    included: list[Any] = []
    for resource in resources:
        kind = _kind(resource)
        is_included = isinstance(kind, str) and kind in included_types
        (included if is_included else results).append(resource)
    return results, index_by_reference(included)

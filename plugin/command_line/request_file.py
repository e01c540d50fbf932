"""A CDS Hooks request read from a file by the command line, as the service reads a request body."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
from pydantic import ValidationError

from cds_hooks.endpoints import describe_validation_error
from cds_hooks.models import HookRequest


def read_request_file(path: Path) -> HookRequest | None:
    """The request in `path`, or None after saying on stderr why it cannot be read (the caller exits 2)."""
    try:
        body = path.read_bytes()
        # Read as the service reads a request body; the ordinary reading words what is wrong with one it cannot.
        return HookRequest.from_json(body) or HookRequest.model_validate(orjson.loads(body))
    except OSError as error:
        print(f"epidural-cds: cannot read {path}: {error.strerror}", file=sys.stderr)
    except orjson.JSONDecodeError as error:
        print(f"epidural-cds: {path} is not valid JSON: {error}", file=sys.stderr)
    except ValidationError as error:
        print(f"epidural-cds: {path} is not a CDS Hooks request: {describe_validation_error(error)}", file=sys.stderr)
    return None

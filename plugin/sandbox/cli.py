"""`epidural-cds sandbox ...` commands."""

from __future__ import annotations

import argparse
from typing import Any


def add_sandbox_commands(commands: Any) -> None:
    sandbox: argparse.ArgumentParser = commands.add_parser(
        "sandbox", help="load scenario patients into a FHIR server and run hooks"
    )
    sandbox.set_defaults(run=lambda arguments: 2)

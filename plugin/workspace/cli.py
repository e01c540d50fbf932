"""`epidural-cds workspace hash-password`: the argon2 hash to put in `[workspace.local_user] password_hash`."""

from __future__ import annotations

import argparse
import getpass
import sys


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    workspace = subparsers.add_parser("workspace", help="the operators' browser workspace")
    actions = workspace.add_subparsers(required=True, metavar="ACTION")
    hashing = actions.add_parser(
        "hash-password", help="print an argon2 hash of a password (read from the terminal, or standard input)"
    )
    hashing.set_defaults(run=_hash_password)


def _hash_password(arguments: argparse.Namespace) -> int:
    # Never an argument: a password on the command line is left in shell history and the process list.
    password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    if len(password) < 12:
        print("epidural-cds workspace: use a password of at least 12 characters", file=sys.stderr)
        return 2
    # Every worker imports the command line; argon2 and Authlib load only for this action.
    from plugin.workspace.operators import hash_password  # noqa: PLC0415

    print(hash_password(password))
    return 0

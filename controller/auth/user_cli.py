"""``lanesort user add|list|remove|passwd|role|disable|enable``: HMI users, on the controller host.

Passwords are asked twice at the terminal (never echoed), or read as one line from
standard input with ``--password-stdin`` (for scripts: ``printf '%s\\n' "$PW" | lanesort
user add --name ann --role supervisor --password-stdin``). They are never passed as an
argument, where ``ps`` and the shell history would show them.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time

from controller.auth.users import USER_ROLES, UserStore
from controller.errors import UserError

_ROLES = "|".join(r.value for r in USER_ROLES)


def read_password(name: str, from_stdin: bool) -> str:
    """The new password of ``name``: one line of stdin, or typed twice at the terminal."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise UserError("--password-stdin: no password on standard input")
        return password
    try:
        password = getpass.getpass(f"new password for {name}: ")
        again = getpass.getpass(f"new password for {name} (again): ")
    except (EOFError, KeyboardInterrupt) as err:
        raise UserError("no password given") from err
    if password != again:
        raise UserError("the two passwords differ; nothing changed")
    return password


def cmd_user(args: argparse.Namespace, store: UserStore) -> int:
    """Run one user subcommand against ``store``."""
    command = args.user_command
    if command == "add":
        info = store.add(args.name, args.role, read_password(args.name, args.password_stdin))
        print(f"user {info.name!r} ({info.role.value}) added in {store.path}", file=sys.stderr)
    elif command == "passwd":
        info = store.set_password(args.name, read_password(args.name, args.password_stdin))
        print(f"password of {info.name!r} changed", file=sys.stderr)
    elif command == "role":
        info = store.set_role(args.name, args.role)
        print(f"user {info.name!r} is now {info.role.value}", file=sys.stderr)
    elif command in ("disable", "enable"):
        info = store.set_disabled(args.name, command == "disable")
        print(f"user {info.name!r} {command}d", file=sys.stderr)
    elif command == "remove":
        info = store.remove(args.name)
        print(f"user {info.name!r} ({info.role.value}) removed", file=sys.stderr)
    else:
        users = store.list()
        for info in users:
            created = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.created))
            state = "disabled" if info.disabled else "active"
            print(f"{info.name:24} {info.role.value:10} {created}  {state}")
        if not users:
            print(f"no users in {store.path}; add one with: lanesort user add", file=sys.stderr)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``user`` subcommand and its own subcommands."""
    p = sub.add_parser("user", help="add, list, change or remove HMI users")
    usub = p.add_subparsers(dest="user_command", required=True)
    for name, helptext in (
        ("add", "add a user; the password is asked twice (or --password-stdin)"),
        ("list", "list users (never their passwords or hashes)"),
        ("remove", "remove a user"),
        ("passwd", "set a user's password (also ends a lockout)"),
        ("role", "change a user's role"),
        ("disable", "refuse a user's logins, keep the account"),
        ("enable", "let a disabled user log in again"),
    ):
        u = usub.add_parser(name, help=helptext)
        u.add_argument("--config", help="line config YAML (default: the demo line)")
        u.add_argument("--site", help="site config YAML: the site service's own users instead")
        u.add_argument("--data-dir", help="overrides line.data_dir")
        if name == "add":
            u.add_argument("--name", required=True, help="login name (e.g. ann)")
        elif name != "list":
            u.add_argument("name", help="login name")
        if name in ("add", "role"):
            u.add_argument("--role", required=True, metavar=_ROLES, help=f"one of {_ROLES}")
        if name in ("add", "passwd"):
            u.add_argument(
                "--password-stdin",
                action="store_true",
                help="read the password as one line from standard input (for scripts)",
            )
    return p

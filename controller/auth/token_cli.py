"""``lanesort token create|list|revoke``: API tokens, managed on the controller host."""

from __future__ import annotations

import argparse
import sys
import time

from controller.auth.tokens import Role, TokenStore


def cmd_token(args: argparse.Namespace, store: TokenStore) -> int:
    """Run one token subcommand against ``store``."""
    if args.token_command == "create":
        token = store.create(args.name, args.role)
        print(token)
        print(
            f"token {args.name!r} with role {args.role} created in {store.path}. "
            "It is shown only now: store it in your TMS's secret store.",
            file=sys.stderr,
        )
        return 0
    if args.token_command == "revoke":
        info = store.revoke(args.name)
        print(f"token {info.name!r} ({info.role.value}) revoked", file=sys.stderr)
        return 0
    for info in store.list():
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.created))
        state = "revoked" if info.revoked else "active"
        print(f"{info.name:24} {info.role.value:10} {info.id}  {created}  {state}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``token`` subcommand and its own subcommands."""
    p = sub.add_parser("token", help="create, list or revoke API tokens")
    tsub = p.add_subparsers(dest="token_command", required=True)
    for name, helptext in (
        ("create", "create a token; it is printed once, never again"),
        ("list", "list tokens (never their secrets)"),
        ("revoke", "revoke a token by name or id"),
    ):
        t = tsub.add_parser(name, help=helptext)
        t.add_argument("--config", help="line config YAML (default: the demo line)")
        t.add_argument("--site", help="site config YAML: the site service's own tokens instead")
        t.add_argument("--data-dir", help="overrides line.data_dir")
        if name == "create":
            t.add_argument("--name", required=True, help="who uses it (e.g. tms-prod)")
            t.add_argument("--role", required=True, choices=[r.value for r in Role])
        elif name == "revoke":
            t.add_argument("name", help="token name or id")
    return p

"""``ecmo-monitor users``: who may sign in, with which role."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from monitor.cli.common import UsageError, default_data_dir, open_store
from monitor.store import AuthError, Users


def add_parser(sub) -> None:
    users = sub.add_parser("users", help="manage who may sign in")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="add a user (PIN prompted unless --pin)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=("viewer", "specialist", "qa"))
    add.add_argument("--pin", default=None, help="4 to 12 digits (prompted when not given)")
    add.add_argument("--data-dir", default=default_data_dir())
    lst = users_sub.add_parser("list", help="list users and roles")
    lst.add_argument("--data-dir", default=default_data_dir())


def command(args: argparse.Namespace) -> int:
    store = open_store(Path(args.data_dir))
    users = Users(store)
    if args.users_command == "list":
        for record in store.users():
            print(f"{record.name}\t{record.role}")
        return 0
    pin = args.pin
    if pin is None:
        pin = getpass.getpass(f"PIN for {args.name}: ")
        if getpass.getpass("Same PIN again: ") != pin:
            raise UsageError("The two PINs differ; nothing was saved.")
    try:
        user = users.add(args.name, args.role, pin)
    except AuthError as exc:
        raise UsageError(str(exc)) from None
    print(f"added {user.name} ({user.role}) to {store.path}", file=sys.stderr)
    return 0

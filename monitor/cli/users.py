"""``ecmo-monitor users``: who may sign in, with which role."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from monitor.cli.common import UsageError, open_store
from monitor.store import AuthError, Users


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

"""``ecmo-monitor users``: who may sign in, with which role."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from monitor.cli.common import UsageError, open_store
from monitor.present import when_text
from monitor.store import AuthError, Users


def command(args: argparse.Namespace) -> int:
    store = open_store(Path(args.data_dir))
    users = Users(store)
    try:
        if args.users_command == "list":
            for record in store.users():
                last = store.last_sign_in(record.name)
                seen = (
                    "never signed in" if last is None else f"last signed in {when_text(last)} UTC"
                )
                print(f"{record.name}\t{record.role}\t{seen}")
        elif args.users_command == "remove":
            users.remove(args.name)
            print(f"removed {args.name}; their sign-ins have ended", file=sys.stderr)
        elif args.users_command == "set-pin":
            users.set_pin(args.name, _pin(args))
            print(f"new PIN for {args.name}; their sign-ins have ended", file=sys.stderr)
        else:
            user = users.add(args.name, args.role, _pin(args))
            print(f"added {user.name} ({user.role}) to {store.path}", file=sys.stderr)
    except AuthError as exc:
        raise UsageError(str(exc)) from None
    return 0


def _pin(args: argparse.Namespace) -> str:
    if args.pin is not None:
        return args.pin
    pin = getpass.getpass(f"PIN for {args.name}: ")
    if getpass.getpass("Same PIN again: ") != pin:
        raise UsageError("The two PINs differ; nothing was saved.")
    return pin

"""The ``ecmo-monitor`` command line: one module per command.

Results go to standard output; warnings, progress and errors to standard error. A problem
the user can fix is one sentence on standard error and exit status 2, never a traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys

from adapters import TelemetryError
from monitor.cli.common import UsageError
from monitor.cli.parser import COMMANDS, build_parser
from monitor.store import StoreError

__all__ = ["UsageError", "build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per refresh is noise
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        # no command: the dashboard replaying the bundled stable sample, in a loop
        argv = ["run", "--replay", "", "--loop", *argv]
    args = parser.parse_args(argv)
    if args.command not in COMMANDS:
        parser.print_help()
        return 2
    try:
        return importlib.import_module(f"monitor.cli.{args.command}").command(args)
    except (TelemetryError, StoreError) as exc:
        print(f"ecmo-monitor: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130

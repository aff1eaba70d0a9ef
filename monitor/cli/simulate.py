"""``ecmo-monitor simulate``: a scenario of the circuit model to a CSV file or a serial port."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from adapters import simulate, stream_to_port, write_dataframe
from monitor.cli.common import UsageError


def command(args: argparse.Namespace) -> int:
    if args.duration <= 0:
        raise UsageError("--duration must be a positive number of hours.")
    start = None
    if args.start:
        try:
            start = pd.Timestamp(args.start).to_pydatetime()
        except ValueError:
            raise UsageError(f"--start {args.start!r} is not an ISO 8601 time.") from None
    frame = simulate(args.scenario, duration_s=args.duration * 3600, start=start, seed=args.seed)
    if args.out:
        try:
            write_dataframe(frame, args.out)
        except OSError as exc:
            raise UsageError(f"{args.out}: cannot be written ({exc.strerror}).") from None
        print(f"wrote {len(frame)} rows of {args.scenario} to {args.out}", file=sys.stderr)
        return 0
    print(
        f"streaming {args.scenario} to {args.serial} as {args.protocol} at {args.speed:g}x",
        file=sys.stderr,
    )
    try:
        stream_to_port(frame, args.serial, args.protocol, speed=args.speed, baud=args.baud)
    except KeyboardInterrupt:
        return 0
    return 0

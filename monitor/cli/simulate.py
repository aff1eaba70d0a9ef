"""``ecmo-monitor simulate``: a scenario of the circuit model to a CSV file or a serial port."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from adapters import simulate, stream_to_port, write_dataframe
from monitor.cli.common import UsageError


def add_parser(sub) -> None:
    sim = sub.add_parser(
        "simulate", help="write a simulated scenario to a CSV file or a serial port"
    )
    sim.add_argument("scenario")
    target = sim.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", metavar="FILE", help="CSV file to write")
    target.add_argument("--serial", metavar="PORT", help="serial port to write to at real time")
    sim.add_argument("--protocol", default="keyvalue", help="delimited, keyvalue or framed")
    sim.add_argument("--duration", type=float, default=4.0, help="hours to simulate (default 4)")
    sim.add_argument("--speed", type=float, default=1.0, help="serial only: times real time")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--baud", type=int, default=115200)
    sim.add_argument(
        "--start", default=None, help="ISO 8601 start time (default 2026-01-01T08:00Z)"
    )


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

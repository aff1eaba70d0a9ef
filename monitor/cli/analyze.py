"""``ecmo-monitor analyze``: a whole recording (or a folder of them) through the rules."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monitor.cli.common import UsageError
from monitor.reports import (
    ENGINES,
    FORMATS,
    folder_command,
    read_acknowledgements,
    render,
    run_analysis,
)


def add_parser(sub) -> None:
    ana = sub.add_parser("analyze", help="run the rules over a whole recording (QA)")
    ana.add_argument(
        "file",
        metavar="FILE_OR_DIR",
        help="a recording, or a folder: every *.csv in it, one summary row each",
    )
    ana.add_argument(
        "--alarm-log",
        metavar="DATA_DIR",
        help="the session's data directory (or its ecmo-monitor.db): who acknowledged what",
    )
    ana.add_argument("--labs", metavar="FILE", help="lab results: timestamp,analyte,value,unit")
    ana.add_argument(
        "--config", metavar="FILE", help="rules settings (TOML) over the shipped defaults"
    )
    ana.add_argument(
        "--profile", default=None, help="column profile (detected from the header if not given)"
    )
    ana.add_argument("--engine", choices=ENGINES, default="batch")
    ana.add_argument("--format", choices=FORMATS, default="json")
    ana.add_argument(
        "--weight", type=float, default=None, help="patient weight in kg (flow in mL/kg/min)"
    )
    ana.add_argument(
        "--out", metavar="FILE", help="write the result here instead of standard output"
    )


def command(args: argparse.Namespace) -> int:
    if args.weight is not None and not 1 <= args.weight <= 300:
        raise UsageError("--weight must be between 1 and 300 kg.")
    status = 0
    if Path(args.file).is_dir():
        text, status = folder_command(args)
    else:
        result = run_analysis(
            args.file,
            labs=args.labs,
            config=args.config,
            profile=args.profile,
            engine=args.engine,
            weight_kg=args.weight,
        )
        for line in result.report.summary_lines():
            print(line, file=sys.stderr)
        if result.labs_report is not None:
            for line in result.labs_report.summary_lines():
                print(line, file=sys.stderr)
        acks = None if args.alarm_log is None else read_acknowledgements(args.alarm_log)
        text = render(result, args.format, acks)
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{args.out}: cannot be written ({exc.strerror}).") from None
        print(f"wrote {args.format} analysis of {args.file} to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return status

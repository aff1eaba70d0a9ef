"""``ecmo-monitor analyze``: a whole recording (or a folder of them) through the rules."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monitor.cli.common import UsageError
from monitor.reports import read_acknowledgements, render, run_analysis


def command(args: argparse.Namespace) -> int:
    if args.weight is not None and not 1 <= args.weight <= 300:
        raise UsageError("--weight must be between 1 and 300 kg.")
    status = 0
    if Path(args.file).is_dir():
        from monitor.reports import folder_command  # a folder's summary: only for a folder

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

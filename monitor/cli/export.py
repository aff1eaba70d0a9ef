"""``ecmo-monitor export``: recordings to a research table (CLIF 3.0 mcs or 2.1 ecmo_mcs)."""

from __future__ import annotations

import argparse
import sys

from monitor.cli.common import UsageError
from monitor.reports import export_clif, write_clif


def command(args: argparse.Namespace) -> int:
    if not 1 <= args.interval_min <= 24 * 60:
        raise UsageError("--interval-min must be between 1 and 1440 minutes.")
    result = export_clif(
        args.file,
        hospitalization_id=args.hospitalization_id,
        device_category=args.device_category,
        version=args.clif_version,
        device_name=args.device_name,
        interval_s=args.interval_min * 60.0,
        profile=args.profile,
    )
    written = write_clif(result, args.out, args.clif_version)
    for line in result.summary_lines():
        print(line, file=sys.stderr)
    print(f"wrote CLIF {args.clif_version} {', '.join(str(p) for p in written)}", file=sys.stderr)
    return 0

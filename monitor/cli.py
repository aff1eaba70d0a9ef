"""The ``ecmo-monitor`` command line.

Results go to standard output; warnings, progress and errors to standard error. A problem
the user can fix is one sentence on standard error and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from adapters import TelemetryError

from .store import StoreError

DEFAULT_DATA_DIR = "./ecmo-data"
DATA_DIR_VARIABLE = "ECMO_MONITOR_DATA_DIR"
SAMPLES = Path(__file__).resolve().parents[1] / "sample_streams"

log = logging.getLogger("ecmo_monitor")


class UsageError(TelemetryError):
    """A command line that cannot be carried out as given."""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        default=os.environ.get(DATA_DIR_VARIABLE, DEFAULT_DATA_DIR),
        help=f"where recordings and the database live (default {DEFAULT_DATA_DIR}, "
        f"or ${DATA_DIR_VARIABLE})",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to serve the page on")
    parser.add_argument("--port", type=int, default=8050, help="port to serve the page on")
    parser.add_argument("--bed-label", default="Bed 1", help="bed label shown in the header")
    parser.add_argument("--weight", type=float, default=None, help="patient weight in kg")
    parser.add_argument(
        "--config", metavar="FILE", help="rules settings (TOML) over the shipped defaults"
    )
    parser.add_argument(
        "--dev", action="store_true", help="Dash developer tools (never at a bedside)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecmo-monitor",
        description="Bedside monitor for venovenous ECMO circuits. With no command: the "
        "dashboard on http://127.0.0.1:8050 replaying the bundled stable sample.",
    )
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="monitor a serial console or replay a recording")
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("--serial", metavar="PORT", help="serial port name or pyserial URL")
    source.add_argument("--replay", metavar="FILE", help="recorded CSV session to replay")
    run.add_argument(
        "--profile",
        default=None,
        help="column profile: keyvalue, canonical, generic, cardiohelp, framed",
    )
    run.add_argument(
        "--protocol",
        default=None,
        help="serial protocol: delimited, keyvalue or framed (default from the profile)",
    )
    run.add_argument("--baud", type=int, default=115200)
    run.add_argument(
        "--quiet-time",
        type=float,
        default=5.0,
        help="seconds without a valid frame before 'no data'",
    )
    run.add_argument("--capture", metavar="FILE", help="also append the raw serial bytes to FILE")
    run.add_argument(
        "--speed", type=float, default=1.0, help="replay speed factor; 0 = as fast as possible"
    )
    run.add_argument("--loop", action="store_true", help="replay again from the start at the end")
    run.add_argument("--no-record", action="store_true", help="do not record a live session")
    _common(run)

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
    ana.add_argument("--engine", choices=("batch", "incremental"), default="batch")
    ana.add_argument("--format", choices=("json", "csv", "html"), default="json")
    ana.add_argument(
        "--weight", type=float, default=None, help="patient weight in kg (flow in mL/kg/min)"
    )
    ana.add_argument(
        "--out", metavar="FILE", help="write the result here instead of standard output"
    )

    users = sub.add_parser("users", help="manage who may sign in")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="add a user (PIN prompted unless --pin)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=("viewer", "specialist", "qa"))
    add.add_argument("--pin", default=None, help="4 to 12 digits (prompted when not given)")
    add.add_argument("--data-dir", default=os.environ.get(DATA_DIR_VARIABLE, DEFAULT_DATA_DIR))
    lst = users_sub.add_parser("list", help="list users and roles")
    lst.add_argument("--data-dir", default=os.environ.get(DATA_DIR_VARIABLE, DEFAULT_DATA_DIR))
    return parser


def _bundled_stable(data_dir: Path) -> Path:
    sample = SAMPLES / "stable.csv"
    if sample.exists():
        return sample
    from adapters.simulator import write_csv

    fallback = data_dir / "samples" / "stable.csv"
    if not fallback.exists():
        fallback.parent.mkdir(parents=True, exist_ok=True)
        print(f"bundled sample not found; simulating one at {fallback}", file=sys.stderr)
        write_csv("stable", fallback, duration_s=4 * 3600)
    return fallback


def _store(data_dir: Path):
    from .store import AlarmStore, StoreError

    try:
        return AlarmStore(data_dir)
    except StoreError as exc:
        raise UsageError(str(exc)) from None


def _session(source, args, recorder=None):
    from rules import IncrementalEngine, load_config

    from .session import Session

    config = load_config(args.config)
    if getattr(args, "serial", None) and args.quiet_time is not None:
        # one quiet time for the header's NO DATA and the data_stale alarm
        config = config.override({"data_stale": {"live_quiet_s": args.quiet_time}}, "--quiet-time")
    engine = IncrementalEngine(config, weight_kg=args.weight)
    store = _store(Path(args.data_dir))
    return Session(
        source,
        recorder=recorder,
        engine=engine,
        store=store,
        bed_label=args.bed_label,
        weight_kg=args.weight,
    )


def _serve(session, args) -> int:
    from .app import create_app
    from .auth import Users, session_secret
    from .session import SessionRegistry

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: serving on {args.host} makes the monitor reachable from other machines; "
            "anyone who can reach this port can see patient data. Use only on a trusted network.",
            file=sys.stderr,
        )
    registry = SessionRegistry()
    registry.add(session)
    users = Users(session.store) if session.store is not None else None
    from .catalog import Catalog

    catalog = Catalog({"recordings": Path(args.data_dir) / "recordings", "samples": SAMPLES})
    app = create_app(
        registry, users=users, secret=session_secret(args.data_dir), dev=args.dev, catalog=catalog
    )
    session.start()
    print(
        f"ecmo-monitor: {session.source.description}; page on http://{args.host}:{args.port}",
        file=sys.stderr,
    )
    try:
        app.run(host=args.host, port=args.port, debug=args.dev, use_reloader=False)
    finally:
        session.stop()
    return 0


def cmd_run(args) -> int:
    data_dir = Path(args.data_dir)
    if args.serial is None:
        from adapters.replay import ReplaySource

        path = Path(args.replay) if args.replay else _bundled_stable(data_dir)
        source = ReplaySource(path, speed=args.speed, loop=args.loop, profile=args.profile)
        for line in source.recording.report.summary_lines():
            print(line, file=sys.stderr)
        return _serve(_session(source, args), args)

    from adapters.serial_source import SerialSource

    from .recorder import Recorder

    profile = args.profile or "keyvalue"
    source = SerialSource(
        args.serial,
        profile=profile,
        protocol=args.protocol,
        baud=args.baud,
        quiet_time=args.quiet_time,
        capture_path=args.capture,
    )
    recorder = None
    if not args.no_record:
        recorder = Recorder(data_dir, f"serial-{args.serial}")
        status = recorder.status()
        print(status.error or f"recording to {status.path}", file=sys.stderr)
    return _serve(_session(source, args, recorder), args)


def cmd_simulate(args) -> int:
    from adapters import simulator

    if args.duration <= 0:
        raise UsageError("--duration must be a positive number of hours.")
    start = None
    if args.start:
        import pandas as pd

        try:
            start = pd.Timestamp(args.start).to_pydatetime()
        except ValueError:
            raise UsageError(f"--start {args.start!r} is not an ISO 8601 time.") from None
    frame = simulator.simulate(
        args.scenario, duration_s=args.duration * 3600, start=start, seed=args.seed
    )
    if args.out:
        from adapters.recording import write_dataframe

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
        simulator.stream_to_port(
            frame, args.serial, args.protocol, speed=args.speed, baud=args.baud
        )
    except KeyboardInterrupt:
        return 0
    return 0


def cmd_analyze(args) -> int:
    from .analysis import read_acknowledgements, render, run_analysis

    if args.weight is not None and not 1 <= args.weight <= 300:
        raise UsageError("--weight must be between 1 and 300 kg.")
    status = 0
    if Path(args.file).is_dir():
        from .batch_cli import folder_command

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


def cmd_users(args) -> int:
    from .auth import AuthError, Users

    store = _store(Path(args.data_dir))
    users = Users(store)
    if args.users_command == "list":
        for record in store.users():
            print(f"{record.name}\t{record.role}")
        return 0
    pin = args.pin
    if pin is None:
        import getpass

        pin = getpass.getpass(f"PIN for {args.name}: ")
        if getpass.getpass("Same PIN again: ") != pin:
            raise UsageError("The two PINs differ; nothing was saved.")
    try:
        user = users.add(args.name, args.role, pin)
    except AuthError as exc:
        raise UsageError(str(exc)) from None
    print(f"added {user.name} ({user.role}) to {store.path}", file=sys.stderr)
    return 0


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
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "simulate":
            return cmd_simulate(args)
        if args.command == "analyze":
            return cmd_analyze(args)
        if args.command == "users":
            return cmd_users(args)
    except (TelemetryError, StoreError) as exc:
        print(f"ecmo-monitor: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())

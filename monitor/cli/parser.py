"""The command line's words: every command and its options, and nothing heavy.

The commands themselves are in one module each and only the one asked for is imported,
so ``analyze`` starts without Dash and ``--help`` without pandas.
"""

from __future__ import annotations

import argparse
import os

DEFAULT_DATA_DIR = "./ecmo-data"
DATA_DIR_VARIABLE = "ECMO_MONITOR_DATA_DIR"
#: The commands, each carried out by ``monitor.cli.<name>.command``.
COMMANDS = ("run", "simulate", "analyze", "export", "users", "central")
#: Where a NATS password may come from instead of the command line (which others can read).
NATS_PASSWORD_VARIABLE = "ECMO_NATS_PASSWORD"


def default_data_dir() -> str:
    return os.environ.get(DATA_DIR_VARIABLE, DEFAULT_DATA_DIR)


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        default=default_data_dir(),
        help=f"where recordings and the database live (default {DEFAULT_DATA_DIR}, "
        f"or ${DATA_DIR_VARIABLE})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecmo-monitor",
        description="Bedside monitor for venovenous ECMO circuits. With no command: the "
        "dashboard on http://127.0.0.1:8050 replaying the bundled stable sample.",
    )
    sub = parser.add_subparsers(dest="command")
    _run(sub)
    _simulate(sub)
    _analyze(sub)
    _export(sub)
    _users(sub)
    _central(sub)
    return parser


def add_broker(parser: argparse.ArgumentParser) -> None:
    """Who we are to the broker: a .creds file, or a user and password; a CA for tls://."""
    parser.add_argument("--nats-creds", metavar="FILE", help="NATS credentials file (.creds)")
    parser.add_argument("--nats-user", metavar="NAME", help="NATS user name")
    parser.add_argument(
        "--nats-password",
        metavar="PASSWORD",
        default=os.environ.get(NATS_PASSWORD_VARIABLE),
        help=f"NATS password (better: the variable ${NATS_PASSWORD_VARIABLE})",
    )
    parser.add_argument("--nats-ca", metavar="FILE", help="CA certificate for tls:// URLs")
    parser.add_argument(
        "--action-key",
        metavar="FILE",
        help="the key beds and central stations share to sign acknowledgements, events and "
        "labs asked for at a central (32 bytes or more)",
    )
    parser.add_argument(
        "--replicas", type=int, default=1, help="stream replicas when creating the streams"
    )


def _central(sub) -> None:
    central = sub.add_parser("central", help="the central station: every publishing bed")
    central.add_argument("--nats", metavar="URL", help="the broker, e.g. nats://127.0.0.1:4222")
    add_broker(central)
    central.add_argument("--host", default="127.0.0.1", help="address to serve the page on")
    central.add_argument("--port", type=int, default=8060, help="port to serve the page on")
    central.add_argument("--name", default="central", help="this station's name")
    central.add_argument(
        "--public-view",
        action="store_true",
        help="beyond loopback, let anyone who reaches the page view the beds without signing in",
    )
    central.add_argument(
        "--demo", action="store_true", help="start a local nats-server and simulated beds too"
    )
    central.add_argument("--beds", type=int, default=3, help="--demo: how many beds (1-12)")
    central.add_argument("--tls-cert", metavar="FILE", help="serve the page over HTTPS (PEM)")
    central.add_argument("--tls-key", metavar="FILE", help="the certificate's private key (PEM)")
    add_data_dir(central)
    central.add_argument(
        "--hl7",
        metavar="mllp://HOST:PORT",
        help="send every bed's observations and alarms to this HL7 interface engine",
    )
    central.add_argument(
        "--hl7-interval",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds of each bed's clock between observation reports (default 60)",
    )
    central.add_argument(
        "--patient-id",
        action="append",
        default=[],
        metavar="BED=ID",
        help="a bed's patient id (PID-3), once per bed; with --hl7 a bed without one sends nothing",
    )
    central.add_argument(
        "--device-id",
        action="append",
        default=[],
        metavar="BED=EUI64",
        help="a bed's EUI-64 in OBX-18 (default: one made from the bed id)",
    )


def _run(sub) -> None:
    run = sub.add_parser("run", help="monitor a serial console or replay a recording")
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("--serial", metavar="PORT", help="serial port name or pyserial URL")
    source.add_argument("--replay", metavar="FILE", help="recorded CSV session to replay")
    run.add_argument(
        "--profile",
        default=None,
        metavar="NAME|FILE.toml",
        help="column profile: keyvalue, canonical, generic, cardiohelp, framed, or a profile "
        "file describing another console (docs/profiles.md)",
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
        default=None,
        help="seconds without a valid frame before 'no data' and the data_stale alarm "
        "(default: the rules setting data_stale.live_quiet_s, 5 s)",
    )
    run.add_argument("--capture", metavar="FILE", help="also append the raw serial bytes to FILE")
    run.add_argument(
        "--speed", type=float, default=1.0, help="replay speed factor; 0 = as fast as possible"
    )
    run.add_argument("--loop", action="store_true", help="replay again from the start at the end")
    run.add_argument("--no-record", action="store_true", help="do not record a live session")
    add_data_dir(run)
    run.add_argument("--host", default="127.0.0.1", help="address to serve the page on")
    run.add_argument(
        "--tls-cert", metavar="FILE", help="serve the page over HTTPS with this certificate (PEM)"
    )
    run.add_argument("--tls-key", metavar="FILE", help="the certificate's private key (PEM)")
    run.add_argument("--port", type=int, default=8050, help="port to serve the page on")
    run.add_argument("--bed-label", default="Bed 1", help="bed label shown in the header")
    run.add_argument("--weight", type=float, default=None, help="patient weight in kg")
    run.add_argument(
        "--config", metavar="FILE", help="rules settings (TOML) over the shipped defaults"
    )
    run.add_argument("--dev", action="store_true", help="Dash developer tools (never at a bedside)")
    run.add_argument(
        "--bed-id", default="bed-1", help="this bed's id on the bus (letters, digits, - _)"
    )
    run.add_argument(
        "--publish", metavar="URL", help="publish to NATS JetStream for central stations"
    )
    add_broker(run)
    add_hl7(run)


def add_hl7(parser: argparse.ArgumentParser) -> None:
    """The HL7 v2 link to a hospital interface engine (off unless --hl7 is given)."""
    parser.add_argument(
        "--hl7",
        metavar="mllp://HOST:PORT",
        help="send IHE PCD-01 observations and ACM alarms to this HL7 interface engine",
    )
    parser.add_argument(
        "--hl7-interval",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds of the session's clock between observation reports (default 60)",
    )
    parser.add_argument("--patient-id", metavar="ID", help="the patient's id (PID-3); with --hl7")
    parser.add_argument(
        "--device-id",
        metavar="EUI64",
        default="0012210000000001",
        help="this monitor's EUI-64 (16 hex digits) in OBX-18 and MSH-3",
    )


def _simulate(sub) -> None:
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


def _analyze(sub) -> None:
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
        "--profile",
        default=None,
        metavar="NAME|FILE.toml",
        help="column profile or profile file (detected from the header if not given)",
    )
    ana.add_argument("--engine", choices=("batch", "incremental"), default="batch")
    ana.add_argument("--format", choices=("json", "csv", "html"), default="json")
    ana.add_argument(
        "--weight", type=float, default=None, help="patient weight in kg (flow in mL/kg/min)"
    )
    ana.add_argument(
        "--out", metavar="FILE", help="write the result here instead of standard output"
    )


def _export(sub) -> None:
    exp = sub.add_parser("export", help="research export of recordings (CLIF)")
    exp.add_argument(
        "file", metavar="FILE_OR_DIR", help="a recording, or a folder: every *.csv, one table"
    )
    exp.add_argument("--format", choices=("clif",), default="clif")
    exp.add_argument("--clif-version", choices=("3.0", "2.1"), default="3.0")
    exp.add_argument("--hospitalization-id", required=True, metavar="ID")
    exp.add_argument(
        "--device-category",
        required=True,
        metavar="CATEGORY",
        help="CLIF 3.0 device category: cardiohelp, rotaflow, centrimag, tandemheart, impella "
        "or durable",
    )
    exp.add_argument("--device-name", metavar="NAME", help="the console's name (default: category)")
    exp.add_argument(
        "--interval-min", type=float, default=60.0, help="charting interval (default 60 min)"
    )
    exp.add_argument(
        "--profile",
        default=None,
        metavar="NAME|FILE.toml",
        help="column profile or profile file (detected from the header if not given)",
    )
    exp.add_argument("--out", required=True, metavar="DIR", help="where the tables are written")


def _users(sub) -> None:
    users = sub.add_parser("users", help="manage who may sign in")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="add a user (PIN prompted unless --pin)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=("viewer", "specialist", "qa"))
    add.add_argument("--pin", default=None, help="4 to 12 digits (prompted when not given)")
    add.add_argument("--data-dir", default=default_data_dir())
    lst = users_sub.add_parser("list", help="list users, roles and their last sign-in")
    lst.add_argument("--data-dir", default=default_data_dir())
    remove = users_sub.add_parser("remove", help="remove a user; their sign-ins end")
    remove.add_argument("name")
    remove.add_argument("--data-dir", default=default_data_dir())
    set_pin = users_sub.add_parser("set-pin", help="give a user a new PIN; their sign-ins end")
    set_pin.add_argument("name")
    set_pin.add_argument("--pin", default=None, help="4 to 12 digits (prompted when not given)")
    set_pin.add_argument("--data-dir", default=default_data_dir())

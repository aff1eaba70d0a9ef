"""``ecmo-monitor central``: the central station, or with ``--demo`` a whole ward on one machine.

``--demo`` starts a local nats-server on a free loopback port with its store in a
temporary folder, N beds replaying different bundled scenarios (each its own
``ecmo-monitor run`` process publishing to the server, with its own page), and the
central page; Ctrl-C stops them all.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from monitor.cli.common import SAMPLES, UsageError, broker_settings, open_store
from monitor.cli.run import LOOPBACK, _tls

#: The bundled stories the demo beds play, one per bed in turn.
DEMO_SCENARIOS = (
    "gradual_oxygenator_thrombosis",
    "drainage_insufficiency",
    "stable",
    "return_line_kink",
    "pump_head_thrombosis",
    "acute_oxygenator_clot",
    "sensor_dropout",
    "oxygenator_exchange",
)
DEMO_SPEED = 20.0
#: The demo patients' weights (kg), so their tiles show flow in mL/kg/min too.
DEMO_WEIGHTS = (72.0, 64.0, 85.0, 58.0, 90.0, 77.0, 69.0, 81.0)


def command(args: argparse.Namespace) -> int:
    if args.demo:
        return _demo(args)
    if not args.nats:
        raise UsageError("Give the broker with --nats URL (or try the demo: --demo).")
    return _serve(args, args.nats)


def _serve(args: argparse.Namespace, url: str) -> int:
    from monitor.bus import read_action_key
    from monitor.central import CentralStation
    from monitor.store import Users, session_secret
    from monitor.web import create_central_app

    tls = _tls(args)
    settings = broker_settings(args, url, f"central {args.name}")
    store = open_store(Path(args.data_dir))
    public_view = args.public_view or args.host in LOOPBACK
    if args.host not in LOOPBACK:
        print(
            f"warning: serving the central station on {args.host}: "
            + (
                "anyone who reaches it sees every bed (--public-view)."
                if args.public_view
                else "viewing needs a sign-in."
            )
            + ("" if tls else " Without TLS PINs and patient data cross the network unencrypted."),
            file=sys.stderr,
        )
    key = read_action_key(args.action_key) if args.action_key else None
    ward = _ward_links(args)
    station = CentralStation(settings, name=args.name, action_key=key).start()
    links = ward(station).start() if ward else None
    app = create_central_app(
        station,
        users=Users(store),
        secret=session_secret(args.data_dir),
        public_view=public_view,
        name=args.name,
        secure_cookie=tls is not None,
        links=links,
    )
    scheme = "https" if tls else "http"
    print(
        f"ecmo-monitor: central station {args.name} reading {url.split('@')[-1]}; "
        f"page on {scheme}://{args.host}:{args.port}",
        file=sys.stderr,
    )
    try:
        app.run(host=args.host, port=args.port, debug=False, use_reloader=False, ssl_context=tls)
    finally:
        if links is not None:
            links.stop()
        station.stop()
    return 0


def _pairs(values: list[str], option: str, check=lambda text: text) -> dict[str, str]:
    """``BED=VALUE`` options as {bed: value}, each checked."""
    from monitor.bus import BusError, check_bed_id

    out: dict[str, str] = {}
    for item in values:
        bed, sep, value = item.partition("=")
        bed, value = bed.strip(), value.strip()
        if not sep or not value:
            raise UsageError(f"{option} takes BED=VALUE, not {item!r}.")
        try:
            check_bed_id(bed)
        except BusError:
            raise UsageError(
                f"{option}: {bed!r} is not a bed id (letters, digits, - and _)."
            ) from None
        if bed in out:
            raise UsageError(f"{option} names {bed} twice.")
        out[bed] = check(value)
    return out


def _ward_links(args: argparse.Namespace):
    """A maker of the central's HL7 links when ``--hl7`` is given (checked before the
    station starts), else None."""
    if not args.hl7:
        if args.patient_id or args.device_id:
            raise UsageError("--patient-id and --device-id are for --hl7.")
        return None
    from monitor.hl7 import WardLinks, check_device_id, check_interval, parse_url
    from rules import load_config

    parse_url(args.hl7)
    check_interval(args.hl7_interval)
    patients = _pairs(args.patient_id, "--patient-id")
    devices = _pairs(args.device_id, "--device-id", check_device_id)
    if not patients:
        raise UsageError("--hl7 needs --patient-id BED=ID for each bed to report (PID-3).")
    folder = Path(args.data_dir) / "hl7"
    min_flow = load_config(None).delta_p_rise.min_flow_lpm
    print(f"ecmo-monitor: HL7 link to {args.hl7} for {', '.join(sorted(patients))} ({folder})",
          file=sys.stderr)  # fmt: skip
    return lambda station: WardLinks(
        station, args.hl7, folder, patients, devices, min_flow_lpm=min_flow,
        interval_s=args.hl7_interval,
    )  # fmt: skip


def _demo(args: argparse.Namespace) -> int:
    from monitor.bus import LocalNatsServer, free_port, make_action_key
    from monitor.store import Users

    if not 1 <= args.beds <= 12:
        raise UsageError("--beds must be between 1 and 12.")

    def stop_all(_signum, _frame):  # a terminated demo stops its beds and server too
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_all)
    folder = Path(tempfile.mkdtemp(prefix="ecmo-central-demo-"))
    server = LocalNatsServer(folder / "nats").start()
    key_path = folder / "action.key"
    make_action_key(key_path)
    args.action_key = str(key_path)
    print(f"ecmo-monitor: demo nats-server on {server.url}, store in {folder}", file=sys.stderr)
    beds: list[subprocess.Popen] = []
    try:
        for i in range(args.beds):
            scenario = DEMO_SCENARIOS[i % len(DEMO_SCENARIOS)]
            port = free_port()
            command = [
                sys.executable, "-m", "monitor.cli", "run",
                "--replay", str(SAMPLES / f"{scenario}.csv"), "--speed", str(DEMO_SPEED), "--loop",
                "--bed-id", f"bed-{i + 1}", "--bed-label", f"Bed {i + 1}",
                "--weight", str(DEMO_WEIGHTS[i % len(DEMO_WEIGHTS)]), "--publish", server.url, "--port", str(port),
                "--data-dir", str(folder / f"bed-{i + 1}"), "--action-key", str(key_path),
            ]  # fmt: skip
            log = open(folder / f"bed-{i + 1}.log", "ab")  # noqa: SIM115 - the child writes it
            beds.append(
                subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=os.environ)
            )
            log.close()
            print(
                f"ecmo-monitor: Bed {i + 1} plays {scenario} at {DEMO_SPEED:g}x, its page on "
                f"http://127.0.0.1:{port}",
                file=sys.stderr,
            )
        args.data_dir = str(folder / "central")
        pin = f"{secrets.randbelow(10**6):06d}"
        Users(open_store(Path(args.data_dir))).add("specialist", "specialist", pin)
        print(
            f"ecmo-monitor: sign in at the central as 'specialist' with PIN {pin} to "
            "acknowledge, record events and labs",
            file=sys.stderr,
        )
        return _serve(args, server.url)
    except KeyboardInterrupt:
        return 130
    finally:
        for bed in beds:
            bed.terminate()
        for bed in beds:
            try:
                bed.wait(10)
            except subprocess.TimeoutExpired:
                bed.kill()
        server.stop()

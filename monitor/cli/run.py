"""``ecmo-monitor run``: monitor a serial console or replay a recording, with the page."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from adapters import ReplaySource, SerialSource, write_csv
from monitor.cli.common import SAMPLES, UsageError, broker_settings, open_store
from monitor.runtime import Catalog, QaReplays, Recorder, Session, SessionRegistry
from monitor.store import Users, session_secret
from monitor.web import create_app
from rules import IncrementalEngine, RulesConfig, load_config

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def command(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    config = _config(args)
    if args.publish:
        from monitor.bus import check_bed_id

        check_bed_id(args.bed_id)
    if args.serial is None:
        path = Path(args.replay) if args.replay else _bundled_stable(data_dir)
        source = ReplaySource(path, speed=args.speed, loop=args.loop, profile=args.profile)
        for line in source.recording.report.summary_lines():
            print(line, file=sys.stderr)
        return _serve(_session(source, args, config), args)
    source = SerialSource(
        args.serial,
        profile=args.profile or "keyvalue",
        protocol=args.protocol,
        baud=args.baud,
        # one quiet time, the rules', for the header's NO DATA and the data_stale alarm
        quiet_time=config.data_stale.live_quiet_s,
        capture_path=args.capture,
    )
    recorder = None
    if not args.no_record:
        recorder = Recorder(data_dir, f"serial-{args.serial}")
        status = recorder.status()
        print(status.error or f"recording to {status.path}", file=sys.stderr)
    return _serve(_session(source, args, config, recorder), args)


def _config(args: argparse.Namespace) -> RulesConfig:
    config = load_config(args.config)
    if args.quiet_time is not None:
        config = config.override({"data_stale": {"live_quiet_s": args.quiet_time}}, "--quiet-time")
    return config


def _bundled_stable(data_dir: Path) -> Path:
    sample = SAMPLES / "stable.csv"
    if sample.exists():
        return sample
    fallback = data_dir / "samples" / "stable.csv"
    if not fallback.exists():
        fallback.parent.mkdir(parents=True, exist_ok=True)
        print(f"bundled sample not found; simulating one at {fallback}", file=sys.stderr)
        write_csv("stable", fallback, duration_s=4 * 3600)
    return fallback


def _session(source, args, config: RulesConfig, recorder=None) -> Session:
    return Session(
        source,
        recorder=recorder,
        engine=IncrementalEngine(config, weight_kg=args.weight),
        store=open_store(Path(args.data_dir), args.bed_id),
        bed_id=args.bed_id,
        bed_label=args.bed_label,
        weight_kg=args.weight,
    )


def _tls(args: argparse.Namespace) -> tuple[str, str] | None:
    """The certificate and key to serve HTTPS with, checked; None for plain HTTP."""
    if not args.tls_cert and not args.tls_key:
        return None
    if not (args.tls_cert and args.tls_key):
        raise UsageError("Give both --tls-cert and --tls-key to serve the page over HTTPS.")
    for flag, path in (("--tls-cert", args.tls_cert), ("--tls-key", args.tls_key)):
        if not Path(path).is_file():
            raise UsageError(f"{flag} {path}: no such file.")
    return args.tls_cert, args.tls_key


def _serve(session: Session, args: argparse.Namespace) -> int:
    tls = _tls(args)
    if args.host not in LOOPBACK:
        print(
            f"warning: serving on {args.host} makes the monitor reachable from other machines; "
            "anyone who can reach this port can see patient data. Use only on a trusted network."
            + (
                ""
                if tls
                else " Without TLS (--tls-cert, --tls-key) PINs and patient data cross the "
                "network unencrypted."
            ),
            file=sys.stderr,
        )
    registry = SessionRegistry()
    registry.add(session)
    users = Users(session.store) if session.store is not None else None
    catalog = Catalog({"recordings": Path(args.data_dir) / "recordings", "samples": SAMPLES})
    replays = QaReplays()
    app = create_app(
        registry,
        users=users,
        secret=session_secret(args.data_dir),
        dev=args.dev,
        catalog=catalog,
        replays=replays,
        secure_cookie=tls is not None,
    )
    link = _hl7_link(session, args)
    session.start()
    if link is not None:
        link.start()
    publisher = _publisher(session, args)
    scheme = "https" if tls else "http"
    print(
        f"ecmo-monitor: {session.source.description}; page on {scheme}://{args.host}:{args.port}",
        file=sys.stderr,
    )
    try:
        app.run(host=args.host, port=args.port, debug=args.dev, use_reloader=False, ssl_context=tls)
    finally:
        if publisher is not None:
            publisher.stop()
        if link is not None:
            link.stop()
        replays.close_all()
        session.stop()
    return 0


def _hl7_link(session: Session, args: argparse.Namespace):
    """The bed's HL7 link, checked and ready to start, when ``--hl7`` is given."""
    if not args.hl7:
        return None
    from monitor.hl7 import HL7Link, Outbox, Party, check_device_id, check_interval, parse_url

    parse_url(args.hl7)
    if not args.patient_id or not args.patient_id.strip():
        raise UsageError("--hl7 needs --patient-id: every message names the patient (PID-3).")
    check_interval(args.hl7_interval)
    party = Party(args.bed_id, args.patient_id.strip(), check_device_id(args.device_id))
    outbox = Outbox(Path(args.data_dir) / "hl7" / args.bed_id)
    link = HL7Link(session, args.hl7, outbox, party, interval_s=args.hl7_interval)
    print(f"ecmo-monitor: HL7 link to {args.hl7} ({outbox.path})", file=sys.stderr)
    return link


def _publisher(session: Session, args: argparse.Namespace):
    """The bed's publisher to the broker, started, when ``--publish`` is given."""
    if not args.publish:
        return None
    from monitor.bus import ActionResponder, BedPublisher, read_action_key

    settings = broker_settings(args, args.publish, f"bed {args.bed_id}")
    key = read_action_key(args.action_key) if args.action_key else None
    quiet = session.engine.config.data_stale.live_quiet_s
    publisher = BedPublisher(session, settings, quiet_s=quiet)
    publisher.responder = ActionResponder(session, key)
    publisher.start()
    print(
        f"ecmo-monitor: publishing bed {args.bed_id} to {publisher.status().url.split('@')[-1]}",
        file=sys.stderr,
    )
    return publisher

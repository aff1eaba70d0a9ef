"""The central station's HL7 link: every bed it holds from a real nats-server reports to a
real MLLP receiver, each bed under its own patient id; a bed without one sends nothing
and says so; a central killed and started again goes on where it stopped."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request

import hl7
import numpy as np
import pytest

from adapters import epoch_seconds, write_dataframe
from adapters.simulator import simulate
from monitor.hl7 import codes
from tests.browser import free_port, start_monitor, stop, wait_for_http
from tests.hl7_receiver import Receiver, control_id
from tests.test_hl7 import R01, R40, alarm_phases, hl7_seconds, obx_by_code, wait_until

pytestmark = pytest.mark.slow
MINUTES = 12


@pytest.fixture()
def receiver():
    got = Receiver().start()
    yield got
    got.stop()


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def bed_of(raw: str) -> str:
    return str(hl7.parse(raw).segment("PV1")[3][0][2])


def of_bed(receiver, bed: str, kind: str) -> list[str]:
    return [r for r in list(receiver.accepted) if f"|{kind}|" in r and bed_of(r) == bed]


def patient(raw: str) -> str:
    return str(hl7.parse(raw).segment("PID")[3][0][0])


class Ward:
    def __init__(self, tmp_path, broker: str, receiver) -> None:
        self.tmp, self.broker, self.receiver = tmp_path, broker, receiver
        self.port = free_port()
        self.processes: list = []
        self.central = None

    def bed(self, bed_id: str, data) -> None:
        path = self.tmp / f"{bed_id}.csv"
        write_dataframe(data, path)
        port = free_port()
        process = start_monitor(
            ["run", "--replay", str(path), "--speed", "0", "--bed-id", bed_id, "--publish",
             self.broker, "--port", str(port), "--data-dir", str(self.tmp / bed_id)],
            self.tmp / f"{bed_id}.log",
        )  # fmt: skip
        self.processes.append(process)
        wait_for_http(f"http://127.0.0.1:{port}/api/status", process=process)

    def start_central(self) -> None:
        self.central = start_monitor(
            ["central", "--nats", self.broker, "--port", str(self.port), "--data-dir",
             str(self.tmp / "central"), "--hl7", self.receiver.url,
             "--patient-id", "bed-1=PAT-1", "--patient-id", "bed-2=PAT-2"],
            self.tmp / f"central-{len(self.processes)}.log",
        )  # fmt: skip
        self.processes.append(self.central)
        wait_for_http(f"http://127.0.0.1:{self.port}/api/central", process=self.central)

    def central_status(self) -> dict:
        return get(f"http://127.0.0.1:{self.port}/api/central")

    def links(self) -> dict:
        return self.central_status()["links"]["hl7"]

    def stop(self) -> None:
        for process in self.processes:
            stop(process)


def test_every_bed_reports_under_its_patient_and_a_restart_repeats_nothing(
    tmp_path, nats_server, receiver, page
):
    stable = simulate("stable", MINUTES * 60, seed=3)
    kink = simulate("return_line_kink", 90 * 60, seed=2).iloc[44 * 60 : 80 * 60]
    ward = Ward(tmp_path, nats_server.url, receiver)
    try:
        ward.bed("bed-1", stable)
        ward.bed("bed-2", kink.reset_index(drop=True))
        ward.bed("bed-3", simulate("stable", 5 * 60, seed=4))  # no patient id given for it
        ward.start_central()
        expected = {"bed-1": MINUTES - 1, "bed-2": 35}  # a report once a later frame came
        wait_until(lambda: all(len(of_bed(receiver, bed, R01)) >= n
                               for bed, n in expected.items()),
                   timeout=120, what="every minute of both beds")  # fmt: skip
        wait_until(lambda: [p for p, _ in alarm_phases(receiver, "post_oxy_pressure_high")][-1:]
                   == ["end"], timeout=60, what="the kink alert's end")  # fmt: skip
        links = ward.links()
        assert links["bed-3"]["linked"] is False and "patient id" in links["bed-3"]["error"]
        assert links["bed-1"]["linked"] and links["bed-1"]["connected"]
        wait_until(lambda: all(ward.links()[b]["queued"] == 0 for b in expected), what="sent")
        page.goto(f"http://127.0.0.1:{ward.port}/")  # the central's header says it too
        page.wait_for_function(
            "() => (document.querySelector('#central-hl7') || {}).textContent"
            "?.includes('2 bed(s) linked, 0 waiting; no patient id for bed-3')",
            timeout=30_000,
        )
        sent = list(receiver.accepted)
        frames = ward.central_status()["frames"]

        os.kill(ward.central.pid, signal.SIGKILL)  # the central dies and comes back
        ward.central.wait(timeout=10)
        ward.start_central()
        wait_until(lambda: set(ward.links()) == {"bed-1", "bed-2", "bed-3"}, what="relinked")
        wait_until(lambda: ward.central_status()["frames"] == frames,
                   what="every frame read from the stream again")  # fmt: skip
        time.sleep(3)  # a dozen feeder polls over the rebuilt buffers
        assert receiver.accepted == sent  # nothing sent twice
    finally:
        ward.stop()

    assert not [r for r in sent if bed_of(r) == "bed-3"]
    for bed, data in (("bed-1", stable), ("bed-2", kink)):
        reports = of_bed(receiver, bed, R01)
        assert {patient(r) for r in reports} == {f"PAT-{bed[-1]}"}
        times = [hl7_seconds(str(hl7.parse(r).segment("OBR")[7])) for r in reports]
        first = float(epoch_seconds(data["timestamp"])[0])
        assert times == [np.ceil(first / 60) * 60 + 60 * k for k in range(len(times))]
        seconds = epoch_seconds(data["timestamp"])
        for raw in reports[:5]:  # the values are the bed's frames' values at that time
            value, _unit, when, _device = obx_by_code(raw)[
                codes.OBSERVATIONS["blood_flow_lpm"].code
            ]
            row = int(np.flatnonzero(np.abs(seconds - hl7_seconds(when)) < 5e-4)[0])
            assert float(value) == pytest.approx(float(data["blood_flow_lpm"].iloc[row]), abs=1e-9)
    ids = [int(control_id(r)) for r in of_bed(receiver, "bed-2", R40)]
    assert ids == sorted(ids)
    phases = [p for p, _ in alarm_phases(receiver, "post_oxy_pressure_high")]
    assert phases[0] == "start" and phases[-1] == "end" and phases.count("start") == 1
    devices = {obx_by_code(of_bed(receiver, b, R01)[0])[codes.OBSERVATIONS["blood_flow_lpm"].code][3]
               for b in expected}  # fmt: skip
    assert len(devices) == 2  # each bed its own device in OBX-18


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--hl7", "mllp://127.0.0.1:2575"], "--hl7 needs --patient-id BED=ID"),
        (["--hl7", "mllp://127.0.0.1:2575", "--patient-id", "PAT-1"], "takes BED=VALUE"),
        (["--hl7", "mllp://127.0.0.1:2575", "--patient-id", "a/b=P"], "is not a bed id"),
        (
            ["--hl7", "mllp://127.0.0.1:2575", "--patient-id", "b=P", "--patient-id", "b=Q"],
            "names b twice",
        ),
        (
            ["--hl7", "mllp://127.0.0.1:2575", "--patient-id", "b=P", "--device-id", "b=12"],
            "EUI-64",
        ),
        (["--hl7", "http://127.0.0.1:2575", "--patient-id", "b=P"], "mllp://HOST:PORT"),
        (["--patient-id", "b=P"], "are for --hl7"),
        (
            ["--hl7", "mllp://127.0.0.1:2575", "--patient-id", "b=P", "--hl7-interval", "0"],
            "between 1 and 3600 seconds",
        ),
    ],
)
def test_an_unusable_central_hl7_setting_is_one_sentence_and_exit_2(tmp_path, args, says):
    from tests.test_cli import run_cli

    done = run_cli("central", "--nats", "nats://127.0.0.1:1", "--port", str(free_port()),
                   "--data-dir", str(tmp_path), *args)  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    message = done.stderr.strip().splitlines()[-1]
    assert message.startswith("ecmo-monitor: ") and says in message

"""Central station benchmark: many beds through one nats-server into one central.

10, 50 and 100 synthetic beds at 1 Hz (and 100 at 10 Hz for a minute) publish frames
and a heartbeat each second to a real nats-server; a real ``ecmo-monitor central``
process reads them. Reported, per level: the central's CPU (% of one core) and RSS; the
overview refresh's server time and bytes (the page's own refresh callback, over HTTP);
beside a bare nats-py subscriber that only counts the same messages (the floor),
measured in the same run at the same time. Then the latency from a frame that starts an
alert at a real bed (a live Session publishing) to the alert in the central's overview
in headless Chromium, minus the rule's on-delay. Reproduce with:

    .venv/bin/python benchmarks/bench_central.py [--seconds 20] [--no-browser]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nats  # noqa: E402
import requests  # noqa: E402

from monitor.bus import FrameMessage, LocalNatsServer, StatusMessage, free_port  # noqa: E402
from monitor.bus.connection import ensure_streams  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]  # fmt: skip
BARE = """
import asyncio, sys, nats
async def main():
    nc = await nats.connect(sys.argv[1]); js = nc.jetstream()
    count = 0
    async def take(msg):
        global_count[0] += 1
    global_count = [0]
    await js.subscribe("ecmo.*.*", stream="ECMO", cb=take, ordered_consumer=True)
    await js.subscribe("ecmo.*.status", stream="ECMO_STATUS", cb=take, ordered_consumer=True)
    while True:
        await asyncio.sleep(1)
        print(global_count[0], flush=True)
asyncio.run(main())
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, clock ticks of 10 ms


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    return float("nan")


async def publish(url: str, beds: int, rate_hz: float, seconds: float, seq0: dict) -> int:
    """Frames at ``rate_hz`` and a heartbeat each second for ``beds`` beds; messages sent."""
    nc = await nats.connect(url)
    js = nc.jetstream(timeout=10)
    await ensure_streams(js)
    sent = 0
    start = time.monotonic()
    tick = 0
    while time.monotonic() - start < seconds:
        now = time.time()
        futures = []
        for b in range(beds):
            bed = f"bed-{b + 1:03d}"
            seq0[bed] = seq0.get(bed, 0) + 1
            values = {"pump_speed_rpm": 3200.0, "blood_flow_lpm": 4.1 + 0.01 * (tick % 7),
                      "p_venous_mmhg": -45.0, "p_pre_oxy_mmhg": 200.0, "p_post_oxy_mmhg": 178.0}  # fmt: skip
            frame = FrameMessage(bed, seq0[bed], round(now, 3), values)
            futures.append(await js.publish_async(
                f"ecmo.{bed}.frame", frame.encode(), headers={"Nats-Msg-Id": f"{bed}:{seq0[bed]}"}
            ))  # fmt: skip
            if tick % max(1, round(rate_hz)) == 0:
                status = StatusMessage(bed, now, f"Bed {b + 1}", "receiving", seq0[bed], 5.0,
                                       70.0, now, 0.2, 3.0, ())  # fmt: skip
                futures.append(await js.publish_async(f"ecmo.{bed}.status", status.encode()))
        await asyncio.gather(*futures)
        sent += len(futures)
        tick += 1
        await asyncio.sleep(max(0.0, start + tick / rate_hz - time.monotonic()))
    await nc.close()
    return sent


async def _make_streams(url: str) -> None:
    nc = await nats.connect(url)
    await ensure_streams(nc.jetstream())
    await nc.close()


def refresh_body(app_url: str, have=None, options=None) -> dict:
    """The overview refresh as the page posts it, holding ``have`` (what an earlier
    refresh sent it; None for a page that just opened)."""
    layout = requests.get(app_url + "_dash-dependencies", timeout=10).json()
    spec = next(d for d in layout if "overview.children" in d["output"])
    values = {"overview-have": have, "central-bed": options}
    return {
        "output": spec["output"],
        "outputs": [
            {"id": o.split(".")[0], "property": o.split(".")[1]}
            for o in spec["output"].strip(".").split("...")
        ],
        "inputs": [{"id": i["id"], "property": i["property"], "value": 1} for i in spec["inputs"]],
        "changedPropIds": ["central-refresh.n_intervals"],
        "state": [{"id": s["id"], "property": s["property"], "value": values.get(s["id"])}
                  for s in spec.get("state", [])],
    }  # fmt: skip


def measure_refresh(app_url: str, repeat: int = 10) -> tuple[float, int, float, int]:
    """(median ms, median bytes) of a page's refresh each 0.5 s, holding what the one
    before sent it; and (ms, bytes) of the first refresh of a page just opened."""
    started = time.perf_counter()
    response = requests.post(
        app_url + "_dash-update-component", json=refresh_body(app_url), timeout=10
    )
    first = (time.perf_counter() - started) * 1000, len(response.content)
    sent = response.json()["response"]
    have = sent["overview-have"]["data"]
    options = sent.get("central-bed", {}).get("options")
    times, sizes = [], []
    for _ in range(repeat):
        time.sleep(0.5)
        body = refresh_body(app_url, have, options)
        started = time.perf_counter()
        response = requests.post(app_url + "_dash-update-component", json=body, timeout=10)
        times.append(time.perf_counter() - started)
        sizes.append(len(response.content))
        have = response.json()["response"].get("overview-have", {}).get("data", have)
    return statistics.median(times) * 1000, int(statistics.median(sizes)), first[0], first[1]


def frames_taken(app_url: str) -> int:
    return requests.get(app_url + "api/central", timeout=10).json()["frames"]


def level(url, app_url, central_pid, bare_pid, beds, rate, seconds, seq0) -> dict:
    cpu0, bare0, t0 = cpu_seconds(central_pid), cpu_seconds(bare_pid), time.monotonic()
    refresh: list = []

    def probe() -> None:
        time.sleep(seconds / 2)
        refresh.append(measure_refresh(app_url))

    prober = threading.Thread(target=probe)
    prober.start()
    sent = asyncio.run(publish(url, beds, rate, seconds, seq0))
    prober.join()
    elapsed = time.monotonic() - t0
    central_cpu = 100 * (cpu_seconds(central_pid) - cpu0) / elapsed
    bare_cpu = 100 * (cpu_seconds(bare_pid) - bare0) / elapsed
    # every frame published so far is in the central's buffers (a few seconds' grace)
    published = sum(seq0.values())
    deadline = time.monotonic() + 30
    while (taken := frames_taken(app_url)) < published and time.monotonic() < deadline:
        time.sleep(0.5)
    return {
        "beds": beds, "rate": rate, "sent": sent, "frames_published": published,
        "frames_taken": taken, "central_cpu": central_cpu, "bare_cpu": bare_cpu,
        "central_rss": rss_mb(central_pid), "bare_rss": rss_mb(bare_pid),
        "refresh_ms": refresh[0][0], "refresh_bytes": refresh[0][1],
        "first_ms": refresh[0][2], "first_bytes": refresh[0][3],
    }  # fmt: skip


def latency(url: str, app_url: str, rounds: int) -> list[float]:
    """A live bed's frames start the drainage alert; seconds until its tile shows it, minus
    the on-delay."""
    from playwright.sync_api import sync_playwright

    from adapters import FakeSource, Frame
    from monitor.bus import BedPublisher, BrokerSettings
    from monitor.runtime import Session
    from rules import load_config

    on_delay = load_config(None).drainage_pressure_low.on_delay_s
    out = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(app_url)
        for r in range(rounds):
            source = FakeSource("console", kind="serial")
            session = Session(source, bed_id=f"live-{r}")
            session.start()
            publisher = BedPublisher(session, BrokerSettings(url)).start()
            normal = {"pump_speed_rpm": 3200.0, "blood_flow_lpm": 4.0, "p_venous_mmhg": -40.0}
            for _ in range(5):
                source.push(Frame.build(time.time(), normal))
                time.sleep(0.2)
            selector = f".bed-tile[data-bed='live-{r}'] [data-rule='drainage_pressure_low'][data-state='active']"
            started = time.monotonic()
            stop = threading.Event()

            def feed(stop=stop, source=source, normal=normal) -> None:
                while not stop.is_set():
                    source.push(Frame.build(time.time(), {**normal, "p_venous_mmhg": -140.0}))
                    time.sleep(0.1)

            feeder = threading.Thread(target=feed, daemon=True)
            feeder.start()
            page.wait_for_selector(selector, timeout=30000)
            out.append(time.monotonic() - started - on_delay)
            stop.set()
            feeder.join()
            publisher.stop()
            session.stop()
        browser.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0, help="per 1 Hz level")
    parser.add_argument("--fast-seconds", type=float, default=60.0, help="100 beds at 10 Hz")
    parser.add_argument("--rounds", type=int, default=3, help="latency rounds")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    print(f"{platform.machine()}, {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}")
    folder = Path(tempfile.mkdtemp(prefix="bench-central-"))
    server = LocalNatsServer(folder / "nats").start()
    port = free_port()
    central = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "central", "--nats", server.url, "--port", str(port),
         "--data-dir", str(folder / "central")],
        stdout=open(folder / "central.log", "wb"), stderr=subprocess.STDOUT, cwd=ROOT,  # noqa: SIM115
    )  # fmt: skip
    asyncio.run(_make_streams(server.url))  # the floor's subscriber needs them to exist
    bare = subprocess.Popen([sys.executable, "-c", BARE, server.url], stdout=subprocess.DEVNULL)
    app_url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                requests.get(app_url + "api/central", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.2)
        seq0: dict = {}
        rows = [level(server.url, app_url, central.pid, bare.pid, n, 1.0, args.seconds, seq0)
                for n in (10, 50, 100)]  # fmt: skip
        rows.append(
            level(server.url, app_url, central.pid, bare.pid, 100, 10.0, args.fast_seconds, seq0)
        )
        print(f"{'beds':>5} {'Hz':>4} {'msgs':>7} {'frames in':>10} | {'central CPU %':>13} "
              f"{'RSS MB':>7} | {'bare CPU %':>10} {'RSS MB':>7} | {'refresh ms':>10} "
              f"{'bytes':>8} | {'first ms':>8} {'bytes':>8}")  # fmt: skip
        for r in rows:
            taken = f"{r['frames_taken']}/{r['frames_published']}"
            print(f"{r['beds']:>5} {r['rate']:>4g} {r['sent']:>7} {taken:>10} | "
                  f"{r['central_cpu']:>13.1f} {r['central_rss']:>7.0f} | {r['bare_cpu']:>10.1f} "
                  f"{r['bare_rss']:>7.0f} | {r['refresh_ms']:>10.1f} {r['refresh_bytes']:>8} | "
                  f"{r['first_ms']:>8.1f} {r['first_bytes']:>8}")  # fmt: skip
        lost = [r for r in rows if r["frames_taken"] != r["frames_published"]]
        print("every published frame in the central's buffers: "
              + ("yes, at every level" if not lost else f"NO: {lost}"))  # fmt: skip
        at100 = rows[2]
        print(
            f"100 beds at 1 Hz: central {at100['central_cpu']:.1f} % of a core "
            f"(bare subscriber {at100['bare_cpu']:.1f} %, ratio "
            f"{at100['central_cpu'] / max(at100['bare_cpu'], 0.1):.1f}); target < 25 %; "
            f"refresh {at100['refresh_ms']:.1f} ms, {at100['refresh_bytes'] / 1000:.1f} kB; "
            "targets < 50 ms, < 30 kB"
        )
        if not args.no_browser and Path(CHROMIUM).exists():
            lat = latency(server.url, app_url, args.rounds)
            print(
                f"frame -> alert in the central's overview in Chromium, minus the on-delay: "
                f"median {statistics.median(lat):.2f} s, max {max(lat):.2f} s "
                f"({args.rounds} rounds); target <= 1 s"
            )
        print(json.dumps({"rows": rows}))
    finally:
        central.terminate()
        bare.terminate()
        central.wait(10)
        server.stop()
    print(
        "reproduce: .venv/bin/python benchmarks/bench_central.py "
        f"--seconds {args.seconds:g} --fast-seconds {args.fast_seconds:g} --rounds {args.rounds}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

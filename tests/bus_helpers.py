"""Reading what a real nats-server holds, for the bus tests."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter

import nats

from monitor.bus import STREAM, AlarmMessage, FrameMessage


def run_async(coroutine):
    """``asyncio.run`` on a thread of its own: the session's Playwright (sync API) keeps an
    event loop running on the main thread once a browser test has run."""
    result: list = []

    def target() -> None:
        try:
            result.append((True, asyncio.run(coroutine)))
        except BaseException as exc:  # handed to the caller
            result.append((False, exc))

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    ok, value = result[0]
    if not ok:
        raise value
    return value


async def _stream_messages(url: str, filter_subject: str) -> list[tuple[str, bytes]]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(STREAM, subjects_filter=filter_subject)
        expected = sum((info.state.subjects or {}).values())
        out: list[tuple[str, bytes]] = []
        if expected == 0:
            return out
        done = asyncio.Event()

        async def take(msg) -> None:
            out.append((msg.subject, msg.data))
            if len(out) >= expected:
                done.set()

        sub = await js.subscribe(filter_subject, stream=STREAM, cb=take, ordered_consumer=True)
        await asyncio.wait_for(done.wait(), 60)
        await sub.unsubscribe()
        return out
    finally:
        await nc.close()


def stream_messages(url: str, filter_subject: str = "ecmo.*.*") -> list[tuple[str, bytes]]:
    """(subject, data) of every message of the frame/alarm stream on ``filter_subject``."""
    return run_async(_stream_messages(url, filter_subject))


def frame_numbers(url: str, bed: str) -> Counter:
    """How many times each frame number of ``bed`` is in the stream."""
    counts: Counter = Counter()
    for _, data in stream_messages(url, f"ecmo.{bed}.frame"):
        counts[FrameMessage.decode(data).seq] += 1
    return counts


def alarms(url: str, bed: str) -> list[AlarmMessage]:
    return [AlarmMessage.decode(data) for _, data in stream_messages(url, f"ecmo.{bed}.alarm")]


def wait_until(condition, timeout: float = 10.0, what: str = "condition", step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")

"""Frame times: whole milliseconds, each frame at least one millisecond after the one before.

The one place that says how a frame's time is stamped. A recording keeps milliseconds and
a replay skips a row whose time repeats the one before (``csv_reader``), so a frame that
shares a millisecond with the previous one would be lost on replay, and a frame earlier
than the previous one would make the record run backwards. Both happen: frames read from
a port in one chunk arrive together, and an action entered at the bedside is stamped with
the newest frame's time. Every stream of frames (a source's arrivals, a session's merged
record) therefore stamps each frame with :func:`next_stamp`, or keeps a :class:`FrameClock`.
"""

from __future__ import annotations

import dataclasses

from .contract import Frame


def next_stamp(raw: float, previous: float | None) -> float:
    """The time to stamp a frame with: ``raw`` to the millisecond, and 1 ms after ``previous``
    at least.

    ``raw`` and the result are POSIX seconds; ``previous`` is the stamp the frame before
    got (None for the first). The result is a whole number of milliseconds, so the buffer,
    the rules and a recording of it hold the same time, and it is strictly later than
    ``previous``: a frame that would repeat or precede it gets the next millisecond.
    """
    ms = round(raw * 1000)
    if previous is not None:
        ms = max(ms, round(previous * 1000) + 1)
    return ms / 1000


class FrameClock:
    """:func:`next_stamp` for one stream of frames, remembering the last stamp given.

    Not thread-safe: one clock per stream, used by the one thread (or under the one lock)
    that orders the stream.
    """

    def __init__(self) -> None:
        #: The last stamp given (POSIX seconds), None before the first frame.
        self.last: float | None = None

    def stamp(self, raw: float) -> float:
        """The stamp for the next frame whose raw time is ``raw``; see :func:`next_stamp`."""
        self.last = next_stamp(raw, self.last)
        return self.last

    def stamp_frame(self, frame: Frame, raw: float | None = None) -> Frame:
        """``frame`` with its timestamp stamped from ``raw`` (default: its own timestamp).

        The same frame object comes back when its timestamp is already the stamp.
        """
        stamp = self.stamp(frame.timestamp if raw is None else raw)
        if stamp == frame.timestamp:
            return frame
        return dataclasses.replace(frame, timestamp=stamp)

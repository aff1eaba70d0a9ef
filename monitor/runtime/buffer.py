"""The in-memory telemetry buffer: bounded, thread-safe, read as pandas DataFrames.

A ring of preallocated numpy columns (one row per frame), so appending is O(1) and the
memory is bounded at construction (72 h at 1 Hz by default: about 40 MB, which the
system hands over page by page as frames fill it, so a QA replay of an hour does not
hold 72 h). Readers get a DataFrame of just the rows they ask for (a time window, or the
frames after a sequence cursor), copied out under the lock so the acquisition thread can
keep writing; the whole history is never copied to answer a recent-window read, and a
long window can be read a part at a time (:meth:`TelemetryBuffer.span`, ``rows``).

Every frame gets a sequence number (1, 2, 3, ...). A client that remembers the last
number it saw asks for what came after it, so a missed refresh loses nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np
import pandas as pd

from adapters import EVENT, NUMERIC_COLUMNS, TIMESTAMP, Frame, to_datetime_utc

DEFAULT_CAPACITY = 72 * 3600
SEQ = "seq"
ARTIFACT_MASK = "artifact_mask"


class TelemetryBuffer:
    """Bounded ring buffer of frames; the oldest rows are dropped first."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, columns: Iterable[str] = NUMERIC_COLUMNS):
        if capacity < 1:
            raise ValueError("buffer capacity must be at least one frame")
        self.capacity = int(capacity)
        self.columns: tuple[str, ...] = tuple(columns)
        self._column_index = {name: i for i, name in enumerate(self.columns)}
        self._lock = threading.Lock()
        self._time = np.zeros(self.capacity, dtype="float64")
        # zeros, not NaN: an append writes the whole row, and untouched pages cost nothing
        self._values = np.zeros((self.capacity, len(self.columns)), dtype="float64")
        self._mask = np.zeros(self.capacity, dtype="int64")
        # events are rare: kept by physical row, so an empty buffer costs nothing for them
        # (an object array of the capacity would be 2 MB a buffer, one per bed at a central)
        self._events: dict[int, str] = {}
        self._size = 0
        self._next_seq = 1  # sequence number the next appended frame gets
        self._head = 0  # physical index the next frame is written at
        self._nan_row = np.full(len(self.columns), np.nan)
        self._last_seen: dict[str, tuple[float, float]] = {}

    # -- writing ---------------------------------------------------------------------
    def append(self, frame: Frame) -> int:
        """Store a frame; returns its sequence number."""
        row = self._nan_row.copy()
        index = self._column_index
        for name, value in frame.values.items():
            j = index.get(name)
            if j is not None:
                row[j] = value
        with self._lock:
            h = self._head
            self._time[h] = frame.timestamp
            self._values[h] = row
            self._mask[h] = frame.artifacts
            if frame.event:
                self._events[h] = frame.event
            elif self._events:
                self._events.pop(h, None)  # the row it overwrites may have held one
            for name, value in frame.values.items():
                if value == value:
                    self._last_seen[name] = (float(value), frame.timestamp)
            self._head = (h + 1) % self.capacity
            if self._size < self.capacity:
                self._size += 1
            seq = self._next_seq
            self._next_seq += 1
            return seq

    def extend(self, frames: Iterable[Frame]) -> int:
        seq = 0
        for frame in frames:
            seq = self.append(frame)
        return seq

    # -- reading ---------------------------------------------------------------------
    def __len__(self) -> int:
        return self._size

    @property
    def last_seq(self) -> int:
        """Sequence number of the newest frame (0 when empty)."""
        return self._next_seq - 1

    @property
    def first_seq(self) -> int:
        """Sequence number of the oldest frame still held (0 when empty)."""
        return self._next_seq - self._size if self._size else 0

    @property
    def dropped(self) -> int:
        """Frames dropped off the old end because the buffer was full."""
        return self._next_seq - 1 - self._size

    def _physical(self, logical_start: int, logical_end: int) -> np.ndarray | slice:
        """Physical rows for logical rows [start, end) (0 = oldest held)."""
        oldest = (self._head - self._size) % self.capacity
        a = (oldest + logical_start) % self.capacity
        n = logical_end - logical_start
        if a + n <= self.capacity:
            return slice(a, a + n)
        return np.r_[a : self.capacity, 0 : (a + n) - self.capacity]

    def _search_time(self, when: float, after: bool = False) -> int:
        """Logical index of the first held frame with time >= ``when`` (> when if ``after``)."""
        lo, hi = 0, self._size
        oldest = (self._head - self._size) % self.capacity
        while lo < hi:
            mid = (lo + hi) // 2
            t = self._time[(oldest + mid) % self.capacity]
            if t < when or (after and t == when):
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _event_column(self, start: int, end: int) -> list[str]:
        """The events of logical rows [start, end) ("" where none)."""
        column = [""] * (end - start)
        oldest = (self._head - self._size) % self.capacity
        for physical, event in self._events.items():
            logical = (physical - oldest) % self.capacity
            if start <= logical < end:
                column[logical - start] = event
        return column

    def _frame(self, start: int, end: int, columns: Iterable[str] | None = None) -> pd.DataFrame:
        """Logical rows [start, end) as a DataFrame of their own (each column copied once).

        ``columns``: the numeric columns wanted (all when None); the others are left out.
        """
        rows = self._physical(start, end)
        first_seq = self._next_seq - self._size + start
        data = {TIMESTAMP: to_datetime_utc(self._time[rows])}
        wanted = self.columns if columns is None else set(columns)
        names = [name for name in self.columns if name in wanted]
        for name in names:
            # a slice is a view into the ring: copied; an index array copies already
            column = self._values[rows, self._column_index[name]]
            data[name] = column.copy() if isinstance(rows, slice) else column
        data[EVENT] = pd.array(self._event_column(start, end), dtype="str")
        data[ARTIFACT_MASK] = self._mask[rows].copy()
        data[SEQ] = np.arange(first_seq, first_seq + (end - start), dtype="int64")
        # the columns are this frame's own, so pandas need not copy them into one block
        # again (a second copy of the window: tens of MB for the "all" window)
        return pd.DataFrame(data, copy=False)

    def window(
        self,
        seconds: float | None = None,
        end: float | None = None,
        columns: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """Frames of the last ``seconds`` before the newest one (or before ``end``); all if None.

        ``columns``: the numeric columns to read (all when None), so a long window that
        needs a few channels does not copy every one.
        """
        with self._lock:
            if self._size == 0:
                return self._frame(0, 0, columns)
            stop = self._size if end is None else self._search_time(end, after=True)
            if seconds is None:
                start = 0
            else:
                newest = self._time[(self._head - 1) % self.capacity] if end is None else end
                start = self._search_time(newest - seconds)
            return self._frame(start, max(start, stop), columns)

    def arrays(self, since: float, columns: Iterable[str]) -> tuple[np.ndarray, dict]:
        """(POSIX times, {column: values}) of the frames at or after ``since``, as plain
        arrays of their own: for summaries that need no DataFrame (the central's sparklines)."""
        with self._lock:
            rows = self._physical(self._search_time(since), self._size)
            times = self._time[rows].copy() if isinstance(rows, slice) else self._time[rows]
            values = {}
            for name in columns:
                column = self._values[rows, self._column_index[name]]
                values[name] = column.copy() if isinstance(rows, slice) else column
            return times, values

    def span(self, seconds: float | None = None) -> tuple[int, int]:
        """(first sequence number, frame count) of the window :meth:`window` would give now."""
        with self._lock:
            if self._size == 0:
                return self._next_seq, 0
            start = 0
            if seconds is not None:
                start = self._search_time(self._time[(self._head - 1) % self.capacity] - seconds)
            return self._next_seq - self._size + start, self._size - start

    def rows(self, seq: int, count: int, columns: Iterable[str] | None = None) -> pd.DataFrame:
        """The frames numbered ``seq`` to ``seq + count - 1``, as :meth:`window` gives them.

        For reading a long window a part at a time (see :meth:`span`): a frame keeps its
        values while it is held, so the parts make up the window as it was. Raises
        LookupError when some of them are no longer (or not yet) held.
        """
        with self._lock:
            first = self._next_seq - self._size
            if seq < first or seq + count > self._next_seq or count < 0:
                raise LookupError(f"frames {seq} to {seq + count - 1} are not all held")
            return self._frame(seq - first, seq - first + count, columns)

    def count_window(self, seconds: float | None) -> int:
        """How many frames the last ``seconds`` hold (all held frames if None)."""
        with self._lock:
            if seconds is None or self._size == 0:
                return self._size
            newest = self._time[(self._head - 1) % self.capacity]
            return self._size - self._search_time(newest - seconds)

    def since(self, seq: int, limit: int | None = None) -> pd.DataFrame:
        """Frames with a sequence number above ``seq`` (oldest first), at most ``limit``.

        A cursor older than what the buffer still holds gets everything held.
        """
        with self._lock:
            start = max(0, seq - (self._next_seq - self._size) + 1)
            start = min(start, self._size)
            end = self._size if limit is None else min(self._size, start + limit)
            return self._frame(start, end)

    def latest(self) -> dict[str, float] | None:
        """The newest frame's values (NaN for channels it lacked), time and sequence."""
        with self._lock:
            if self._size == 0:
                return None
            h = (self._head - 1) % self.capacity
            out = dict(zip(self.columns, self._values[h].tolist(), strict=True))
            out["time"] = float(self._time[h])
            out[SEQ] = self._next_seq - 1
            out[ARTIFACT_MASK] = int(self._mask[h])
            return out

    def latest_value(self, column: str) -> tuple[float, float] | None:
        """Most recent non-missing value of a channel and its time (labs are sparse)."""
        with self._lock:
            return self._last_seen.get(column)

    def latest_values(self) -> dict[str, tuple[float, float]]:
        """Most recent non-missing value and its time of every channel that has one."""
        with self._lock:
            return dict(self._last_seen)

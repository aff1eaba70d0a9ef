"""Memory: a long window's figure and a replay never hold a second full copy of the data.

The "all" window over a full 72 h buffer is 259,200 frames; its figure is built from the
buffer a part at a time (``figures.PART_ROWS`` frames) and must be exactly the figure
built from a whole copy of the window, as it was before. A replay plays from the
recording's own columns rather than a copy of them. Behaviour tests, not timed or RSS
thresholds (``benchmarks/bench_memory.py`` measures the process).
"""

from __future__ import annotations

import numpy as np
import pytest

from adapters import NUMERIC_COLUMNS, FakeSource, Frame, ReplaySource, write_dataframe
from adapters.simulator import simulate
from monitor.present import MAX_POINTS, TELEMETRY_TRACES, series
from monitor.present.downsample import ChunkedSeries
from monitor.runtime import Session, TelemetryBuffer
from monitor.web.live import figures
from monitor.web.live.figures import TrendSettings, full_figure, trend_figure
from rules import IncrementalEngine, frames_from

GAP_MS = 10_000.0


@pytest.fixture(scope="module")
def wrapped_bed() -> Session:
    """A bed whose ring has wrapped: 3 h of sensor dropout (gaps, artifacts), events, labs."""
    data = simulate("sensor_dropout", duration_s=3 * 3600, seed=5)
    data.loc[[700, 5000, 9000], "event"] = ["oxygenator_change", "note", "baseline_reset"]
    data.loc[[1200, 8000], "plasma_free_hb_mg_dl"] = [12.0, 60.0]
    session = Session(FakeSource("test"), engine=IncrementalEngine(), live=False)
    # given to Session, an empty buffer would read as false (it has a length) and be replaced
    session.buffer = TelemetryBuffer(capacity=2 * 3600)
    for frame in frames_from(data):
        session.on_frame(frame)
    assert session.buffer.dropped > 0 and session.baselines()
    return session


@pytest.mark.parametrize("seconds", [None, 5400.0])
@pytest.mark.parametrize("part_rows", [333, 4096])
def test_a_long_window_read_in_parts_gives_the_figure_of_the_whole_window(
    wrapped_bed, monkeypatch, seconds, part_rows
):
    whole = trend_figure(
        wrapped_bed.buffer.window(seconds),
        TrendSettings.of_session(wrapped_bed),
        revision=f"trends-{seconds}",
    )
    monkeypatch.setattr(figures, "PART_ROWS", part_rows)
    assert full_figure(wrapped_bed, seconds) == whole


def test_a_long_window_is_never_copied_whole_and_carries_a_few_thousand_points(
    wrapped_bed, monkeypatch
):
    buffer = wrapped_bed.buffer
    reads = []
    real_rows = buffer.rows

    def rows(seq, count, columns=None):
        reads.append(count)
        return real_rows(seq, count, columns)

    def window(*_args, **_kwargs):
        raise AssertionError("a long window was copied whole")

    monkeypatch.setattr(figures, "PART_ROWS", 1000)
    monkeypatch.setattr(buffer, "rows", rows)
    monkeypatch.setattr(buffer, "window", window)
    figure = full_figure(wrapped_bed, None)
    assert max(reads) <= 1000 and sum(reads) >= len(buffer)
    for trace in figure["data"][: len(TELEMETRY_TRACES)]:
        drawn = [y for y in trace["y"] if y is not None]
        assert 0 < len(drawn) <= MAX_POINTS


def test_frames_dropping_off_while_a_long_window_is_read_start_it_anew(monkeypatch):
    buffer = TelemetryBuffer(capacity=5000)
    for i in range(6000):
        buffer.append(Frame.build(1_767_254_400.0 + i, {"pump_speed_rpm": 3000.0 + i % 7}))
    session = Session(FakeSource("test"), buffer=buffer, live=False)
    real_rows, calls = buffer.rows, []

    def rows(seq, count, columns=None):
        calls.append(seq)
        if len(calls) == 4:  # a burst of frames arrives part way through the first reading
            for i in range(3000):
                buffer.append(Frame.build(1_767_260_400.0 + i, {"pump_speed_rpm": 3100.0}))
        return real_rows(seq, count, columns)

    monkeypatch.setattr(figures, "PART_ROWS", 1000)
    monkeypatch.setattr(buffer, "rows", rows)
    figure = full_figure(session, None)
    monkeypatch.undo()
    assert figure == trend_figure(
        buffer.window(None), TrendSettings.of_session(session), revision="trends-None"
    )


@pytest.mark.parametrize("part", [1, 97, 5000])
def test_chunked_series_gives_the_points_of_series(part):
    rng = np.random.default_rng(part)
    n = 12_000
    steps = np.where(rng.random(n) < 0.002, rng.uniform(11, 400, n), 1.0) * 1000.0
    t = np.cumsum(steps)
    v = np.round(rng.normal(size=n), 1)  # ties: the first of equal extremes is kept
    v[rng.random(n) < 0.05] = np.nan
    v[3000:4500] = np.nan  # buckets with nothing to draw
    for max_points in (MAX_POINTS, n + 1):
        chunked = ChunkedSeries(t[0], t[-1], n, GAP_MS, max_points)
        for a in range(0, n, part):
            chunked.add(t[a : a + part], v[a : a + part])
        assert chunked.lists() == series(t, v, GAP_MS, max_points)


def test_a_replay_plays_from_the_recording_columns_not_a_copy(tmp_path):
    path = tmp_path / "r.csv"
    write_dataframe(simulate("stable", duration_s=600, seed=1), path)
    source = ReplaySource(path, speed=0)
    data = source.recording.data
    for name, column in zip(NUMERIC_COLUMNS, source._columns, strict=True):
        assert np.shares_memory(column, data[name].to_numpy())

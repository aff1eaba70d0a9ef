"""A refresh sends only the new frames: its size does not grow with the history."""

from __future__ import annotations

from adapters import Frame
from tests.dash_requests import client_for, filled_session, trend_refresh


def one_new_frame(session) -> dict:
    """Cursor of a browser that has everything but the newest frame."""
    last = session.buffer.latest()
    session.buffer.append(
        Frame.build(last["time"] + 1, {"pump_speed_rpm": 3200.0, "blood_flow_lpm": 4.2})
    )
    return {"seq": session.buffer.last_seq - 1, "t": last["time"] * 1000.0, "appended": 0}


def test_refresh_bytes_do_not_grow_with_the_history():
    sizes = {}
    for hours in (1, 72):
        session = filled_session(hours)
        client = client_for(session)
        for window in (3600.0, 86400.0):
            cursor = one_new_frame(session)
            size, reply = trend_refresh(client, cursor, window)
            extend = reply["response"]["trends"]["extendData"]
            assert all(len(xs) <= 2 for xs in extend[0]["x"])  # one point (+ gap marker) per trace
            sizes[hours, window] = size
    assert max(sizes.values()) < 4000
    assert abs(sizes[72, 3600.0] - sizes[1, 3600.0]) < 200
    assert abs(sizes[72, 86400.0] - sizes[1, 86400.0]) < 200


def test_a_missed_refresh_sends_every_frame_since_the_cursor():
    session = filled_session(0.1)
    client = client_for(session)
    cursor = one_new_frame(session)
    for _ in range(4):  # the browser missed four refreshes
        one_new_frame(session)
    _size, reply = trend_refresh(client, cursor, 3600.0)
    extend = reply["response"]["trends"]["extendData"]
    assert len(extend[0]["x"][0]) == 5
    assert reply["response"]["cursor"]["data"]["seq"] == session.buffer.last_seq


def test_a_whole_window_is_downsampled_to_a_few_thousand_points():
    session = filled_session(24)
    client = client_for(session)
    _size, reply = trend_refresh(client, {"seq": 0, "t": None, "appended": 0}, 86400.0)
    figure = reply["response"]["trends"]["figure"]
    assert max(len(trace["x"]) for trace in figure["data"]) <= 2100

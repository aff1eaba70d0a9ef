"""Two more parsers of outside bytes, fuzzed with hypothesis: profile files and action requests.

A profile file (``--profile FILE.toml``) and an action request on the bus either parse or
are refused with the project's own error or reply, never anything else.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters import FakeSource, TelemetryError
from adapters.profile_files import ColumnProfile
from adapters.profiles import PROFILES, get_profile
from monitor.bus import ActionResponder, sign_request
from monitor.runtime import Session

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FOLDER = Path(tempfile.mkdtemp(prefix="ecmo-outside-fuzz-"))
VALID_PROFILE = (
    Path(__file__).resolve().parents[1] / "adapters" / "builtin_profiles" / "cardiohelp.toml"
).read_bytes() + (b"\nnot_available = -32000\n")
KEY = b"k" * 64


def read_profile(data: bytes) -> None:
    path = FOLDER / "site.toml"
    path.write_bytes(data)
    try:
        profile = get_profile(str(path))
    except TelemetryError as exc:
        message = str(exc)
        assert message.startswith(str(path)) and message.isprintable()
        return
    assert isinstance(profile, ColumnProfile)
    assert set(profile.mapping.values()) <= set(PROFILES["canonical"].mapping.values())


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_as_a_profile_file_parse_or_are_refused(data):
    read_profile(data)


@FUZZ
@given(
    st.lists(
        st.tuples(st.integers(0, len(VALID_PROFILE) - 1), st.integers(0, 255)),
        min_size=1,
        max_size=8,
    )
)
def test_a_mutated_profile_file_parses_or_is_refused(changes):
    data = bytearray(VALID_PROFILE)
    for position, value in changes:
        data[position] = value
    read_profile(bytes(data))


RESPONDER = ActionResponder(Session(FakeSource("idle"), bed_id="bed-1"), KEY)
VALID_REQUEST = sign_request(
    KEY, "bed-1", "acknowledge", {"rule": "flow_drop"}, "sam", "viewer", "c"
)


def check_reply(data: bytes) -> None:
    reply = RESPONDER.handle(data)
    assert reply["result"] in ("ok", "already", "refused") and isinstance(reply["message"], str)
    json.dumps(reply)


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_as_an_action_request_are_refused(data):
    check_reply(data)
    assert RESPONDER.handle(data)["result"] == "refused"


@FUZZ
@given(
    st.lists(
        st.tuples(st.integers(0, len(VALID_REQUEST) - 1), st.integers(0, 255)),
        min_size=1,
        max_size=8,
    )
)
def test_a_mutated_action_request_is_answered_never_raises(changes):
    data = bytearray(VALID_REQUEST)
    for position, value in changes:
        data[position] = value
    check_reply(bytes(data))

"""A source for tests: the test hands it frames and it delivers them like a real source.

After httpx's ``MockTransport``: the same :class:`Source` interface as the serial port and
the replay, with the device replaced by the test itself, so whatever consumes a source
(a session, its buffer, its rules) is tested without a port, a file or a clock to wait on.
"""

from __future__ import annotations

from .contract import Frame
from .source import Source, SourceState


class FakeSource(Source):
    """Delivers the frames a test pushes, counted and stated as a real source would.

    ``kind`` is what the source says it is: ``"serial"`` makes a monitor treat it as a
    live feed, anything else as a replay. Once started it idles until stopped; it is
    CONNECTING until the first frame, then RECEIVING. :meth:`push` delivers on the
    caller's thread and returns once the frame handler has run.
    """

    def __init__(self, description: str = "fake source", kind: str = "fake") -> None:
        super().__init__(description)
        self.kind = kind

    def push(self, frame: Frame) -> None:
        """Deliver one frame, as if the device had just sent it."""
        if self._on_frame is None:
            raise RuntimeError("start the source before pushing frames to it")
        self._deliver(frame)

    def reject(self, why: str) -> None:
        """Count one unreadable frame, as a parser does with bad input."""
        self._reject(self.description, why)

    def disconnect(self, why: str) -> None:
        """Lose the device: DISCONNECTED, with ``why`` among the recent problems."""
        self._note_error(f"{self.description}: {why}")
        self._set_state(SourceState.DISCONNECTED)

    def _run(self) -> None:
        self._stop.wait()

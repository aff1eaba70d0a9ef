"""A real MLLP receiver for the HL7 tests: hl7apy's own MLLPServer on a loopback port.

It keeps every message it accepted (answered AA), in arrival order, and can be told to
answer the next messages with another code (AE) or be stopped and started again on the
same port, as an interface engine that is restarted.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.mllp import AbstractHandler, MLLPServer
from hl7apy.parser import parse_message

from tests.browser import free_port

KINDS = ("ORU^R01^ORU_R01", "ORU^R40^ORU_R40")


def control_id(raw: str) -> str:
    return raw.split("\r", 1)[0].split("|")[9]


class _Server(MLLPServer):
    allow_reuse_address = True  # started again on the same port, as a restarted engine
    daemon_threads = True


class _Answer(AbstractHandler):
    def __init__(self, message, receiver):
        super().__init__(message)
        self.receiver = receiver

    def reply(self):
        raw = self.incoming_message
        code = self.receiver.decide(raw)
        ack = Message("ACK", version="2.6", validation_level=VALIDATION_LEVEL.TOLERANT)
        ack.msh.msh_9 = "ACK^R01^ACK"
        ack.msh.msh_10 = f"ack-{control_id(raw)}"
        ack.msh.msh_11 = "P"
        ack.msh.msh_12 = "2.6"
        ack.msa.msa_1 = code
        ack.msa.msa_2 = control_id(raw)
        return "\x0b" + ack.to_er7() + "\x1c\r"


class Receiver:
    """Accepted messages in order; ``answers`` holds codes for the next messages."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.accepted: list[str] = []
        self.refused: list[str] = []
        self.answers: deque[str] = deque()
        self._lock = threading.Lock()
        self._server: MLLPServer | None = None

    @property
    def url(self) -> str:
        return f"mllp://127.0.0.1:{self.port}"

    def decide(self, raw: str) -> str:
        with self._lock:
            code = self.answers.popleft() if self.answers else "AA"
            (self.accepted if code == "AA" else self.refused).append(raw)
        return code

    def start(self) -> Receiver:
        handlers = {kind: (_Answer, self) for kind in KINDS}
        self._server = _Server("127.0.0.1", self.port, handlers, timeout=5)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def messages(self, kind: str | None = None) -> list:
        """The accepted messages, parsed with hl7apy (ORU^R01 validated as such)."""
        with self._lock:
            raws = list(self.accepted)
        return [
            parse_message(raw, find_groups=True, validation_level=VALIDATION_LEVEL.TOLERANT)
            for raw in raws
            if kind is None or raw.split("\r", 1)[0].split("|")[8] == kind
        ]

    def wait_for(self, count: int, timeout: float = 60.0, kind: str | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                raws = [r for r in self.accepted if kind is None or f"|{kind}|" in r]
            if len(raws) >= count:
                return
            time.sleep(0.1)
        raise AssertionError(f"the receiver got {len(raws)} message(s), not {count}")

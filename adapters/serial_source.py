"""Telemetry from a console's serial port (or a pty, or a pyserial URL such as ``loop://``).

One thread owns the port, as in pyserial's ``serial.threaded``: it opens, reads with a
short timeout, feeds the bytes to a pure protocol parser (``protocols.py``) and hands each
frame on. Losing the port is a state (DISCONNECTED), never an exception: the thread closes
it, says so once, and re-opens the same path name with backoff until it comes back or the
source is stopped. A feed that is open but silent for ``quiet_time`` seconds is NO_DATA.
Each frame's arrival is stamped by a :class:`FrameClock`: frames read in one chunk get a
millisecond each.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import serial

from .contract import Frame
from .errors import SourceError
from .profiles import ColumnProfile, get_profile
from .protocols import BadFrame, FrameParser, ParseResult, make_parser, protocol_for_profile
from .source import Source, SourceState
from .timestamps import FrameClock

log = logging.getLogger(__name__)

#: How long one read waits for the first byte; bounds how fast stop() and the watchdog react.
READ_TIMEOUT = 0.2


class SerialSource(Source):
    """Frames read from a serial device speaking one of the protocols of DESIGN.md section 3.

    ``port`` is a device path (``/dev/ttyUSB0``, a pty, a symlink made by socat) or a
    pyserial URL (``loop://``, ``socket://host:port``, ``rfc2217://host:port``).
    ``profile`` names the column profile; the protocol follows from it unless given
    (``keyvalue`` and ``framed`` speak key=value, the others delimited text). Raw bytes
    are appended to ``capture_path`` when one is given.

    ``quiet_time`` (seconds) is the one setting of the "no data" watchdog: an open port
    without a valid frame for that long is NO_DATA. A monitor passes the quiet time its
    ``data_stale`` rule uses, so the source state and the technical alarm agree.
    """

    kind = "serial"

    def __init__(
        self,
        port: str,
        profile: str | ColumnProfile = "keyvalue",
        protocol: str | None = None,
        baud: int = 115200,
        quiet_time: float = 5.0,
        capture_path: str | Path | None = None,
        reconnect_min: float = 0.2,
        reconnect_max: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(profile, str):
            protocol = protocol or protocol_for_profile(profile)
        columns = get_profile(profile) if isinstance(profile, str) else profile
        protocol = protocol or columns.protocol
        self._parser: FrameParser = make_parser(protocol, columns)
        try:  # check the port name or URL now, so a typo is an error at start-up
            serial.serial_for_url(port, baudrate=baud, do_not_open=True)
        except (ValueError, serial.SerialException) as exc:
            raise SourceError(f"Serial port {port!r} is not usable: {exc}.") from None
        super().__init__(f"serial {port} ({protocol}, profile {columns.name})")
        self.port = port
        self.protocol = protocol
        self.profile = columns
        self.baud = baud
        self.quiet_time = quiet_time
        self.capture_path = Path(capture_path) if capture_path is not None else None
        self.reconnect_min = reconnect_min
        self.reconnect_max = max(reconnect_max, reconnect_min)
        self._clock = clock
        self._handle: serial.SerialBase | None = None
        self._capture: BinaryIO | None = None
        self._is_path = "://" not in port
        self._device: tuple[int, int] | None = None  # what the port path named when opened
        self._base_wall = self._base_mono = 0.0
        self._arrivals = FrameClock()

    @property
    def port_open(self) -> bool:
        """Whether the port is open right now (between a successful open and its loss)."""
        return self._handle is not None

    def write(self, data: bytes) -> int:
        """Send bytes out of the open port (for ``loop://`` tests and talking consoles)."""
        handle = self._handle
        if handle is None:
            raise SourceError(f"Serial port {self.port} is not open; wait until it is.")
        return handle.write(data) or 0

    # -- the acquisition thread ---------------------------------------------------------
    def _run(self) -> None:
        self._base_wall, self._base_mono = self._clock(), time.monotonic()
        self._arrivals = FrameClock()  # a new base: arrivals follow it, not the last run's
        self._open_capture()
        delay, lost, opened_before = self.reconnect_min, False, False
        try:
            while not self.stopping:
                handle, error = self._open()
                if handle is None:
                    if not lost:
                        self._lost(f"cannot be opened: {error}")
                        lost = True
                    self._stop.wait(delay)
                    delay = min(delay * 2, self.reconnect_max)
                    continue
                if opened_before:
                    self._count_reconnect()
                    log.info("%s: port is back", self.description)
                opened_before, lost, delay = True, False, self.reconnect_min
                self._set_state_unless_stopping(SourceState.CONNECTING)
                self._handle = handle
                try:
                    error = self._pump(handle)
                finally:
                    self._handle = None
                    self._close(handle)
                cut_off = self._parser.reset()  # a partial line must not merge with new data
                if error is not None and not self.stopping:
                    self._handle_results(cut_off)
                    self._lost(error)
                    lost = True
        finally:
            if self._capture is not None:
                self._capture.close()
                self._capture = None

    def _open(self) -> tuple[serial.SerialBase | None, str]:
        try:
            handle = serial.serial_for_url(
                self.port, baudrate=self.baud, timeout=READ_TIMEOUT, do_not_open=True
            )
            handle.open()
        except (serial.SerialException, OSError, ValueError) as exc:
            return None, str(exc)
        self._device = self._device_id()
        return handle, ""

    def _pump(self, handle: serial.SerialBase) -> str | None:
        """Read until the port is lost (returns why) or the source is stopped (None)."""
        quiet_since = time.monotonic()
        silent = False
        while not self.stopping:
            try:
                data = handle.read(1)
                if data:
                    data += handle.read(handle.in_waiting)
            except (serial.SerialException, OSError) as exc:
                return f"was lost: {exc}"
            now = time.monotonic()
            if data:
                self._record(data)
                if self._handle_results(self._parser.feed(data), now):
                    quiet_since, silent = now, False
            elif self._is_path and self._device_id() != self._device:
                # a pty whose peer closed can read empty instead of failing
                return "was lost: the device is gone"
            if not silent and now - quiet_since >= self.quiet_time:
                silent = True
                self._set_state_unless_stopping(SourceState.NO_DATA)
                self._note_error(
                    f"{self.description}: no valid frame for {self.quiet_time:g} s; "
                    "check that the console is sending and the profile matches."
                )
        return None

    def _handle_results(self, results: list[ParseResult], arrived: float | None = None) -> bool:
        """Deliver frames and count bad input; True when at least one frame was valid."""
        delivered = False
        for result in results:
            if isinstance(result, BadFrame):
                self._reject(f"{self.port} line {result.line}", result.reason)
                continue
            # wall clock from a monotonic base: a system clock step cannot reorder frames
            mono = time.monotonic() if arrived is None else arrived
            arrival = self._arrivals.stamp(self._base_wall + (mono - self._base_mono))
            stamp = result.device_timestamp
            frame = Frame.build(
                timestamp=stamp if stamp is not None else arrival,
                values=result.values,
                event=result.event,
                received_at=arrival,
                device_timestamp=stamp,
            )
            try:
                self._deliver(frame)
            except Exception as exc:  # a consumer's bug must not stop acquisition
                log.exception("%s: the frame handler failed", self.description)
                self._note_error(f"{self.description}: the frame handler failed: {exc!r}")
            delivered = True
        return delivered

    # -- helpers ---------------------------------------------------------------------
    def _device_id(self) -> tuple[int, int] | None:
        """Which device the port path names now; None once it vanished."""
        if not self._is_path:
            return None
        try:
            info = os.stat(self.port)
        except OSError:
            return None
        return info.st_rdev, info.st_ino

    def _lost(self, why: str) -> None:
        self._set_state_unless_stopping(SourceState.DISCONNECTED)
        message = (
            f"Serial port {self.port} {why}; check the cable and the port name. "
            f"Retrying every {self.reconnect_min:g} to {self.reconnect_max:g} s."
        )
        self._note_error(message)
        log.warning(message)

    def _set_state_unless_stopping(self, state: SourceState) -> None:
        if not self.stopping:
            self._set_state(state)

    def _close(self, handle: serial.SerialBase) -> None:
        with contextlib.suppress(serial.SerialException, OSError):  # already gone: fine
            handle.close()

    def _open_capture(self) -> None:
        if self.capture_path is None:
            return
        try:
            self._capture = self.capture_path.open("ab")
        except OSError as exc:
            self._note_error(f"Raw capture to {self.capture_path} is off: {exc}.")

    def _record(self, data: bytes) -> None:
        if self._capture is None:
            return
        try:
            self._capture.write(data)
            self._capture.flush()
        except OSError as exc:
            self._note_error(f"Raw capture to {self.capture_path} stopped: {exc}.")
            self._capture.close()
            self._capture = None

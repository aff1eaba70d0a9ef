"""A central station's HL7 link: one :class:`HL7Link` per bed it holds from the bus.

A watcher looks at the station's beds every ``poll_s`` and starts a link for each new bed
that has a patient id (``--patient-id BED=ID``); a bed without one sends nothing and says
so in :meth:`WardLinks.statuses`, since a message that names no patient cannot be filed.
Each bed has its own outbox (``<folder>/<bed>/``), so each bed's messages keep their order
and a restart of the central loses none: the link goes on from the outbox's cursors while
the station rebuilds the bed from the stream. The first time a bed is linked it reports
what the stream still holds of it (up to its 72 h), oldest first.

The station is duck-typed (``beds()``, each with ``bed`` and ``buffer``, and
``alarm_rows_after(bed, ident, limit)``), so this room does not import the central's.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Mapping
from pathlib import Path

from monitor.hl7.bed import BedView, LinkStatus
from monitor.hl7.link import HL7Link
from monitor.hl7.messages import Party
from monitor.hl7.outbox import Outbox

log = logging.getLogger("ecmo_monitor.hl7")
#: The first 40 bits of a bed's EUI-64 when none is given (``--device-id BED=EUI64``).
DEVICE_PREFIX = "0012210000"


def ward_device_id(bed: str) -> str:
    """A stable EUI-64 for ``bed``: the local prefix and 24 bits of the bed id's hash."""
    return DEVICE_PREFIX + hashlib.sha256(bed.encode()).hexdigest()[:6].upper()


class WardLinks:
    """Every bed's HL7 link at a central station."""

    def __init__(
        self,
        station,
        url: str,
        folder: Path,
        patients: Mapping[str, str],
        devices: Mapping[str, str] | None = None,
        *,
        min_flow_lpm: float,
        poll_s: float = 1.0,
        **link_args,
    ) -> None:
        self.station = station
        self.url = url
        self.folder = Path(folder)
        self.patients = dict(patients)
        self.devices = dict(devices or {})
        self.min_flow = min_flow_lpm
        self.poll = poll_s
        self.link_args = link_args
        self._links: dict[str, HL7Link] = {}
        self._unlinked: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> WardLinks:
        self.watch()
        self._thread = threading.Thread(target=self._watch_loop, name="hl7-ward", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            links = list(self._links.values())
        for link in links:
            link.stop()

    def _watch_loop(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.watch()
            except Exception:  # a watcher that dies would leave new beds unlinked, silently
                log.exception("HL7 ward watcher")

    def watch(self) -> None:
        """Start a link for each bed seen for the first time."""
        for remote in self.station.beds():
            bed = remote.bed
            with self._lock:
                known = bed in self._links or bed in self._unlinked
            if known:
                continue
            patient = self.patients.get(bed)
            if patient is None:
                log.warning(
                    "HL7: bed %s has no --patient-id %s=ID; nothing is sent for it", bed, bed
                )
                with self._lock:
                    self._unlinked.add(bed)
                continue
            link = self._link(remote, patient)
            with self._lock:
                self._links[bed] = link

    def _link(self, remote, patient: str) -> HL7Link:
        bed, station = remote.bed, self.station
        view = BedView(
            bed_id=bed,
            buffer=remote.buffer,
            min_flow_lpm=self.min_flow,
            alarms_after=lambda ident, limit: station.alarm_rows_after(bed, ident, limit),
            last_alarm_id=lambda: 0,  # a new outbox: what the stream holds of the bed
        )
        party = Party(bed, patient, self.devices.get(bed) or ward_device_id(bed))
        outbox = Outbox(self.folder / bed)
        log.info("HL7 link for %s (patient %s) to %s", bed, patient, self.url)
        return HL7Link(view, self.url, outbox, party, **self.link_args).start()

    # -- for the page and /api/central -----------------------------------------------------
    def links(self) -> dict[str, LinkStatus]:
        with self._lock:
            links = dict(self._links)
        return {bed: link.status() for bed, link in sorted(links.items())}

    def statuses(self) -> dict[str, dict]:
        """Each bed's link as ``/api/central`` shows it; a bed without a patient id too."""
        out = {bed: {"linked": True, **status.as_dict()} for bed, status in self.links().items()}
        with self._lock:
            unlinked = sorted(self._unlinked)
        for bed in unlinked:
            out[bed] = {"linked": False, "error": f"no patient id (--patient-id {bed}=ID)"}
        return out

    def summary(self) -> tuple[str, bool]:
        """One line for the central's header, and whether all is well."""
        links = self.links()
        with self._lock:
            unlinked = sorted(self._unlinked)
        queued = sum(s.queued for s in links.values())
        down = [bed for bed, s in links.items() if not s.connected]
        text = f"HL7 {len(links)} bed(s) linked, {queued} waiting"
        if down:
            text += f"; NOT CONNECTED for {', '.join(down[:5])}" + ("..." if len(down) > 5 else "")
        if unlinked:
            text += f"; no patient id for {', '.join(unlinked[:5])}" + (
                "..." if len(unlinked) > 5 else ""
            )
        return text, not down and not unlinked

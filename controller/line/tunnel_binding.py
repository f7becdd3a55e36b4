"""Binding the scan tunnel's results to the parcel the PLC reported: never a neighbour's.

When the PLC reports a parcel at the scan point, the readers, the scale and the
dimensioner are triggered for it. Whatever they return describes what was in their
field when they answered, so a result is bound only while the parcel can still be the
only one there: within the topology's scan window after it entered. The PLC's ring
does not say when it entered; :func:`entered_after_bound` gives the earliest time it
can have, and a parcel that may already be gone is not triggered for at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from controller.line.parts import LineParts
from controller.line.reader_link import identify_with
from controller.line.tunnel_link import measure_with
from controller.parcels.decision import Identification, RejectReason
from controller.parcels.labels import LabelRules
from controller.parcels.measurement import Measurement
from controller.parcels.state import Parcel
from drivers.plc.base import PlcPoll


def entered_after_bound(
    poll: PlcPoll, now: float, previous_poll: float | None, overflow: bool
) -> float:
    """The earliest time this poll's new scans can have entered the tunnel.

    A read on the wire sees an entry at most one poll after the PLC wrote it, and the
    PLC writes it when the parcel enters: after the previous poll was sent. That holds
    only for entries the controller could have seen at once. The first read of a
    session brings whatever the ring kept while nobody read it (a restart, a
    reconnect), and while the PLC reports a ring overflow it holds entries back and
    writes them late; the driver also says when it cannot tell (``scans_age_s`` is
    infinite). Such entries may be long gone from the readers' field: -inf.
    """
    if previous_poll is None or overflow or poll.scans_age_s == math.inf:
        return -math.inf
    if poll.scans_age_s is not None:  # a subscription: the PLC's timestamps tell
        return now - poll.scans_age_s
    return previous_poll


class TunnelBinding:
    """Triggers the tunnel's devices for new parcels and binds what they return."""

    def __init__(self, parts: LineParts, clock: Callable[[], float]):
        self.parts = parts
        self.clock = clock
        self.scan_window_ms = parts.config.topology.scan_window_ms()
        self.labels = LabelRules(parts.config.labels)

    def on_scans(self, poll: PlcPoll, entered_after: float, now: float) -> None:
        """Start each new parcel; trigger the tunnel's devices while it can be in their field.

        A parcel that may have left the field already is not triggered for (the devices
        would see whatever is in the field now): it is recorded as not read and not
        measured, with the reason, and goes to the reject chute.
        """
        tracker, journal = self.parts.tracker, self.parts.journal
        backlog = entered_after == -math.inf
        late_ms = (now - entered_after) * 1000
        gone = None
        if late_ms > self.scan_window_ms:
            gone = (
                "reported by the PLC after the parcel may have left the readers' field "
                + (
                    "(entries kept while the controller was not reading, or held back by a "
                    "full PLC ring)"
                    if backlog
                    else f"({late_ms:.1f} ms after it entered at the latest; the field is "
                    f"{self.scan_window_ms:.1f} ms long)"
                )
                + ": readers not triggered, nothing bound"
            )
        for scan in poll.scans:
            parcel, events = tracker.on_scan(
                scan.tracking_id, now, backlog=backlog, not_scanned=gone
            )
            if not events:
                continue
            journal.extend(events)
            if gone is None:
                self.parts.spawn(self._identify(parcel, entered_after))
                if self.parts.measures:
                    self.parts.spawn(self._measure(parcel, entered_after))
                continue
            no_read = Identification(None, RejectReason.NO_READ, gone)
            journal.extend(tracker.on_identified(parcel, no_read, (), "", now))
            if self.parts.measures:
                missing = Measurement(weight_error=gone, dimensions_error=gone)
                journal.extend(tracker.on_measured(parcel, missing, now))

    async def _identify(self, parcel: Parcel, entered_after: float) -> None:
        """Trigger the readers for ``parcel``; a read that may be a neighbour's is no read."""
        images: list[tuple[str, bytes]] = []
        identification, symbols, raw = await identify_with(self.parts.readers, self.labels, images)
        done = self.clock()
        age_ms = (done - entered_after) * 1000
        if identification.barcode is not None and age_ms > self.scan_window_ms:
            identification = Identification(
                None,
                RejectReason.NO_READ,
                f"read finished up to {age_ms:.1f} ms after the parcel entered the tunnel; it "
                f"leaves the readers' field after {self.scan_window_ms:.1f} ms, so the label "
                "may be a neighbour's: not bound",
            )
        events = self.parts.tracker.on_identified(parcel, identification, symbols, raw, done)
        self.parts.journal.extend(events)
        if images and self.parts.images is not None:
            await self.parts.images.keep(parcel.uid, images, done)  # the files, in a thread

    async def _measure(self, parcel: Parcel, entered_after: float) -> None:
        """Weigh and measure ``parcel``; a result that may be a neighbour's is not bound."""
        tunnel = self.parts.config.tunnel
        m = await measure_with(
            self.parts.scales,
            self.parts.dimensioners,
            tunnel.measure_deadline_ms / 1000,
            tunnel.volumetric_divisor,
        )
        done = self.clock()
        age_ms = (done - entered_after) * 1000
        if age_ms > self.scan_window_ms and (m.weight is not None or m.dimensions is not None):
            late = (
                f"measured up to {age_ms:.1f} ms after the parcel entered the tunnel (window "
                f"{self.scan_window_ms:.1f} ms): may be a neighbour's, not bound"
            )
            m = Measurement(
                weight_device=m.weight_device,
                weight_error=late if m.weight else m.weight_error,
                dimensions_device=m.dimensions_device,
                dimensions_error=late if m.dimensions else m.dimensions_error,
            )
        self.parts.journal.extend(self.parts.tracker.on_measured(parcel, m, done))

"""What every measuring-device protocol handler offers, and the state of a weighing platform.

A handler is pure protocol: it splits the bytes it receives into requests and builds
the device's reply bytes for each (a :class:`Reply`, possibly delayed), given the
parcel on the platform now (a ``lookup`` callable) and the faults drawn for the request.
Devices that talk unprompted build frames in :meth:`MeasureProtocol.push` (a periodic
stream) or :meth:`MeasureProtocol.on_scanned` (one telegram per parcel).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simulators.measure.faults import Draw
from simulators.parcels import ParcelSpec

Lookup = Callable[[], ParcelSpec | None]
"""The parcel on the scale / in the dimensioner now, or None."""

MAX_REQUEST = 1024
"""A buffer this long without a terminator is dropped (line noise)."""

KG_PER_LB = 0.45359237
MM_PER_INCH = 25.4


@dataclass(frozen=True)
class Reply:
    """Bytes to send, and how long the device takes before it sends them."""

    data: bytes
    delay_s: float = 0.0


class MeasureProtocol:
    """Base handler: requests end with ``terminator``; no reply, no push."""

    terminator: bytes = b"\r"
    push_period_s: float | None = None
    """Seconds between two unsolicited frames (:meth:`push`), None: the device never pushes."""

    def __init__(self, lookup: Lookup):
        self.lookup = lookup

    def requests(self, buffer: bytearray) -> list[bytes]:
        """Take the complete requests out of ``buffer`` (terminator removed)."""
        out = []
        while (end := buffer.find(self.terminator)) >= 0:
            out.append(bytes(buffer[:end]))
            del buffer[: end + len(self.terminator)]
        if len(buffer) > MAX_REQUEST:
            buffer.clear()
        return out

    def reply(self, request: bytes, draw: Draw) -> Reply | None:
        """The device's answer to one request (None: it says nothing)."""
        return None

    def push(self, draw: Draw) -> Reply | None:
        """The next frame of an unsolicited stream."""
        return None

    def on_scanned(self, parcel: ParcelSpec, draw: Draw) -> Reply | None:
        """A parcel's front passed the scan point; a pushing device sends its telegram."""
        return None


class Platform:
    """A weighing platform with a zero offset and a tare, over the parcel lookup."""

    def __init__(self, lookup: Lookup):
        self.lookup = lookup
        self.zero_kg = 0.0
        self.tare_kg = 0.0

    def gross_kg(self) -> float:
        """Weight on the platform above zero."""
        parcel = self.lookup()
        load = parcel.weight_kg if parcel is not None else 0.0
        return load - self.zero_kg

    def net_kg(self) -> float:
        """Gross minus tare."""
        return self.gross_kg() - self.tare_kg

    def zero(self) -> None:
        """Take what is on the platform now as zero (and clear the tare)."""
        parcel = self.lookup()
        self.zero_kg = parcel.weight_kg if parcel is not None else 0.0
        self.tare_kg = 0.0

    def tare(self) -> float:
        """Take the gross weight now as tare; return it."""
        self.tare_kg = self.gross_kg()
        return self.tare_kg

    def clear_tare(self) -> None:
        """Forget the tare."""
        self.tare_kg = 0.0

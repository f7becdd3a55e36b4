"""The PLC variables' latest values as a subscription brings them, ordered by the PLC's clock.

The OPC UA sorter-PLC driver keeps values, not events: a repeated notification changes
nothing, and a value the PLC stamped earlier than the one held (a notification delayed
past a read) is not taken, so a ring never moves back. The mirror also knows how old
the scan ring's news may be (see :mod:`drivers.plc.source_clock`).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from asyncua import ua

from drivers.plc.source_clock import SourceClock


class ValueMirror:
    """Latest value and PLC ``SourceTimestamp`` of every subscribed PLC variable."""

    def __init__(self, values: dict[str, Any], stamps: dict[str, datetime | None]):
        self.values = values
        self.stamps = stamps
        self.clock = SourceClock()
        self._scan_changed_before: datetime | None = None
        """When the scan ring changed before its latest change (PLC clock)."""

    @classmethod
    def read(cls, keys: list[str], read: list[ua.DataValue]) -> ValueMirror:
        """A mirror of a Read's results for ``keys``."""
        values = {
            k: dv.Value.Value if dv.Value is not None else None
            for k, dv in zip(keys, read, strict=True)
        }
        stamps = {k: dv.SourceTimestamp for k, dv in zip(keys, read, strict=True)}
        return cls(values, stamps)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def take(self, key: str, dv: ua.DataValue) -> bool:
        """Keep ``dv`` as ``key``'s value unless what is held was stamped later."""
        if dv.Value is None or dv.Value.Value is None:
            return False
        source, held = dv.SourceTimestamp, self.stamps.get(key)
        if source is not None and held is not None and source < held:
            return False
        self.values[key] = dv.Value.Value
        self.stamps[key] = source
        return True

    def notified(self, key: str, dv: ua.DataValue) -> bool:
        """A notification brought ``dv`` for ``key``; True if it was newer than held."""
        self.clock.observe(dv.SourceTimestamp)
        held = self.stamps.get(key)
        if not self.take(key, dv):
            return False
        if key == "scan_ring" and dv.SourceTimestamp != held:
            self._scan_changed_before = held
        return True

    def scans_age_s(self, new_scans: int, fallback_s: float) -> float:
        """How long ago, at most, the ``new_scans`` newest scan entries entered the tunnel.

        One new entry changed the ring at its timestamp; with more, the first of them came
        after the ring's previous change. Without timestamps: ``fallback_s``.
        """
        source = self.stamps.get("scan_ring") if new_scans == 1 else self._scan_changed_before
        earliest = self.clock.earliest(source)
        return time.time() - earliest if earliest is not None else fallback_s

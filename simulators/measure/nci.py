"""NCI protocol of Avery Weigh-Tronix / Brecknell shipping scales.

``W<CR>`` -> ``<LF>0001.23lb<CR><LF><s1><s2><CR><ETX>`` (7 characters, 2 decimals;
``H`` gives 3 decimals), ``S<CR>`` -> ``<LF><s1><s2><CR><ETX>``, ``Z<CR>`` zeroes and
answers the status, anything else ``<LF>?<CR><ETX>``. Status bytes have the high nibble
0x3: byte 1 bit0 motion, bit1 at zero, bit2 RAM error; byte 2 bit0 under capacity,
bit1 over capacity. Faults: unstable -> motion bit, overload -> over capacity bit,
error -> RAM error bit.
"""

from __future__ import annotations

from simulators.measure.base import KG_PER_LB, Lookup, MeasureProtocol, Platform, Reply
from simulators.measure.faults import Draw, Fault

ETX = b"\x03"


def nci_status(
    *,
    motion: bool = False,
    at_zero: bool = False,
    ram_error: bool = False,
    under: bool = False,
    over: bool = False,
) -> bytes:
    """The two NCI status bytes."""
    first = 0x30 | motion | at_zero << 1 | ram_error << 2
    second = 0x30 | under | over << 1
    return bytes((first, second))


class Nci(MeasureProtocol):
    """An NCI shipping scale reporting in ``unit`` (lb or kg)."""

    terminator = b"\r"

    def __init__(self, lookup: Lookup, *, unit: str = "lb"):
        super().__init__(lookup)
        if unit not in ("lb", "kg"):
            raise ValueError("NCI unit must be lb or kg")
        self.platform = Platform(lookup)
        self.unit = unit

    def _status(self, draw: Draw) -> bytes:
        gross = self.platform.gross_kg()
        return nci_status(
            motion=Fault.UNSTABLE in draw,
            at_zero=abs(gross) < 0.0005,
            ram_error=Fault.ERROR in draw,
            under=gross < -0.0005,
            over=Fault.OVERLOAD in draw,
        )

    def reply(self, request: bytes, draw: Draw) -> Reply | None:
        """The answer to one command."""
        command = request.strip(b"\n\r ").decode("ascii", "replace")
        if not command:
            return None
        if command == "Z":
            self.platform.zero()
        if command in ("S", "Z"):
            return Reply(b"\n" + self._status(draw) + b"\r" + ETX)
        if command in ("W", "H"):
            value = self.platform.net_kg()
            if self.unit == "lb":
                value /= KG_PER_LB
            text = f"{value:07.2f}" if command == "W" else f"{value:08.3f}"
            weight = b"\n" + f"{text}{self.unit}".encode("ascii") + b"\r"
            return Reply(weight + b"\n" + self._status(draw) + b"\r" + ETX)
        return Reply(b"\n?\r" + ETX)

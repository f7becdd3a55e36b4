"""SMA SCP-0499 (multi-vendor scale standard).

Request ``<LF>W<CR>``; reply ``<LF><s><r><n><m><f><weight:10><unit:3><CR>``, e.g.
``\\n 1G       1.234kg \\r``. ``s``: space ok, ``Z`` centre of zero, ``O`` over,
``U`` under, ``E`` zero error; ``r``: range ``1``; ``n``: ``G`` gross, ``N`` net (after a
tare); ``m``: ``M`` motion, space stable; ``f``: reserved (space). ``Z`` (zero), ``T``
(tare), ``C`` (clear tare) and ``R`` (repeat: one frame here) answer with a weight frame;
``I``/``N`` give the info lines; ``<ESC>`` gets no reply; anything else ``<LF>?<CR>``.
Replies come ``reply_delay_s`` later (about 100 ms on real scales).
Faults: unstable -> ``M``, overload -> ``O``, error -> ``U`` or ``E``.
"""

from __future__ import annotations

from simulators.measure.base import Lookup, MeasureProtocol, Platform, Reply
from simulators.measure.faults import Draw, Fault

ESC = b"\x1b"
INFO_LINES = ("SMA:2/1.0", "TYP:S", "CAP:kg_:6000:1:0", "END:")


def sma_frame(
    kg: float,
    *,
    status: str = " ",
    net: bool = False,
    motion: bool = False,
    unit: str = "kg",
    tare: bool = False,
) -> bytes:
    """One SMA weight frame (``tare``: the stored tare weight, n = ``T``)."""
    mode = "T" if tare else ("N" if net else "G")
    body = f"{status}1{mode}{'M' if motion else ' '} {kg:>10.3f}{unit:<3}"
    return b"\n" + body.encode("ascii") + b"\r"


class Sma(MeasureProtocol):
    """An SMA level 1 scale (kg)."""

    terminator = b"\r"

    def __init__(self, lookup: Lookup, *, reply_delay_s: float = 0.1):
        super().__init__(lookup)
        self.platform = Platform(lookup)
        self.reply_delay_s = reply_delay_s

    def requests(self, buffer: bytearray) -> list[bytes]:
        """Requests end with CR; an ESC cancels and is dropped."""
        while (esc := buffer.find(ESC)) >= 0:
            del buffer[: esc + 1]
        return super().requests(buffer)

    def reply(self, request: bytes, draw: Draw) -> Reply | None:
        """The frame answering one command."""
        command = request.strip(b"\n\r ").decode("ascii", "replace")
        if not command:
            return None
        p = self.platform
        if command in ("I", "N"):
            lines = b"".join(b"\n" + line.encode("ascii") + b"\r" for line in INFO_LINES)
            return Reply(lines, self.reply_delay_s)
        if command == "Z":
            p.zero()
        elif command == "T":
            p.tare()
        elif command == "C":
            p.clear_tare()
        elif command == "M":
            return Reply(sma_frame(p.tare_kg, tare=True), self.reply_delay_s)
        elif command not in ("W", "R"):
            return Reply(b"\n?\r", self.reply_delay_s)
        net_kg = p.net_kg()
        status = " "
        if Fault.OVERLOAD in draw:
            status = "O"
        elif Fault.ERROR in draw:
            status = draw.rng.choice("UE")
        elif abs(p.gross_kg()) < 0.0005:
            status = "Z"
        frame = sma_frame(net_kg, status=status, net=p.tare_kg != 0, motion=Fault.UNSTABLE in draw)
        return Reply(frame, self.reply_delay_s)

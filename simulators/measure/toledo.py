"""Mettler Toledo continuous output: an unsolicited stream of weight frames.

``STX SWA SWB SWC wwwwww tttttt CR CHK`` about 7 times a second: 6 weight digits and
6 tare digits without a point, kg, 2 decimals. SWA = 0x20 | increment x1 (0x08) |
decimal code (Toledo table: 2 = XXXXXX, 3 = XXXXX.X, 4 = XXXX.XX, 5 = XXX.XXX);
SWB = 0x20 | kg (0x10) | motion (0x08) | out of range (0x04) | negative (0x02) |
net (0x01); SWC = 0x20. CHK = two's complement of the sum of the low 7 bits of every
byte from STX to CR, as 7 bits. Input is ignored. Faults: unstable -> motion bit,
overload -> out of range bit, bad_checksum -> a wrong CHK, error -> power-up-not-zeroed
bit (0x40 of SWB).
"""

from __future__ import annotations

from simulators.measure.base import Lookup, MeasureProtocol, Platform, Reply
from simulators.measure.faults import Draw, Fault

STX, CR = 0x02, 0x0D
MAX_DIGITS = 999_999


def toledo_checksum(body: bytes) -> int:
    """Two's complement (7 bits) of the sum of the low 7 bits of every byte of ``body``."""
    return -sum(b & 0x7F for b in body) & 0x7F


def toledo_frame(
    kg: float,
    tare_kg: float = 0.0,
    *,
    decimals: int = 2,
    motion: bool = False,
    out_of_range: bool = False,
    not_zeroed: bool = False,
    bad_checksum: bool = False,
) -> bytes:
    """One continuous-output frame (with its checksum byte)."""
    if not 0 <= decimals <= 5:
        raise ValueError("decimals must be 0..5")
    scale = 10**decimals
    digits = round(abs(kg) * scale)
    if digits > MAX_DIGITS:
        digits, out_of_range = MAX_DIGITS, True
    tare = min(round(abs(tare_kg) * scale), MAX_DIGITS)
    swa = 0x20 | 0x08 | (2 + decimals)
    swb = 0x20 | 0x10
    swb |= 0x01 if tare_kg else 0
    swb |= 0x02 if kg < 0 and digits else 0
    swb |= 0x04 if out_of_range else 0
    swb |= 0x08 if motion else 0
    swb |= 0x40 if not_zeroed else 0
    body = bytes((STX, swa, swb, 0x20)) + f"{digits:06d}{tare:06d}".encode("ascii") + bytes((CR,))
    chk = toledo_checksum(body)
    if bad_checksum:
        chk = (chk + 1) & 0x7F
    return body + bytes((chk,))


class ToledoContinuous(MeasureProtocol):
    """A scale terminal streaming Toledo continuous output."""

    def __init__(self, lookup: Lookup, *, period_s: float = 1 / 7, decimals: int = 2):
        super().__init__(lookup)
        self.platform = Platform(lookup)
        self.push_period_s = period_s
        self.decimals = decimals

    def requests(self, buffer: bytearray) -> list[bytes]:
        """The stream ignores whatever the host sends."""
        buffer.clear()
        return []

    def push(self, draw: Draw) -> Reply | None:
        """The next frame of the stream."""
        p = self.platform
        frame = toledo_frame(
            p.net_kg(),
            p.tare_kg,
            decimals=self.decimals,
            motion=Fault.UNSTABLE in draw,
            out_of_range=Fault.OVERLOAD in draw,
            not_zeroed=Fault.ERROR in draw,
            bad_checksum=Fault.BAD_CHECKSUM in draw,
        )
        return Reply(frame)

"""Mettler Toledo continuous output: an unsolicited stream, about 7 frames a second.

``STX SWA SWB SWC wwwwww tttttt CR [CHK]``: six weight digits and six tare digits
without a decimal point (leading zeros may be sent as spaces).

SWA: bits 0-2 decimal position code (as in the Toledo manuals: 0 ``XXXX00``,
1 ``XXXXX0``, 2 ``XXXXXX``, 3 ``XXXXX.X``, 4 ``XXXX.XX``, 5 ``XXX.XXX``,
6 ``XX.XXXX``, 7 ``X.XXXXX``), bits 3-4 increment size (bit3 alone x1, bit4 alone
x2, both x5), bit5 always 1.
SWB: bit0 net, bit1 negative, bit2 out of range, bit3 motion, bit4 kg (else lb),
bit5 always 1, bit6 power-up not zeroed.
SWC: bit0 grams (overrides SWB bit4), bit3 print request, bit4 expanded display,
bit5 always 1.
CHK: two's complement of the sum of the low 7 bits of every byte from STX to CR,
compared on its low 7 bits (a parity bit may ride in bit 7).

A continuous-output scale takes no commands: zero and tare raise DeviceFault.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

from drivers.errors import DeviceFault, DeviceTimeout, ProtocolError
from drivers.scale.base import Weight, WeightMode
from drivers.scale.link_scale import LinkScale
from drivers.scale.units import to_kg
from drivers.transport import DelimitedFramer

log = logging.getLogger(__name__)

STX, CR = 0x02, 0x0D
FRAME_LENGTH = 17  # without the checksum
INCREMENTS = {1: "x1", 2: "x2", 3: "x5"}


class ChecksumError(ProtocolError):
    """The frame's checksum byte does not match its contents."""


def checksum(data: bytes) -> int:
    """The Toledo checksum of ``data`` (STX … CR): 7-bit two's complement of the sum."""
    return -sum(b & 0x7F for b in data) & 0x7F


def _digits(field: bytes, code: int, negative: bool, raw: str, device: str, address: str) -> str:
    text = field.decode("latin-1")
    digits = text.lstrip(" ")
    if not digits or not digits.isascii() or not digits.isdigit():
        raise ProtocolError(device, address, f"bad digit field {text!r} in {raw!r}")
    digits = digits.rjust(6, "0")
    if code <= 2:
        printed = digits + "0" * (2 - code)
    else:
        places = code - 2
        printed = digits[:-places] + "." + digits[-places:]
    return ("-" if negative else "") + printed


def parse_frame(
    frame: bytes, checksum_byte: bool = True, device: str = "scale", address: str = "-"
) -> Weight:
    """One frame as a Weight; ChecksumError, ProtocolError, or DeviceFault (out of range)."""
    raw = frame.decode("latin-1")
    expected = FRAME_LENGTH + (1 if checksum_byte else 0)
    if len(frame) != expected or frame[0] != STX or frame[FRAME_LENGTH - 1] != CR:
        raise ProtocolError(device, address, f"not a {expected}-byte STX … CR frame: {raw!r}")
    if checksum_byte and checksum(frame[:-1]) != frame[-1] & 0x7F:
        raise ChecksumError(
            device,
            address,
            f"bad checksum 0x{frame[-1]:02x}, expected 0x{checksum(frame[:-1]):02x}: {raw!r}",
        )
    swa, swb, swc = frame[1], frame[2], frame[3]
    for name, byte in (("SWA", swa), ("SWB", swb), ("SWC", swc)):
        if byte & 0xA0 != 0x20:
            raise ProtocolError(device, address, f"{name} 0x{byte:02x} lacks bit 5: {raw!r}")
    increment = INCREMENTS.get((swa >> 3) & 0x03)
    if increment is None or swa & 0x40:
        raise ProtocolError(device, address, f"SWA 0x{swa:02x} has no increment size: {raw!r}")
    if swb & 0x04:
        raise DeviceFault(device, address, f"out of range (over or under capacity): {raw!r}")
    code = swa & 0x07
    unit = "g" if swc & 0x01 else ("kg" if swb & 0x10 else "lb")
    value = Decimal(_digits(frame[4:10], code, bool(swb & 0x02), raw, device, address))
    tare = Decimal(_digits(frame[10:16], code, False, raw, device, address))
    stable = not swb & 0x08
    flags = [f"increment_{increment}"]
    for bit, byte, name in (
        (0x01, swb, "net"),
        (0x08, swb, "motion"),
        (0x40, swb, "power_up_not_zeroed"),
        (0x08, swc, "print_request"),
        (0x10, swc, "expanded"),
    ):
        if byte & bit:
            flags.append(name)
    legal = stable and not swb & 0x40 and not swc & 0x10
    return Weight(
        kg=to_kg(value, unit, device, address),
        value=value,
        unit=unit,
        stable=stable,
        mode=WeightMode.NET if swb & 0x01 else WeightMode.GROSS,
        legal_for_trade=legal,
        raw=raw,
        tare_kg=to_kg(tare, unit, device, address),
        flags=tuple(flags),
    )


class ToledoContinuousScale(LinkScale):
    """A scale streaming Toledo continuous output at a serial or TCP address.

    Frames with a bad checksum are skipped and counted in :attr:`bad_checksums`,
    other unparseable frames in :attr:`bad_frames`; neither is ever returned.
    """

    def __init__(
        self,
        name: str,
        url: str,
        timeout_s: float = 0.3,
        checksum: bool = True,
        *,
        stable_timeout_s: float | None = None,
    ):
        framer = DelimitedFramer(
            end=b"\r", start=b"\x02", trailer=1 if checksum else 0, max_frame=32
        )
        super().__init__(name, url, framer, timeout_s, stable_timeout_s)
        self.checksum = checksum
        self.bad_checksums = 0
        self.bad_frames = 0
        self.last_bad = ""

    async def _next(self, deadline: float) -> Weight:
        """The next well-formed frame before ``deadline`` (loop time)."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                frame = await self.link.read_frame(max(deadline - loop.time(), 0.0))
            except DeviceTimeout as err:
                if self.last_bad:
                    raise DeviceTimeout(
                        self.name, self.address, f"{err.detail}; last skipped: {self.last_bad}"
                    ) from err
                raise
            try:
                return parse_frame(frame, self.checksum, self.name, self.address)
            except ChecksumError as err:
                self.bad_checksums += 1
                self.last_bad = err.detail
            except ProtocolError as err:
                self.bad_frames += 1
                self.last_bad = err.detail
            log.debug("%s: skipped %s", self.name, self.last_bad)

    def _drop_stale(self) -> None:
        """Drop frames that arrived before the call, still counting bad checksums."""
        self.last_bad = ""
        for frame in self.link.drain_frames():
            if len(frame) != FRAME_LENGTH + (1 if self.checksum else 0):
                self.bad_frames += 1
            elif self.checksum and checksum(frame[:-1]) != frame[-1] & 0x7F:
                self.bad_checksums += 1

    async def read_now(self) -> Weight:
        """The next frame after the call (stale frames are dropped)."""
        self._drop_stale()
        return await self._next(asyncio.get_running_loop().time() + self.timeout_s)

    async def read_stable(self) -> Weight:
        """The first frame without motion and in range within ``stable_timeout_s``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.stable_timeout_s
        self._drop_stale()
        last: str | None = None
        while True:
            try:
                weight = await self._next(deadline)
            except DeviceFault as err:
                last = err.detail
                continue
            except DeviceTimeout:
                if last is None:
                    raise
                raise DeviceFault(
                    self.name,
                    self.address,
                    f"weight not stable within {self.stable_timeout_s * 1000:.0f} ms "
                    f"(last: {last})",
                ) from None
            if weight.stable:
                return weight
            last = f"motion {weight.raw!r}"

    async def zero(self) -> None:
        """Not possible: a continuous-output scale takes no commands."""
        raise DeviceFault(self.name, self.address, "cannot zero a continuous-output scale")

    async def tare(self) -> Weight:
        """Not possible: a continuous-output scale takes no commands."""
        raise DeviceFault(self.name, self.address, "cannot tare a continuous-output scale")

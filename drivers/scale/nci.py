"""NCI (Avery Weigh-Tronix, Brecknell shipping scales; often 9600 baud 7E1).

``W<CR>`` → ``<LF>xxxx.xxuu<CR><LF>hh<CR><ETX>`` (weight, 2-character unit, status);
``S<CR>`` → ``<LF>hh<CR><ETX>``; ``Z<CR>`` zeroes and answers the status;
anything unknown → ``<LF>?<CR><ETX>``. The frame starts with LF and also holds one
inside, so the framer does not restart on LF.

Status bytes have bits 4 and 5 set (high nibble 0x3, 0x7 with bit 6):

- byte 1: bit0 motion, bit1 at zero, bit2 RAM error, bit3 EEPROM error;
- byte 2: bit0 under capacity, bit1 over capacity, bit2 ROM error, bit3 bad calibration,
  bit6 another byte follows;
- byte 3 (optional): bits 0-1 range, bit2 net (else gross), bit3 initial-zero error,
  bit6 another byte follows (further bytes are kept but not decoded).
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.errors import DeviceFault, ProtocolError
from drivers.scale.base import Weight, WeightMode
from drivers.scale.link_scale import LinkScale
from drivers.scale.units import parse_number, to_kg
from drivers.transport import DelimitedFramer

MAX_STATUS_BYTES = 4
_BITS: tuple[dict[int, str], ...] = (
    {0: "motion", 1: "center_of_zero", 2: "ram_error", 3: "eeprom_error"},
    {0: "under_capacity", 1: "over_capacity", 2: "rom_error", 3: "bad_calibration"},
    {2: "net", 3: "initial_zero_error"},
)
FAULTS = {
    "under_capacity": "under capacity (underload)",
    "over_capacity": "over capacity (overload)",
    "ram_error": "RAM error",
    "rom_error": "ROM error",
    "eeprom_error": "EEPROM error",
    "bad_calibration": "bad calibration data",
    "initial_zero_error": "initial zero error",
}


@dataclass(frozen=True, slots=True)
class NciStatus:
    """Decoded NCI status bytes."""

    raw: bytes
    flags: tuple[str, ...]
    range: int | None = None

    @property
    def faults(self) -> tuple[str, ...]:
        """The flags that mean the scale cannot weigh."""
        return tuple(f for f in self.flags if f in FAULTS)

    @property
    def net(self) -> bool | None:
        """Net (True) or gross (False) when byte 3 says so, else None."""
        return None if self.range is None else "net" in self.flags


def decode_status(data: bytes, device: str = "scale", address: str = "-") -> NciStatus:
    """Decode the status bytes (2 or more, continuation by bit 6 from byte 2 on)."""
    if len(data) < 2 or len(data) > MAX_STATUS_BYTES:
        raise ProtocolError(
            device, address, f"expected 2-{MAX_STATUS_BYTES} status bytes: {data!r}"
        )
    for i, byte in enumerate(data):
        if byte & 0xB0 != 0x30:
            raise ProtocolError(
                device,
                address,
                f"status byte {i + 1} is 0x{byte:02x}, expected 0x3_/0x7_ "
                f"(7E1 parity settings?): {data!r}",
            )
        last = i == len(data) - 1
        if i >= 1 and bool(byte & 0x40) == last:
            why = "says another byte follows" if last else "is followed by another byte"
            raise ProtocolError(device, address, f"status byte {i + 1} {why}: {data!r}")
    flags = [
        name
        for i, bits in enumerate(_BITS[: len(data)])
        for b, name in bits.items()
        if data[i] & (1 << b)
    ]
    return NciStatus(data, tuple(flags), data[2] & 0x03 if len(data) >= 3 else None)


def _fault_if_any(status: NciStatus, raw: str, device: str, address: str) -> None:
    if status.faults:
        names = ", ".join(FAULTS[f] for f in status.faults)
        raise DeviceFault(device, address, f"{names}; status {status.raw!r}, reply {raw!r}")


def _lines(frame: bytes, device: str, address: str) -> tuple[list[bytes], str]:
    raw = frame.decode("latin-1")
    if not (frame.startswith(b"\n") and frame.endswith(b"\r\x03")) or len(frame) < 4:
        raise ProtocolError(device, address, f"not an NCI reply (LF … CR ETX): {raw!r}")
    lines = frame[1:-2].split(b"\r\n")
    if lines == [b"?"]:
        raise DeviceFault(device, address, f"unknown command (?); reply {raw!r}")
    return lines, raw


def parse_status(frame: bytes, device: str = "scale", address: str = "-") -> NciStatus:
    """A reply to ``S`` or ``Z``; a fault status raises DeviceFault."""
    lines, raw = _lines(frame, device, address)
    if len(lines) != 1:
        raise ProtocolError(device, address, f"expected a status reply, got {raw!r}")
    status = decode_status(lines[0], device, address)
    _fault_if_any(status, raw, device, address)
    return status


def parse_weight(frame: bytes, device: str = "scale", address: str = "-") -> Weight:
    """A reply to ``W`` as a Weight; fault status bits raise DeviceFault."""
    lines, raw = _lines(frame, device, address)
    if len(lines) == 1:
        parse_status(frame, device, address)
        raise ProtocolError(device, address, f"no weight in reply to W: {raw!r}")
    if len(lines) != 2:
        raise ProtocolError(device, address, f"expected weight and status lines: {raw!r}")
    status = decode_status(lines[1], device, address)
    _fault_if_any(status, raw, device, address)
    text = lines[0].decode("latin-1")
    if len(text) < 3 or not text.isascii() or not text.isprintable():
        raise ProtocolError(device, address, f"bad weight line {text!r} in {raw!r}")
    value = parse_number(text[:-2], device, address)
    unit = text[-2:].strip(" ")
    kg = to_kg(value, unit, device, address)
    stable = "motion" not in status.flags
    return Weight(
        kg=kg,
        value=value,
        unit=unit,
        stable=stable,
        mode=WeightMode.NET if status.net else WeightMode.GROSS,
        legal_for_trade=stable,
        raw=raw,
        flags=status.flags,
    )


class NciScale(LinkScale):
    """An NCI scale at a serial (often ``?baud=9600&parity=E&bytesize=7``) or TCP address.

    :meth:`read_stable` repeats ``W`` while the motion bit is set, for up to
    ``stable_timeout_s``. NCI has no tare command: :meth:`tare` raises DeviceFault.
    """

    def __init__(
        self,
        name: str,
        url: str,
        timeout_s: float = 0.3,
        *,
        stable_timeout_s: float | None = None,
    ):
        framer = DelimitedFramer(end=b"\x03", start=b"\n", max_frame=64, restart_on_start=False)
        super().__init__(name, url, framer, timeout_s, stable_timeout_s)

    async def read_now(self) -> Weight:
        """``W``: the weight now, stable or not."""
        return parse_weight(await self._transact(b"W\r"), self.name, self.address)

    async def read_stable(self) -> Weight:
        """``W`` until the motion bit is clear."""
        return await self._poll_until_stable(self.read_now)

    async def status(self) -> NciStatus:
        """``S``: the status bytes alone."""
        return parse_status(await self._transact(b"S\r"), self.name, self.address)

    async def zero(self) -> None:
        """``Z``: zero the scale; a fault status raises DeviceFault."""
        parse_status(await self._transact(b"Z\r"), self.name, self.address)

    async def tare(self) -> Weight:
        """Not in the NCI protocol: always DeviceFault."""
        raise DeviceFault(
            self.name, self.address, "NCI has no tare command; tare at the scale instead"
        )

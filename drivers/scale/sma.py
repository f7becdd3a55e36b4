"""SMA SCP-0499, the multi-vendor scale protocol.

Request ``<LF>W<CR>``; reply ``<LF><s><r><n><m><f><weight:10><unit:3><CR>``:

- ``s`` status: ``Z`` centre of zero, ``O`` over capacity, ``U`` under capacity,
  ``E`` zero error, ``T`` tare error, space none of these;
- ``r`` range (a digit, ``1`` without multi-interval);
- ``n`` ``G`` gross, ``T`` tare, ``N`` net; lowercase ``g``/``n`` high resolution
  (not legal for trade);
- ``m`` ``M`` motion, space stable; ``f`` reserved (a space).

``Z`` zeroes and ``T`` tares (both answer the standard reply), ``M`` returns the
tare weight (``n`` = ``T``). ``<LF>?<CR>`` answers an unknown command and
``<LF>!<CR>`` a parity or framing error.
"""

from __future__ import annotations

from drivers.errors import DeviceFault, ProtocolError
from drivers.scale.base import Weight, WeightMode
from drivers.scale.link_scale import LinkScale
from drivers.scale.units import parse_number, to_kg
from drivers.transport import DelimitedFramer

BODY_LENGTH = 18
STATUS_FAULTS = {
    "O": "overload: over capacity",
    "U": "underload: under capacity",
    "E": "zero error: cannot zero (outside the zero range or not stable)",
    "T": "tare error: cannot tare",
}
STATUS_OK = {" ": (), "Z": ("center_of_zero",)}
MODES = {
    "G": WeightMode.GROSS,
    "T": WeightMode.TARE,
    "N": WeightMode.NET,
    "g": WeightMode.GROSS,
    "n": WeightMode.NET,
}
REPLY_FAULTS = {
    "?": "unknown command (?)",
    "!": "parity or framing error (!): check baud, parity, data and stop bits",
}


def parse_reply(frame: bytes, device: str = "scale", address: str = "-") -> Weight:
    """A standard SMA reply as a Weight; fault statuses and ``?``/``!`` raise DeviceFault."""
    raw = frame.decode("latin-1")
    if not (frame.startswith(b"\n") and frame.endswith(b"\r")) or len(frame) < 3:
        raise ProtocolError(device, address, f"not an SMA reply (LF … CR): {raw!r}")
    body = raw[1:-1]
    if body in REPLY_FAULTS:
        raise DeviceFault(device, address, f"{REPLY_FAULTS[body]}; reply {raw!r}")
    if len(body) != BODY_LENGTH or not body.isascii() or not body.isprintable():
        raise ProtocolError(
            device, address, f"expected {BODY_LENGTH} printable characters in {raw!r}"
        )
    s, r, n, m = body[0], body[1], body[2], body[3]
    weight_text, unit_text = body[5:15], body[15:18]
    if s not in STATUS_FAULTS and s not in STATUS_OK:
        raise ProtocolError(device, address, f"unknown status {s!r} in {raw!r}")
    if not (r.isdigit() or r == " "):
        raise ProtocolError(device, address, f"bad range {r!r} in {raw!r}")
    if n not in MODES:
        raise ProtocolError(device, address, f"bad gross/net/tare field {n!r} in {raw!r}")
    if m not in ("M", " "):
        raise ProtocolError(device, address, f"bad motion field {m!r} in {raw!r}")
    if s in STATUS_FAULTS:
        raise DeviceFault(device, address, f"{STATUS_FAULTS[s]}; reply {raw!r}")
    value = parse_number(weight_text, device, address)
    unit = unit_text.strip(" ")
    kg = to_kg(value, unit, device, address)
    stable = m == " "
    high_resolution = n in ("g", "n")
    flags = STATUS_OK[s] + (("motion",) if not stable else ())
    flags += ("high_resolution",) if high_resolution else ()
    mode = MODES[n]
    return Weight(
        kg=kg,
        value=value,
        unit=unit,
        stable=stable,
        mode=mode,
        legal_for_trade=stable and not high_resolution,
        raw=raw,
        tare_kg=kg if mode is WeightMode.TARE else None,
        flags=flags,
    )


class SmaScale(LinkScale):
    """An SMA SCP-0499 scale at a serial or TCP address.

    :meth:`read_stable` repeats ``W`` while the scale reports motion, for up to
    ``stable_timeout_s``; then DeviceFault saying the weight was not stable in time.
    """

    def __init__(
        self,
        name: str,
        url: str,
        timeout_s: float = 0.3,
        *,
        stable_timeout_s: float | None = None,
    ):
        framer = DelimitedFramer(end=b"\r", start=b"\n", max_frame=64)
        super().__init__(name, url, framer, timeout_s, stable_timeout_s)

    async def _request(self, command: bytes) -> Weight:
        frame = await self._transact(b"\n" + command + b"\r")
        return parse_reply(frame, self.name, self.address)

    async def read_now(self) -> Weight:
        """``W``: the weight now, stable or not."""
        return await self._request(b"W")

    async def read_stable(self) -> Weight:
        """``W`` until the scale reports no motion."""
        return await self._poll_until_stable(self.read_now)

    async def zero(self) -> None:
        """``Z``: zero the scale (``E`` zero error raises DeviceFault)."""
        await self._request(b"Z")

    async def tare(self) -> Weight:
        """``T`` then ``M``: tare, and return the tare weight the scale stored."""
        await self._request(b"T")
        weight = await self._request(b"M")
        if weight.mode is not WeightMode.TARE:
            raise ProtocolError(self.name, self.address, f"M (tare weight) answered {weight.raw!r}")
        return weight

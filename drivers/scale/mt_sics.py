"""Mettler Toledo MT-SICS: ASCII commands and replies, every line ending CR LF.

=========  ==========================================================
``S``      stable weight: ``S S <value> <unit>``; ``S I`` busy or stability
           timeout; ``S +`` overload; ``S -`` underload
``SI``     weight now: ``S S …`` stable or ``S D …`` dynamic (in motion)
``Z``      zero: ``Z A`` done; ``Z I`` / ``Z +`` / ``Z -`` refused
``T``      tare: ``T S <tare> <unit>``; ``T I`` / ``T +`` / ``T -`` refused
any        ``ES`` syntax, ``ET`` transmission, ``EL`` logical error
=========  ==========================================================

Lines are tokenised on whitespace, never on columns: a weight filling its field
leaves no space after the status (``S S12345678.12 g``), so the status is the
first character after the command and the value follows it.
"""

from __future__ import annotations

from decimal import Decimal

from drivers.errors import DeviceFault, ProtocolError
from drivers.scale.base import Weight, WeightMode
from drivers.scale.link_scale import LinkScale
from drivers.scale.units import parse_number, to_kg
from drivers.transport import DelimitedFramer

GENERAL_ERRORS = {
    "ES": "syntax error (ES): the scale did not recognise the command",
    "ET": "transmission error (ET): the scale received a garbled command",
    "EL": "logical error (EL): the scale cannot execute the command",
}
STATUS_FAULTS = {
    "I": "cannot execute now (busy, or no stable weight in the scale's stability time)",
    "+": "overload: weight above the weighing range",
    "-": "underload: weight below the weighing range",
}


def _split(frame: bytes, device: str, address: str) -> tuple[str, str, list[str], str]:
    """(command, status, rest tokens, raw) of one reply line; general errors raise."""
    raw = frame.decode("latin-1")
    if not frame.endswith(b"\r\n"):
        raise ProtocolError(device, address, f"reply does not end with CR LF: {raw!r}")
    line = raw[:-2]
    if not line.isascii() or not line.isprintable():
        raise ProtocolError(device, address, f"reply has non-printable bytes: {raw!r}")
    tokens = line.split()
    if len(tokens) == 1 and tokens[0] in GENERAL_ERRORS:
        raise DeviceFault(device, address, f"{GENERAL_ERRORS[tokens[0]]}; reply {raw!r}")
    if len(tokens) < 2:
        raise ProtocolError(device, address, f"not an MT-SICS reply: {raw!r}")
    command, status, rest = tokens[0], tokens[1][0], tokens[1][1:]
    return command, status, ([rest] if rest else []) + tokens[2:], raw


def _weight(rest: list[str], raw: str, device: str, address: str) -> tuple[Decimal, str, Decimal]:
    if len(rest) != 2:
        raise ProtocolError(device, address, f"expected '<value> <unit>' in {raw!r}")
    value = parse_number(rest[0], device, address)
    unit = rest[1]
    return value, unit, to_kg(value, unit, device, address)


def _fault(command: str, status: str, rest: list[str], raw: str, device: str, address: str):
    if rest:
        raise ProtocolError(device, address, f"unexpected text after status in {raw!r}")
    raise DeviceFault(device, address, f"{command}: {STATUS_FAULTS[status]}; reply {raw!r}")


def parse_weight(
    frame: bytes,
    mode: WeightMode = WeightMode.GROSS,
    device: str = "scale",
    address: str = "-",
) -> Weight:
    """A reply to ``S`` or ``SI`` as a Weight (``S D`` → unstable, flagged ``motion``)."""
    command, status, rest, raw = _split(frame, device, address)
    if command != "S":
        raise ProtocolError(device, address, f"expected a reply to S/SI, got {raw!r}")
    if status in STATUS_FAULTS:
        _fault("S", status, rest, raw, device, address)
    if status not in ("S", "D"):
        raise ProtocolError(device, address, f"unknown status {status!r} in {raw!r}")
    value, unit, kg = _weight(rest, raw, device, address)
    stable = status == "S"
    return Weight(
        kg=kg,
        value=value,
        unit=unit,
        stable=stable,
        mode=mode,
        legal_for_trade=stable,
        raw=raw,
        flags=() if stable else ("motion",),
    )


def parse_zero(frame: bytes, device: str = "scale", address: str = "-") -> None:
    """A reply to ``Z``: ``Z A`` returns, anything refused raises DeviceFault."""
    command, status, rest, raw = _split(frame, device, address)
    if command != "Z" or status not in ("A", *STATUS_FAULTS):
        raise ProtocolError(device, address, f"expected a reply to Z, got {raw!r}")
    if status in STATUS_FAULTS:
        _fault("Z", status, rest, raw, device, address)
    if rest:
        raise ProtocolError(device, address, f"unexpected text after 'Z A' in {raw!r}")


def parse_tare(frame: bytes, device: str = "scale", address: str = "-") -> Weight:
    """A reply to ``T``: ``T S <tare> <unit>`` as a TARE Weight."""
    command, status, rest, raw = _split(frame, device, address)
    if command != "T" or status not in ("S", *STATUS_FAULTS):
        raise ProtocolError(device, address, f"expected a reply to T, got {raw!r}")
    if status in STATUS_FAULTS:
        _fault("T", status, rest, raw, device, address)
    value, unit, kg = _weight(rest, raw, device, address)
    return Weight(
        kg=kg,
        value=value,
        unit=unit,
        stable=True,
        mode=WeightMode.TARE,
        legal_for_trade=True,
        raw=raw,
        tare_kg=kg,
    )


class MtSicsScale(LinkScale):
    """An MT-SICS scale or terminal at a serial or TCP address.

    ``S`` waits on the device for stability, so :meth:`read_stable`, :meth:`zero`
    and :meth:`tare` wait up to ``stable_timeout_s``. The reply does not say gross or
    net: ``mode`` is GROSS until :meth:`tare` sets a non-zero tare (then NET); set
    :attr:`mode` if the scale was tared at its terminal.
    """

    def __init__(
        self,
        name: str,
        url: str,
        timeout_s: float = 0.3,
        *,
        stable_timeout_s: float | None = None,
    ):
        super().__init__(name, url, DelimitedFramer(end=b"\r\n"), timeout_s, stable_timeout_s)
        self.mode = WeightMode.GROSS

    async def read_stable(self) -> Weight:
        """``S``: the scale answers once the weight is stable."""
        frame = await self._ask(b"S", self.stable_timeout_s)
        weight = parse_weight(frame, self.mode, self.name, self.address)
        if not weight.stable:
            raise ProtocolError(self.name, self.address, f"S answered dynamic: {weight.raw!r}")
        return weight

    async def _ask(self, command: bytes, timeout_s: float | None = None) -> bytes:
        """Send ``command``; return its reply line from the reply's own head on.

        MT-SICS lines have no start byte, so line noise before a reply lands in the
        same line. The reply to ``S``/``SI`` starts ``S ``, to ``Z`` ``Z ``, to ``T``
        ``T ``, or is a general error; bytes before that head are skipped and counted
        as garbage, like the framer does for devices with a start byte.
        """
        frame = await self._transact(command + b"\r\n", timeout_s)
        heads = (command[:1] + b" ", b"ES\r\n", b"ET\r\n", b"EL\r\n")
        found = [i for i in (frame.find(h) for h in heads) if i >= 0]
        skip = min(found) if found else 0
        if skip:
            framer = self.link.framer
            framer.garbage_bytes += skip
            framer.garbage_chunks += 1
            framer.last_garbage = frame[:skip][-64:]
        return frame[skip:]

    async def read_now(self) -> Weight:
        """``SI``: the weight now, stable or not."""
        frame = await self._ask(b"SI")
        return parse_weight(frame, self.mode, self.name, self.address)

    async def zero(self) -> None:
        """``Z``: zero the scale (waits for stability on the device)."""
        parse_zero(await self._ask(b"Z", self.stable_timeout_s), self.name, self.address)

    async def tare(self) -> Weight:
        """``T``: tare; returns the tare weight."""
        frame = await self._ask(b"T", self.stable_timeout_s)
        weight = parse_tare(frame, self.name, self.address)
        self.mode = WeightMode.NET if weight.kg != 0 else WeightMode.GROSS
        return weight

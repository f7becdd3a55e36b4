"""Mettler Toledo MT-SICS over a line (every line ends CR LF).

``S`` -> ``S S      1.234 kg`` (weight right-aligned in 10 characters, 3 decimals),
``SI`` -> ``S S …`` or ``S D …`` (dynamic), ``Z`` -> ``Z A``, ``T`` -> ``T S <tare> kg``,
``TA`` -> ``TA A <tare> kg``, ``TAC`` -> ``TAC A``, ``I4``/``@`` -> ``I4 A "<serial>"``,
anything else -> ``ES``. Faults: unstable (``S`` answers ``S I`` after the stability
timeout, ``SI`` answers ``S D``, ``Z``/``T`` answer ``Z I``/``T I``), overload (``S +``,
``Z +``, ``T +``), error (``EL`` or ``ET``).
"""

from __future__ import annotations

from simulators.measure.base import Lookup, MeasureProtocol, Platform, Reply
from simulators.measure.faults import Draw, Fault

EOL = b"\r\n"


def weight_line(head: str, kg: float) -> str:
    """``<head> <value:10.3f> kg``, as in ``S S      1.234 kg``."""
    return f"{head} {kg:>10.3f} kg"


class MtSics(MeasureProtocol):
    """An MT-SICS level 0/1 balance."""

    terminator = b"\n"

    def __init__(
        self, lookup: Lookup, *, stability_timeout_s: float = 0.5, serial: str = "SIM0001"
    ):
        super().__init__(lookup)
        self.platform = Platform(lookup)
        self.stability_timeout_s = stability_timeout_s
        self.serial = serial

    def reply(self, request: bytes, draw: Draw) -> Reply | None:
        """The answer line to one command."""
        command = request.decode("ascii", "replace").strip()
        if not command:
            return None
        if Fault.ERROR in draw:
            return _line(draw.rng.choice(("EL", "ET")))
        p = self.platform
        if command in ("S", "SI"):
            if Fault.OVERLOAD in draw:
                return _line("S +")
            if Fault.UNSTABLE in draw:
                if command == "S":
                    return _line("S I", self.stability_timeout_s)
                return _line(weight_line("S D", p.net_kg()))
            return _line(weight_line("S S", p.net_kg()))
        if command in ("Z", "T"):
            if Fault.OVERLOAD in draw:
                return _line(f"{command} +")
            if Fault.UNSTABLE in draw:
                return _line(f"{command} I", self.stability_timeout_s)
            if command == "Z":
                p.zero()
                return _line("Z A")
            return _line(weight_line("T S", p.tare()))
        if command == "TA":
            return _line(weight_line("TA A", p.tare_kg))
        if command == "TAC":
            p.clear_tare()
            return _line("TAC A")
        if command in ("I4", "@"):
            return _line(f'I4 A "{self.serial}"')
        return _line("ES")


def _line(text: str, delay_s: float = 0.0) -> Reply:
    return Reply(text.encode("ascii") + EOL, delay_s)

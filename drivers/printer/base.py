"""What a label printer driver offers, whatever the wire: send a label, ask its status.

A label is a complete printer-language format (ZPL: ``^XA … ^XZ``) composed by the
controller; the driver only carries it. :class:`PrinterStatus` is the printer's own
answer to a status query (ZPL ``~HS``), reduced to the three conditions that stop a
label from printing, with the raw strings kept for diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """One status answer: what stops printing now, and the strings it came in."""

    paper_out: bool
    paused: bool
    head_up: bool
    raw: tuple[str, ...] = ()

    @property
    def ready(self) -> bool:
        """True when a label sent now would print: paper in, not paused, head down."""
        return not (self.paper_out or self.paused or self.head_up)

    @property
    def problems(self) -> tuple[str, ...]:
        """What is wrong, in words an operator acts on (empty when :attr:`ready`)."""
        named = (("paper out", self.paper_out), ("paused", self.paused), ("head up", self.head_up))
        return tuple(text for text, flag in named if flag)


class LabelPrinter(Protocol):
    """A network label printer.

    Every coroutine raises :class:`drivers.errors.DriverError` subclasses naming the
    printer and its address: ``ConnectionLost`` when it cannot connect or the link
    dropped (the next call connects again), ``DeviceTimeout`` when a status query gets
    no answer, ``ProtocolError`` when the answer cannot be parsed.
    """

    name: str
    address: str

    async def connect(self) -> None:
        """Open the connection (ConnectionLost if it cannot)."""

    async def close(self) -> None:
        """Close the connection; safe to call twice."""

    async def status(self) -> PrinterStatus:
        """Ask the printer's status."""

    async def send(self, label: str) -> None:
        """Send one label format; returns once it is written to the connection."""

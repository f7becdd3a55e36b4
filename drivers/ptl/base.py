"""What a pick-to-light driver offers, whatever the wire: lights by node, button events.

A pick-to-light bus is a string of modules (a "light" or "tag" per cubby), each with a
numeric display (or none), a coloured lamp, a confirm button and optionally a shortage
button. The controller addresses a module by its **node** (Atop: 1–250 on one port;
Banner PICK-IQ: the Modbus device id 1–247).

The driver turns the wire into :class:`LightEvent` values queued in arrival order:
``confirm`` and ``shortage`` presses (with the value the module showed: an operator may
have adjusted it), ``offline``/``online`` when a module stops or starts answering, and
``fault`` for a module's error return (malfunction, illegal command, buttons locked).
A dead link raises :class:`~drivers.errors.ConnectionLost` from every call, as every
driver does; a single module that does not answer is an ``offline`` event, never an
exception (the rest of the wall goes on).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Colour(StrEnum):
    """Lamp colours every supported module can show."""

    RED = "red"
    GREEN = "green"
    ORANGE = "orange"
    OFF = "off"


class EventKind(StrEnum):
    """What a module reported."""

    CONFIRM = "confirm"
    SHORTAGE = "shortage"
    OFFLINE = "offline"
    ONLINE = "online"
    FAULT = "fault"


@dataclass(frozen=True, slots=True)
class LightEvent:
    """One report from the bus.

    ``value`` is the number the module showed when its button was pressed (``None``
    for events without one); ``detail`` names a fault (``malfunction``,
    ``illegal_command``, ``buttons_locked``, ``timeout``) or is empty.
    ``at`` is the driver's monotonic clock when the event was read off the wire.
    """

    kind: EventKind
    node: int
    value: int | None = None
    detail: str = ""
    at: float = 0.0


class PickToLight(Protocol):
    """A pick-to-light bus (one controller port or one Modbus line of lights).

    Every coroutine raises :class:`drivers.errors.DriverError` subclasses:
    ``ConnectionLost`` when the link is down, ``ProtocolError`` for bytes that cannot
    be parsed (after resynchronising on the next frame). Commands to a module that
    is offline do not raise; they are dropped and the module's ``offline`` event
    says why.
    """

    name: str
    address: str

    async def connect(self) -> None:
        """Open the link (and learn which modules answer)."""

    async def close(self) -> None:
        """Close the link; pending :meth:`next_event` calls raise ``ConnectionLost``."""

    async def show(self, node: int, value: int, colour: Colour, *, flash: bool = False) -> None:
        """Light ``node`` in ``colour`` showing ``value`` (0–999999), steady or flashing."""

    async def clear(self, node: int) -> None:
        """Turn ``node``'s display and lamp off."""

    async def next_event(self) -> LightEvent:
        """The next event, in arrival order; waits until there is one."""

    def offline_nodes(self) -> frozenset[int]:
        """Modules that do not answer now (as far as the driver knows)."""

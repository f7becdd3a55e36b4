"""The far side of a pick-to-light bus: the modules' displays and the presses made on them.

A :class:`LightBank` is what both pick-to-light simulators (Atop over TCP, Banner over
Modbus RTU) serve: each module's value, colour, flashing and whether it is on the bus.
Protocol servers apply the host's commands with :meth:`LightBank.show` /
:meth:`LightBank.clear` and turn every :class:`Press` from :meth:`LightBank.next_press`
into their wire's button report. Operators (:mod:`simulators.ptl.operator`) and tests
press buttons with :meth:`LightBank.press` and watch the lights with
:meth:`LightBank.subscribe`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass
class Module:
    """One module as an operator sees it: ``value`` None means the display is dark."""

    node: int
    value: int | None = None
    colour: str = "off"
    flash: bool = False
    online: bool = True
    changed_at: float = 0.0
    history: list[tuple[float, int | None, str, bool]] = field(default_factory=list)

    @property
    def lit(self) -> bool:
        """True while the module shows something."""
        return self.value is not None and self.colour != "off"


@dataclass(frozen=True, slots=True)
class Press:
    """A button pressed: ``kind`` is ``confirm`` or ``shortage``; ``value`` what was shown."""

    node: int
    kind: str
    value: int


Listener = Callable[[Module], None]


class LightBank:
    """The modules of one bus, keyed by node."""

    def __init__(self, nodes: Iterable[int], *, keep_history: int = 50):
        self.modules = {n: Module(n) for n in nodes}
        self.keep_history = keep_history
        self._presses: asyncio.Queue[Press] = asyncio.Queue()
        self._listeners: list[Listener] = []
        self.presses_made = 0

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(module)`` after every change of a module's display."""
        self._listeners.append(listener)

    def show(self, node: int, value: int | None, colour: str, *, flash: bool = False) -> None:
        """The host lit ``node`` (a server calls this for a display command)."""
        module = self.modules[node]
        module.value, module.colour, module.flash = value, colour, flash
        self._changed(module)

    def clear(self, node: int) -> None:
        """The host turned ``node`` off."""
        self.show(node, None, "off")

    def set_online(self, node: int, online: bool) -> None:
        """Drop a module off the bus (it stops answering) or put it back."""
        self.modules[node].online = online

    def press(self, node: int, kind: str = "confirm") -> bool:
        """Press a button; False (nothing sent) when the module is off the bus."""
        module = self.modules[node]
        if not module.online:
            return False
        self.presses_made += 1
        self._presses.put_nowait(Press(node, kind, module.value or 0))
        return True

    async def next_press(self) -> Press:
        """The next press to report on the wire."""
        return await self._presses.get()

    def lit(self) -> list[Module]:
        """Modules showing something now."""
        return [m for m in self.modules.values() if m.lit]

    def _changed(self, module: Module) -> None:
        module.changed_at = time.monotonic()
        module.history.append((module.changed_at, module.value, module.colour, module.flash))
        del module.history[: -self.keep_history]
        for listener in self._listeners:
            listener(module)

"""Supervisors of the put wall's and the docks' devices: light buses and hand scanners.

Each keeps its device connected (reconnect with backoff, link alarm, as every device
supervisor does) and hands what arrives to a callback: a light bus its button and
module events, a scanner every code read. A light bus re-shows what its modules must
show each time it (re)connects, so a bus that was down never leaves a stale light.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable, Iterable

from controller.alarms.board import AlarmBoard, Severity
from controller.devices.links import Backoff
from controller.devices.supervisor import DeviceSupervisor
from controller.errors import ControllerError
from controller.putwall.wall import Light
from drivers.barcode.base import BarcodeReader
from drivers.cancelling import start_guarded
from drivers.errors import DeviceTimeout, DriverError
from drivers.ptl.base import LightEvent, PickToLight
from drivers.registry import create_station_reader
from plc_configs.devices import BarcodeReaderDevice

log = logging.getLogger(__name__)

EventHandler = Callable[[LightEvent], Awaitable[None]]
CodeHandler = Callable[[str], Awaitable[None]]


class LightBusLink(DeviceSupervisor):
    """One pick-to-light bus: events to ``on_event``; :meth:`enqueue` lights the modules.

    Light commands are queued and sent by one task in the order they were queued: the
    wall decides its lights synchronously, so a light decided later is never sent
    before one decided earlier (a close-out's light after the next put's, say).
    """

    driver: PickToLight

    def __init__(self, *args, on_event: EventHandler, resting: Callable[[], Iterable[Light]]):
        super().__init__(*args)
        self.on_event = on_event
        self.resting = resting
        self.lights_sent = 0
        self.lights_failed = 0
        self._queue: collections.deque[Light] = collections.deque()
        self._queued = asyncio.Event()

    def enqueue(self, lights: Iterable[Light]) -> None:
        """Queue light commands (sent in order while the link is up; dropped while down,
        as every module is shown again when it comes back)."""
        if not self.link.up:
            self.lights_failed += sum(1 for _ in lights)
            return
        self._queue.extend(lights)
        if self._queue:
            self._queued.set()

    async def session(self) -> None:
        """Re-show every module's state, then send lights and take events until it fails."""
        self._queue.clear()
        self._queue.extend(self.resting())
        self._queued.set()
        async with asyncio.TaskGroup() as group:
            start_guarded(group, self._sender(), f"{self.driver.name}-lights")
            while True:
                event = await self.driver.next_event()
                await self.on_event(event)

    async def _sender(self) -> None:
        while True:
            await self._queued.wait()
            self._queued.clear()
            while self._queue:
                await self.send([self._queue.popleft()])

    async def send(self, lights: Iterable[Light]) -> None:
        """Send light commands; a failure is counted (the link's alarm says why)."""
        for light in lights:
            if not self.link.up:
                self.lights_failed += 1
                continue
            try:
                if light.colour is None:
                    await self.driver.clear(light.node)
                else:
                    await self.driver.show(light.node, light.value, light.colour, flash=light.flash)
                self.lights_sent += 1
            except DriverError as err:
                self.lights_failed += 1
                log.warning("%s: light %s not sent: %s", self.driver.name, light, err)


def station_scanner(
    name: str,
    device: BarcodeReaderDevice,
    alarms: AlarmBoard,
    clock: Callable[[], float],
    on_code: CodeHandler,
) -> ScannerLink:
    """The supervised scanner of a put wall or a dock door (a warning when it drops: the
    page's scan field still works)."""
    link = ScannerLink(
        create_station_reader(name, device), alarms, Backoff.for_device(device), clock,
        on_code=on_code,
    )  # fmt: skip
    link.severity = Severity.WARNING
    return link


class ScannerLink(DeviceSupervisor):
    """A hand-held or fixed scanner at a wall or a door: every code read to ``on_code``."""

    driver: BarcodeReader

    def __init__(self, *args, on_code: CodeHandler):
        super().__init__(*args)
        self.on_code = on_code
        self.reads = 0
        self.no_reads = 0
        self.refused = 0

    async def session(self) -> None:
        """Wait for reads (a pushing scanner sends them when the operator pulls the trigger)."""
        while True:
            try:
                result = await self.driver.trigger()
            except DeviceTimeout:
                continue
            if not result.symbols:
                self.no_reads += 1
                continue
            for symbol in dict.fromkeys(s.data for s in result.symbols):
                self.reads += 1
                try:
                    await self.on_code(symbol)
                except ControllerError as err:  # refused: the alarm or the page says why
                    self.refused += 1
                    log.warning("%s: %s refused: %s", self.driver.name, symbol, err)

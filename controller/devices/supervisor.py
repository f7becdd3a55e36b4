"""One supervisor per device: connect, reconnect with backoff, link state, alarms.

A subclass implements :meth:`DeviceSupervisor.session`, the work done while the
link is up (poll, wait for replies…). A :class:`~drivers.errors.DriverError`
ends the session: the link goes down with an alarm naming the device, its
address and the error, and the supervisor reconnects with backoff. The alarm
clears when the link is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from controller.alarms.board import AlarmBoard, Severity
from controller.devices.links import Backoff, LinkState
from drivers.cancelling import raise_if_cancelling
from drivers.errors import ConnectionLost, DriverError

T = TypeVar("T")

log = logging.getLogger(__name__)


class Connectable(Protocol):
    """What a supervisor needs of a driver."""

    name: str
    address: str

    async def connect(self) -> None: ...  # noqa: D102
    async def close(self) -> None: ...  # noqa: D102


class DeviceSupervisor:
    """Keeps one device connected and runs :meth:`session` while it is."""

    severity = Severity.CRITICAL

    def __init__(
        self,
        driver: Connectable,
        alarms: AlarmBoard,
        backoff: Backoff,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.driver = driver
        self.alarms = alarms
        self.backoff = backoff
        self.clock = clock
        self._link = LinkState(driver.name, driver.address, False, clock(), "not connected yet")
        self.connected_event = asyncio.Event()
        self._counters: dict[str, int] = {}

    @property
    def alarm_key(self) -> str:
        """Key of this device's link alarm."""
        return f"link:{self.driver.name}"

    @property
    def link(self) -> LinkState:
        """The current link state."""
        return self._link

    def _set_link(self, up: bool, error: str | None) -> None:
        if up != self._link.up or error != self._link.last_error:
            since = self.clock() if up != self._link.up else self._link.since
            self._link = LinkState(self.driver.name, self.driver.address, up, since, error)

    async def run(self) -> None:
        """Connect, run the session, reconnect on failure; until cancelled."""
        try:
            while True:
                raise_if_cancelling()
                try:
                    await self.driver.connect()
                except DriverError as err:
                    self._down(err)
                    await asyncio.sleep(self.backoff.next_delay())
                    continue
                self.backoff.reset()
                self._set_link(True, None)
                self.alarms.clear(self.alarm_key, self.clock())
                self.connected_event.set()
                log.info("%s (%s): connected", self.driver.name, self.driver.address)
                try:
                    await self.session()
                except DriverError as err:
                    self._down(err)
                finally:
                    self.connected_event.clear()
                    await self.driver.close()
                await asyncio.sleep(self.backoff.next_delay())
        finally:
            self._set_link(False, "stopped")
            await self.driver.close()

    def _down(self, err: DriverError) -> None:
        self._set_link(False, err.detail)
        self.alarms.raise_(
            self.alarm_key,
            str(err),
            self.clock(),
            device=self.driver.name,
            severity=self.severity,
        )

    async def session(self) -> None:
        """Work while connected; raise DriverError when the link fails.

        The default watches the driver's ``connected`` flag (its reply reader notices a
        dropped connection) and calls :meth:`check_health` every 100 ms.
        """
        while getattr(self.driver, "connected", True):
            await asyncio.sleep(0.1)
            self.check_health()
        raise ConnectionLost(self.driver.name, self.driver.address, "connection dropped")

    def check_health(self) -> None:
        """Raise alarms from the driver's counters while connected (default: none)."""

    def alarm_on_growth(self, counter: str, text: str) -> None:
        """A warning alarm when the driver's counter attribute ``counter`` grew since last time.

        ``text`` may use ``{count}`` (the counter's value) and ``{last}`` (the driver's
        ``last_garbled`` text, if any).
        """
        value = getattr(self.driver, counter, 0)
        seen = self._counters.get(counter, 0)
        self._counters[counter] = value
        if value == seen:
            return
        last = getattr(self.driver, "last_garbled", "")
        self.alarms.raise_(
            f"{counter}:{self.driver.name}",
            f"{self.driver.name} ({self.driver.address}): " + text.format(count=value, last=last),
            self.clock(),
            device=self.driver.name,
            severity=Severity.WARNING,
        )

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T | DriverError:
        """Run one device operation; a driver error (or a link that is down) is returned."""
        if not self.link.up:
            return ConnectionLost(self.driver.name, self.driver.address, "link is down")
        try:
            return await operation()
        except DriverError as err:
            return err

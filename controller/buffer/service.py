"""The AS/RS buffer as the transport uses it: store, retrieve, what is inside, faults.

:class:`BufferService` keeps the AS/RS driver (:mod:`drivers.asrs`, OSIP or the
Gebhardt-like telegrams) connected through a device supervisor (reconnect with backoff,
a link alarm naming the device and address), and turns its orders into what the transport
waits for: :meth:`BufferService.store` returns the storage location once the unit is
stored, :meth:`BufferService.retrieve` returns once it is at the out-port. An order the
AS/RS refuses (location occupied, unknown handling unit) or a crane fault ending it raise
:class:`~controller.errors.TransportError` with the device's code and text; a link lost
while an order is out sends the same order (same id, same telegram sequence) again after
the reconnect, and the AS/RS executes it once. A crane fault raises an alarm until the
AS/RS reports it cleared.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from controller.alarms.board import AlarmBoard, Severity
from controller.devices.links import Backoff
from controller.devices.supervisor import DeviceSupervisor
from controller.errors import TransportError
from drivers.asrs import AsrsEvent, StorageSystem
from drivers.errors import ConnectionLost, DeviceFault, DeviceTimeout, DriverError
from drivers.registry import create_storage
from plc_configs.schema import LineConfig

log = logging.getLogger(__name__)


class AsrsSupervisor(DeviceSupervisor):
    """Keeps the AS/RS link up; its session is the driver's reader."""

    async def session(self) -> None:
        """Until the link drops (ConnectionLost)."""
        await self.driver.run()  # type: ignore[attr-defined]


class BufferService:
    """The line's AS/RS buffer (see the module docstring)."""

    def __init__(
        self,
        config: LineConfig,
        alarms: AlarmBoard,
        clock: Callable[[], float] = time.monotonic,
        *,
        order_timeout_s: float = 300.0,
        link_wait_s: float = 30.0,
    ):
        name = config.buffer.asrs
        if name is None:
            raise ValueError("buffer.asrs is not set")
        device = config.asrs_devices[name]
        self.name = name
        self.alarms = alarms
        self.clock = clock
        self.driver: StorageSystem = create_storage(name, device)
        self.supervisor = AsrsSupervisor(
            self.driver,
            alarms,
            Backoff.for_device(device),
            clock,  # type: ignore[arg-type]
        )
        self.order_timeout_s = order_timeout_s
        self.link_wait_s = link_wait_s
        self.contents: dict[str, str] = {}
        """Container -> its storage location, as the AS/RS reported it."""
        self.pending: dict[str, dict[str, Any]] = {}
        self.faults: dict[str, str] = {}
        self.counts: Counter[str] = Counter()
        self._ids = itertools.count(1)
        self.driver.add_listener(self._on_event)

    async def run(self) -> None:
        """Keep the AS/RS connected until cancelled."""
        await self.supervisor.run()

    def _on_event(self, event: AsrsEvent) -> None:
        now = self.clock()
        if event.kind == "stored" and event.hu:
            self.contents[event.hu] = event.location or ""
        elif event.kind == "retrieved" and event.hu:
            self.contents.pop(event.hu, None)
        elif event.kind == "fault":
            self.faults[event.error_code or "fault"] = event.error_text or ""
            self.alarms.raise_(
                f"asrs-fault:{self.name}",
                f"{self.name} ({self.driver.address}): fault {event.error_code}: "
                f"{event.error_text}",
                now,
                device=self.name,
                severity=Severity.CRITICAL,
            )
        elif event.kind == "cleared":
            self.faults.clear()
            self.alarms.clear(f"asrs-fault:{self.name}", now)

    async def store(self, container_id: str) -> str:
        """Store the container waiting at the in-port; its storage location."""
        event = await self._order("store", container_id)
        self.counts["stored"] += 1
        return event.location or ""

    async def retrieve(self, container_id: str) -> None:
        """Bring the container to the out-port."""
        await self._order("retrieve", container_id)
        self.counts["retrieved"] += 1

    async def _order(self, kind: str, container_id: str) -> AsrsEvent:
        order_id = f"{kind[0].upper()}{next(self._ids):05d}"
        self.pending[order_id] = {"kind": kind, "container_id": container_id, "since": time.time()}
        try:
            for attempt in range(1, 6):
                await self._link_up()
                try:
                    if kind == "store":
                        await self.driver.store(container_id, order_id=order_id)
                    else:
                        await self.driver.retrieve(container_id, order_id=order_id)
                    return await self.driver.wait(order_id, self.order_timeout_s)
                except DeviceFault as err:
                    self.counts[f"{kind}_refused"] += 1
                    raise TransportError(f"asrs {kind} refused: {err.detail}") from err
                except (ConnectionLost, DeviceTimeout) as err:
                    log.warning("%s %s of %s (try %d): %s", self.name, kind, container_id,
                                attempt, err)  # fmt: skip
                    last: DriverError = err
                except TimeoutError as err:
                    raise TransportError(
                        f"asrs {kind}: no result in {self.order_timeout_s:.0f} s"
                    ) from err
            raise TransportError(f"asrs {kind} failed: {last}") from last
        finally:
            self.pending.pop(order_id, None)

    async def _link_up(self) -> None:
        try:
            async with asyncio.timeout(self.link_wait_s):
                await self.supervisor.connected_event.wait()
        except TimeoutError as err:
            raise TransportError(
                f"asrs link down: {self.name} ({self.driver.address}): "
                f"{self.supervisor.link.last_error}"
            ) from err

    def snapshot(self) -> dict[str, Any]:
        """Occupancy, pending orders, faults and the link, for the API and the HMI."""
        link = self.supervisor.link
        return {
            "device": self.name,
            "address": self.driver.address,
            "link_up": link.up,
            "link_error": link.last_error,
            "stored": len(self.contents),
            "contents": dict(sorted(self.contents.items())),
            "pending": [{"order_id": k, **v} for k, v in self.pending.items()],
            "faults": dict(self.faults),
            "counts": dict(self.counts),
        }

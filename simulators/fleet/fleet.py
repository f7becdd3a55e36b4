"""The simulated AMR fleet: every vehicle of the line config on one process.

:class:`SimulatedFleet` builds one :class:`~simulators.fleet.vehicle.SimulatedVehicle`
per ``fleet.vehicles`` entry (each its own MQTT client), starting at its ``home`` parking
station's node, with the ``simulation.fleet`` settings (:class:`FleetSimulation`). It runs
the settings' timed faults from its start and offers the same faults as methods for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from urllib.parse import urlsplit

from plc_configs.fleet import FleetSimulation
from plc_configs.schema import LineConfig
from plc_configs.vda5050.messages import Load
from simulators.fleet.faults import BlockedLanes, TimedFault, timed_faults
from simulators.fleet.model import LOW_BATTERY_PCT, VehicleModel
from simulators.fleet.vehicle import BrokerAddress, SimulatedVehicle

log = logging.getLogger(__name__)


def broker_address(
    url: str, username: str | None = None, password: str | None = None
) -> BrokerAddress:
    """``mqtt://HOST:PORT`` (port 1883 if left out) → a :class:`BrokerAddress`."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise ValueError(f"not an mqtt://HOST:PORT broker address: {url!r}")
    return BrokerAddress(parts.hostname, parts.port or 1883, username, password)


class SimulatedFleet:
    """The line's vehicles on the broker at ``broker_url``."""

    def __init__(
        self,
        config: LineConfig,
        broker_url: str,
        *,
        settings: FleetSimulation | None = None,
        seed: int | None = None,
        username: str | None = None,
        password: str | None = None,
        tick_s: float = 0.05,
        reconnect_s: float = 1.0,
    ) -> None:
        fleet = config.fleet
        if fleet.layout is None or not fleet.vehicles:
            raise ValueError("the config has no fleet layout or no vehicles")
        self.settings = settings or config.simulation.fleet
        self.seed = config.simulation.seed if seed is None else seed
        self.broker = broker_address(broker_url, username, password)
        self.blocked = BlockedLanes()
        self.vehicles: dict[str, SimulatedVehicle] = {}
        layout = fleet.layout
        for vc in fleet.vehicles:
            home = layout.station(vc.home).node if vc.home else None
            model = VehicleModel(
                vc.manufacturer,
                vc.serial_number,
                layout,
                self.settings,
                home_node=home,
                version=fleet.protocol_version,
                blocked=self.blocked,
                rng=random.Random(f"{self.seed}/{vc.key}"),
            )
            self.vehicles[vc.serial_number] = SimulatedVehicle(
                model,
                self.broker,
                interface=fleet.interface_name,
                tick_s=tick_s,
                reconnect_s=reconnect_s,
            )
        self._faults: asyncio.Task[None] | None = None

    async def start(self, timeout_s: float = 10.0) -> None:
        """Connect every vehicle (wait until each is ``ONLINE``) and start the faults."""
        for vehicle in self.vehicles.values():
            await vehicle.start()
        try:
            async with asyncio.timeout(timeout_s):
                await asyncio.gather(*(v.online.wait() for v in self.vehicles.values()))
        except TimeoutError:
            await self.stop()
            raise ConnectionError(f"vehicles not online on {self.broker.host}") from None
        self._faults = asyncio.create_task(self._run_faults(), name="fleet-faults")

    async def stop(self) -> None:
        """Every vehicle ``OFFLINE`` and disconnected."""
        if self._faults is not None:
            self._faults.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._faults
            self._faults = None
        await asyncio.gather(*(v.stop() for v in self.vehicles.values()))

    async def _run_faults(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        for fault in timed_faults(self.settings):
            await asyncio.sleep(max(0.0, started + fault.at_s - loop.time()))
            self._apply(fault)

    def _apply(self, fault: TimedFault) -> None:
        log.info("fault: %s %s (%.1f s)", fault.kind, fault.target, fault.for_s)
        if fault.kind == "block":
            self.block_edge(fault.target, fault.for_s)
        elif fault.target not in self.vehicles:
            log.warning("fault for unknown vehicle %s ignored", fault.target)
        elif fault.kind == "drop_off":
            self.drop_off(fault.target, fault.for_s)
        else:
            self.set_battery(fault.target, LOW_BATTERY_PCT)

    # ---- faults for tests and scenarios -------------------------------------------------

    def drop_off(self, serial: str, for_s: float) -> None:
        """Vehicle ``serial`` loses the broker without DISCONNECT for ``for_s`` seconds."""
        self.vehicles[serial].drop_off(for_s)

    def block_edge(self, edge_id: str, for_s: float) -> None:
        """Lane ``start-end`` blocked for ``for_s`` seconds (orders using it: noRouteError;
        a vehicle about to drive it waits with a ``pathBlocked`` warning)."""
        self.blocked.block(edge_id, for_s)
        for vehicle in self.vehicles.values():
            vehicle.wake()

    def fail_next_action(self, serial: str, reason: str = "load sensor fault") -> None:
        """The next pick or drop of ``serial`` ends FAILED with ``reason``."""
        self.vehicles[serial].model.fail_next_action = reason

    def reject_next_order(self, serial: str, error_type: str = "validationError") -> None:
        """The next order (or update) ``serial`` receives is rejected with ``error_type``."""
        self.vehicles[serial].model.reject_next = error_type

    def set_battery(self, serial: str, pct: float) -> None:
        """Put ``serial``'s battery at ``pct`` %."""
        self.vehicles[serial].model.set_battery(pct)
        self.vehicles[serial].wake()

    def loads(self, serial: str) -> list[Load]:
        """What ``serial`` carries now."""
        return list(self.vehicles[serial].model.loads)

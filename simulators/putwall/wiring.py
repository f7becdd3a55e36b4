"""The put walls and dock doors of a line config, simulated: devices and people.

:class:`PutWallSimulation` builds, from a :class:`~plc_configs.schema.LineConfig`:

- a :class:`~simulators.ptl.bank.LightBank` per ``pick_to_light`` device (its nodes),
  served by the device's simulator (``atop``: ``AtopControllerSimulator``; ``banner-rtu``:
  ``BannerLightsSimulator`` behind an RTU-over-TCP gateway; a serial path cannot be
  served: the bank then has no wire, with a log line);
- a ``ZplPrinterSimulator`` per ``label_printer``;
- a :class:`~simulators.putwall.scale.CheckScale` per wall or door scale;
- a :class:`HandScanner` (a Cognex push reader) per wall or door scanner: it connects
  to the controller's listener at the device URL;
- a :class:`~simulators.putwall.operator.WallOperator` per wall that has a scanner, and a
  :class:`~simulators.putwall.loader.DockLoader` per ``loading.stations`` entry.

Which parcels a wall takes: those of its ``routes`` and of the routes of its ``trucks``
in the route plan (``plan``: the twin's ``factory.plan``). A container goes to the loader
of the door on its label, else of its truck's door in the plan; with neither it stays
at the wall (:attr:`PutWallSimulation.undocked`). ``simulation.putwall.module_drop`` and
``printer_paper_out`` are applied at their times after :meth:`PutWallSimulation.start`.
The light and printer simulators are imported when built (their modules are optional
here); tests may pass other factories.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from plc_configs.schema import (
    BarcodeReaderDevice,
    LabelPrinterDevice,
    LineConfig,
    PickToLightDevice,
    ScaleDevice,
)
from simulators.measure.devices import MeasureTiming
from simulators.parcels import ParcelSpec
from simulators.ptl.bank import LightBank
from simulators.putwall.loader import Container, DockLoader
from simulators.putwall.operator import OperatorTiming, WallOperator, latency_figures
from simulators.putwall.scale import CheckScale
from simulators.readers.base import AIM_CODE128
from simulators.readers.cognex_push import CognexPushSimulator
from simulators.route_plan import RoutePlan
from simulators.twin import Event, EventKind

log = logging.getLogger(__name__)


class Served(Protocol):
    """A light or printer simulator: started and stopped with the rest."""

    async def start(self) -> None:
        """Start serving."""

    async def stop(self) -> None:
        """Stop serving."""


class HandScanner(CognexPushSimulator):
    """A hand-held scanner in push mode: one line per code the person scans."""

    def push_code(self, code: str) -> None:
        """Push ``code`` (as a Code 128 read: ``]C0<code>``); lost while not connected."""
        self.triggers += 1
        self._send((AIM_CODE128 + code).encode("latin-1") + b"\r\n")


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host if host not in ("", "0.0.0.0") else "127.0.0.1", 0))
        return s.getsockname()[1]


def make_light_simulator(
    name: str, device: PickToLightDevice, bank: LightBank, any_port: bool
) -> Served | None:
    """The simulator serving ``bank`` on the device's wire (None: cannot be served)."""
    parts = urlsplit(device.url)
    if parts.scheme not in ("tcp", "socket") or parts.hostname is None:
        log.warning("%s: %s cannot be simulated here (needs tcp://)", name, device.url)
        return None
    port = 0 if any_port else (parts.port or 0)
    if device.driver == "atop":
        from simulators.ptl.atop import AtopControllerSimulator

        return AtopControllerSimulator(bank, parts.hostname, port)
    from simulators.ptl.banner import BannerLightsSimulator

    return BannerLightsSimulator(bank, parts.hostname, port)


def make_printer_simulator(name: str, device: LabelPrinterDevice, any_port: bool) -> Any:
    """The ZPL printer simulator of ``device``."""
    from simulators.printer import ZplPrinterSimulator

    parts = urlsplit(device.url)
    return ZplPrinterSimulator(
        parts.hostname or "127.0.0.1",
        0 if any_port else (parts.port or 9100),
        dpi=device.dpi,
        width_mm=device.label_width_mm,
        height_mm=device.label_height_mm,
    )


LightFactory = Callable[[str, PickToLightDevice, LightBank, bool], Served | None]
PrinterFactory = Callable[[str, LabelPrinterDevice, bool], Any]


class PutWallSimulation:
    """Every put wall's and dock door's devices and people of a line."""

    def __init__(
        self,
        config: LineConfig,
        *,
        plan: RoutePlan | None = None,
        any_port: bool = False,
        timing: OperatorTiming | None = None,
        dock_idle_s: float | None = None,
        measure_timing: MeasureTiming | None = None,
        light_factory: LightFactory = make_light_simulator,
        printer_factory: PrinterFactory = make_printer_simulator,
    ):
        self.config = config
        self.plan = plan
        sim = config.simulation.putwall
        self.settings = sim
        seed = config.simulation.seed
        self.banks = {n: LightBank(d.node_list) for n, d in config.pick_to_lights.items()}
        self.lights: dict[str, Served] = {}
        for name, device in config.pick_to_lights.items():
            light = light_factory(name, device, self.banks[name], any_port)
            if light is not None:
                self.lights[name] = light
        self.printers: dict[str, Any] = {
            n: printer_factory(n, d, any_port) for n, d in config.label_printers.items()
        }
        self.scales: dict[str, CheckScale] = {}
        self.scanners: dict[str, HandScanner] = {}
        used = {w.scale for w in config.putwall.walls}
        for name in sorted(n for n in used if n is not None):
            device = config.devices[name]
            assert isinstance(device, ScaleDevice)  # the config checks it
            self.scales[name] = CheckScale(name, device, any_port=any_port, timing=measure_timing)
        self.loaders: dict[str, DockLoader] = {}
        for station in config.loading.stations:
            scanner = self._scanner(station.scanner, any_port)
            self.loaders[station.door] = DockLoader(
                station.door,
                scanner.push_code,
                load_delay_s=sim.load_delay_s,
                out_of_sequence_rate=sim.out_of_sequence_rate,
                idle_s=(
                    dock_idle_s
                    if dock_idle_s is not None
                    else (None if config.simulation.parcels is not None else sim.loader_idle_s)
                ),
                rng=random.Random(f"lanesort-dock:{seed}:{station.door}"),
            )
        self.undocked: list[Container] = []
        self.operators: dict[str, WallOperator] = {}
        for i, wall in enumerate(config.putwall.walls):
            if wall.scanner is None:
                log.warning("wall %s has no scanner: no operator simulated", wall.id)
                continue
            scanner = self._scanner(wall.scanner, any_port)
            printer = self.printers.get(wall.printer) if wall.printer else None
            routes = self._routes_of(wall.routes, wall.trucks)
            self.operators[wall.id] = WallOperator(
                wall.id,
                self.banks[wall.lights],
                config.wall_nodes(i),
                push=scanner.push_code,
                serves=lambda spec, r=routes: spec.route in r,
                labels=(lambda p=printer: p.printed) if printer is not None else list,
                scale=self.scales.get(wall.scale) if wall.scale else None,
                handoff=self.to_dock,
                settings=sim,
                tare_kg=config.putwall.tare_kg,
                truck_of=self._truck_of,
                timing=timing,
                rng=random.Random(f"lanesort-putwall:{seed}:{wall.id}"),
            )
        self._faults: list[asyncio.TimerHandle] = []
        self.parcel_limit = config.simulation.parcels
        self.landed = 0
        self._wall_trucks = {
            wall.id: sorted(set(wall.trucks) | {t for r in wall.routes if (t := self._truck_of(r))})
            for wall in config.putwall.walls
        }
        self._complete: set[str] = set()
        self._watcher: asyncio.Task[None] | None = None

    def _scanner(self, name: str, any_port: bool) -> HandScanner:
        if name not in self.scanners:
            device = self.config.devices[name]
            assert isinstance(device, BarcodeReaderDevice)
            if not device.push:
                log.warning("%s: simulated as a push reader (set push: true)", name)
            parts = urlsplit(device.url)
            host = parts.hostname or "127.0.0.1"
            port = _free_port(host) if any_port else (parts.port or 0)
            self.scanners[name] = HandScanner(name, device, host=host, port=port)
        return self.scanners[name]

    def _routes_of(self, routes: list[str], trucks: list[str]) -> frozenset[str]:
        out = set(routes)
        if self.plan is not None:
            out |= {r.id for r in self.plan.routes if r.truck in trucks}
        elif trucks:
            log.warning("walls serving trucks need the route plan; only their routes are taken")
        return frozenset(out)

    def _truck_of(self, route: str) -> str | None:
        if self.plan is None:
            return None
        return next((r.truck for r in self.plan.routes if r.id == route), None)

    def _door_of(self, truck: str) -> str | None:
        if self.plan is None:
            return None
        return next((t.door for t in self.plan.trucks if t.id == truck), None)

    def to_dock(self, container: Container) -> None:
        """A container passed its check: to the loader of its door (label, else plan).

        With an AMR fleet (``fleet.enabled``) the vehicles take it; no loader does."""
        if self.config.fleet.enabled:
            return
        door = container.door or self._door_of(container.truck)
        loader = self.loaders.get(door) if door is not None else None
        if loader is None:
            log.info("container %s: no loading station at door %s", container.id, door)
            self.undocked.append(container)
            return
        loader.receive(container)

    def on_twin_event(self, event: Event) -> None:
        """Twin listener: landed parcels go to the operators of their walls."""
        if event.kind is EventKind.LANDED:
            self.landed += 1
        for operator in self.operators.values():
            operator.on_twin_event(event)

    async def _watch_trucks(self) -> None:
        """Once every parcel of the run has landed, a wall whose operator has nothing left
        tells the loaders its trucks are complete (they load them last stop first)."""
        while True:
            await asyncio.sleep(0.5)
            if self.parcel_limit is None or self.landed < self.parcel_limit:
                continue
            for wall_id, operator in self.operators.items():
                if wall_id in self._complete or not operator.idle():
                    continue
                self._complete.add(wall_id)
                for truck in self._wall_trucks.get(wall_id, []):
                    door = self._door_of(truck)
                    loader = self.loaders.get(door) if door is not None else None
                    if loader is not None:
                        log.info("wall %s done: truck %s complete", wall_id, truck)
                        loader.truck_done(truck)

    def take(self, spec: ParcelSpec) -> None:
        """Hand a parcel to the wall that serves it (without the twin)."""
        for operator in self.operators.values():
            if operator.serves(spec):
                operator.take(spec)
                return

    # ------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Start the lights, printers, scales and scanners, then the people; schedule faults."""
        for served in (*self.lights.values(), *self.printers.values(), *self.scales.values()):
            await served.start()
        for scanner in self.scanners.values():
            await scanner.start()
        for operator in self.operators.values():
            await operator.start()
        self._watcher = asyncio.create_task(self._watch_trucks(), name="putwall-trucks")
        loop = asyncio.get_running_loop()
        for device, node, at_s, for_s in self.settings.module_drop:
            bank = self.banks.get(device)
            if bank is None or node not in bank.modules:
                log.warning("module_drop: no node %s on %s", node, device)
                continue
            self._faults.append(loop.call_later(at_s, bank.set_online, node, False))
            self._faults.append(loop.call_later(at_s + for_s, bank.set_online, node, True))
        for name, at_s, for_s in self.settings.printer_paper_out:
            printer = self.printers.get(name)
            if printer is None:
                log.warning("printer_paper_out: no printer %s", name)
                continue
            self._faults.append(loop.call_later(at_s, setattr, printer, "paper_out", True))
            self._faults.append(loop.call_later(at_s + for_s, setattr, printer, "paper_out", False))

    async def stop(self) -> None:
        """Stop the people, then the devices."""
        for handle in self._faults:
            handle.cancel()
        self._faults.clear()
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        for operator in self.operators.values():
            await operator.stop()
        for loader in self.loaders.values():
            await loader.stop()
        for scanner in self.scanners.values():
            await scanner.stop()
        for served in (*self.scales.values(), *self.printers.values(), *self.lights.values()):
            await served.stop()

    # ----------------------------------------------------------------- report

    def urls(self) -> dict[str, str]:
        """Where each device simulator is (scanners: where the controller must listen)."""
        urls: dict[str, str] = {}
        for group in (self.lights, self.printers, self.scales, self.scanners):
            for name, sim in group.items():
                url = getattr(sim, "url", None)
                if url is not None:
                    urls[name] = str(url)
        return urls

    def counts(self) -> dict[str, Any]:
        """Figures for the demo report (the truth file's ``stats.putwall``): counts summed
        over the walls, ``scan_to_light_ms`` over every wall's scans (count, p50, p95, p99,
        max) and ``walls``: each operator's scans and scan rate."""
        total: dict[str, Any] = {}
        for operator in self.operators.values():
            for key, value in operator.counts.items():
                total[key] = total.get(key, 0) + value
        total["labels_printed"] = sum(len(p.printed) for p in self.printers.values())
        total["containers_loaded"] = sum(d.loaded for d in self.loaders.values())
        total["out_of_sequence"] = sum(d.out_of_sequence for d in self.loaders.values())
        total["trucks_loaded"] = sum(len(d.trucks_loaded) for d in self.loaders.values())
        total["undocked"] = len(self.undocked)
        total["scans_lost"] = sum(s.lost for s in self.scanners.values())
        samples = [x for o in self.operators.values() for x in o.scan_to_light_s]
        total["scan_to_light_ms"] = latency_figures(samples)
        total["walls"] = {
            wall: {**o.figures(), "scan_to_light_ms": latency_figures(o.scan_to_light_s)}
            for wall, o in self.operators.items()
        }
        return total

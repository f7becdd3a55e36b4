"""Loading at the dock doors: load plans, door scans in sequence, trucks loaded and reported.

:class:`LoadingService` keeps, per truck of the route plan, its ledger (every manifest
parcel of the truck: loaded or accounted for, :mod:`.accounting`) and its loaded units.
A truck's load plan is made from its containers that left the wall (checked or
released) and, where allowed, its loose parcels (:mod:`.plan`), last stop first.
A scan at a door (a station's scanner, or the loading page) is judged by
:class:`~controller.loading.dock.DockCheck`: out of sequence warns and loads, another
truck's parcel raises an alarm and is refused. When every parcel of a truck is loaded
or accounted for (or a supervisor closes the truck: the rest did not arrive), its
``truck.loaded`` event goes upstream with counts and the measured weight and volume.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from controller.alarms.board import AlarmBoard, Severity
from controller.auth.audit import Actor, AuditLog
from controller.errors import CommandRefused
from controller.journal.schema import reading
from controller.journal.writer import Journal
from controller.loading.accounting import TruckLedger
from controller.loading.dock import DockCheck, DockVerdict
from controller.loading.plan import LoadPlan, LoadUnit, load_plan
from controller.loading.sheet import load_sheet_csv, load_sheet_pdf
from controller.putwall.links import ScannerLink, station_scanner
from controller.putwall.records import WallEvent, read_trucks_loaded
from controller.routeplan.service import RoutePlanService
from drivers.cancelling import start_guarded
from plc_configs.devices import BarcodeReaderDevice
from plc_configs.schema import LineConfig

if TYPE_CHECKING:
    from controller.putwall.closeout import Container
    from controller.putwall.service import PutWallService

log = logging.getLogger(__name__)


@dataclass
class TruckLoad:
    """One truck's loading: what is loaded, in which order, and its ledger."""

    truck: str
    door: str | None
    ledger: TruckLedger
    loaded_units: list[str] = field(default_factory=list)
    scans: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None

    @property
    def done(self) -> bool:
        """True once ``truck.loaded`` was reported."""
        return self.summary is not None


class LoadingService:
    """Every dock door's loading (see the module docstring)."""

    def __init__(
        self,
        config: LineConfig,
        journal: Journal,
        alarms: AlarmBoard,
        audit: AuditLog,
        route_plan: RoutePlanService,
        putwall: PutWallService,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.config = config
        self.journal = journal
        self.alarms = alarms
        self.audit = audit
        self.route_plan = route_plan
        self.putwall = putwall
        self.clock = clock
        self.trucks: dict[str, TruckLoad] = {}
        self.stations: dict[str, ScannerLink] = {}
        for station in config.loading.stations:
            device = config.devices[station.scanner]
            assert isinstance(device, BarcodeReaderDevice)  # the config checks it
            self.stations[station.door] = station_scanner(
                station.scanner, device, alarms, clock, self._on_code(station.door)
            )
        self.wrong_truck = 0
        self.out_of_sequence = 0

    def _on_code(self, door: str) -> Callable[[str], Any]:
        async def on_code(code: str) -> None:
            await self.scan(door, code, source="scanner")

        return on_code

    async def restore(self) -> None:
        """Trucks already reported loaded (after a restart) stay loaded."""
        done = await asyncio.to_thread(read_trucks_loaded, self.journal.path)
        for truck, summary in done.items():
            self._truck(truck).summary = summary
        containers = self.putwall.closeout.containers.values()
        for container in containers:
            if container.state == "loaded" and container.truck:
                self._truck(container.truck).loaded_units.append(container.id)

    async def run(self) -> None:
        """Run the door scanners and the accounting loop until cancelled."""
        async with asyncio.TaskGroup() as group:
            for door, link in self.stations.items():
                start_guarded(group, link.run(), f"dock-{door}")
            start_guarded(group, self._account_loop(), "loading-accounting")

    async def _account_loop(self) -> None:
        """Every 2 s when the walls changed (at least every 30 s): ledgers caught up."""
        last_key: tuple[int, int] | None = None
        last_full = 0.0
        while True:
            await asyncio.sleep(2.0)
            key = (self.putwall.changes, self.route_plan.active.version)
            if key == last_key and self.clock() - last_full < 30:
                continue
            last_key, last_full = key, self.clock()
            for found in self.route_plan.active.trucks:
                truck = self._truck(found.id)
                if not truck.done:
                    await self._sync_ledger(truck)
                    self._finish_if_accounted(truck)

    # ----------------------------------------------------------------- trucks

    def _truck(self, truck_id: str) -> TruckLoad:
        load = self.trucks.get(truck_id)
        if load is None:
            found = self.route_plan.active.truck(truck_id)
            load = TruckLoad(truck_id, found.door if found else None, TruckLedger(truck_id, {}))
            self.trucks[truck_id] = load
        return load

    def _routes_of(self, truck_id: str) -> list[str]:
        return [r.id for r in self.route_plan.active.routes if r.truck == truck_id]

    def units(self, truck_id: str) -> list[LoadUnit]:
        """The truck's containers that may be loaded (left their wall) or are loaded."""
        units = []
        for container in self.putwall.closeout.containers.values():
            if container.truck != truck_id or container.state not in (
                "ok",
                "released",
                "loaded",
                "held",
                "closed",
            ):
                continue
            units.append(_unit(container))
        return units

    def plan(self, truck_id: str) -> LoadPlan:
        """The truck's load plan: its containers last stop first, with load positions."""
        return load_plan(
            truck_id, self.units(truck_id), positions=tuple(self.config.loading.positions)
        )

    def _check(self, load: TruckLoad) -> DockCheck:
        plan = self.plan(load.truck)
        held = {
            c.id
            for c in self.putwall.closeout.containers.values()
            if c.truck == load.truck and c.state in ("held", "closed")
        }
        others = {
            c.id: c.truck or ""
            for c in self.putwall.closeout.containers.values()
            if c.truck != load.truck
        }
        parcel_units = {
            p: c.id
            for c in self.putwall.closeout.containers.values()
            if c.truck == load.truck
            for p in c.parcels
        }
        check = DockCheck(
            load.truck, plan, parcel_units=parcel_units, other_trucks=others, held=held
        )
        for unit_id in load.loaded_units:
            check.scan(unit_id)
        return check

    async def scan(self, door: str, code: str, *, source: str = "scanner") -> DockVerdict:
        """A code scanned at ``door``: load it onto the truck at that door, or refuse it."""
        code = code.strip()
        trucks = [t.id for t in self.route_plan.active.trucks if t.door == door]
        open_trucks = [t for t in trucks if not self._truck(t).done]
        if not open_trucks:
            self.alarms.raise_(
                f"wrong-truck:{door}",
                f"door {door}: {code} scanned but no truck is loading here",
                self.clock(),
                severity=Severity.WARNING,
            )
            raise CommandRefused(f"no truck is loading at door {door}")
        load = self._truck(open_trucks[0])
        check = self._check(load)
        verdict = check.scan(code)
        if verdict.kind == "unknown":
            parcel = await self.putwall.lookup(code)
            if parcel is not None and parcel.truck not in (None, load.truck):
                verdict = DockVerdict(
                    "wrong_truck", None, f"{code} belongs to truck {parcel.truck}"
                )
        now = self.clock()
        load.scans.insert(0, {"time": time.time(), "code": code, "verdict": verdict.kind})
        del load.scans[30:]
        if verdict.kind in ("ok", "out_of_sequence"):
            container = self.putwall.closeout.containers.get(verdict.unit_id or "")
            if container is not None:
                load.loaded_units.append(container.id)
                self._loaded(load, container, verdict)
            if verdict.kind == "out_of_sequence":
                self.out_of_sequence += 1
                self.alarms.raise_(
                    f"sequence:{door}",
                    f"door {door}: {code} loaded out of sequence: {verdict.reason}",
                    now,
                    severity=Severity.WARNING,
                )
            else:
                self.alarms.clear(f"sequence:{door}", now)
            self.alarms.clear(f"wrong-truck:{door}", now)
        elif verdict.kind in ("wrong_truck", "unknown", "held"):
            if verdict.kind == "wrong_truck":
                self.wrong_truck += 1
            self.alarms.raise_(
                f"wrong-truck:{door}",
                f"door {door}: {code} refused for truck {load.truck}: {verdict.reason}",
                now,
                severity=Severity.WARNING,
            )
        self.journal.append(
            WallEvent(
                time=time.time(),
                wall=f"door:{door}",
                kind=f"load_{verdict.kind}",
                line=self.config.line.name,
                container_id=verdict.unit_id,
                reason=verdict.reason,
                truck=load.truck,
            )
        )
        await self._sync_ledger(load)
        self._finish_if_accounted(load)
        return verdict

    def _loaded(self, load: TruckLoad, container: Container, verdict: DockVerdict) -> None:
        container.state = "loaded"
        wall_time = time.time()
        position = verdict.position
        self.journal.append(
            WallEvent(
                time=wall_time,
                wall=container.wall,
                kind="container_loaded",
                line=self.config.line.name,
                container_id=container.id,
                truck=load.truck,
                container_state=(
                    container.id,
                    "loaded",
                    {"loaded": wall_time, "position": position, "door": load.door},
                ),
            )
        )
        for parcel in container.parcels:
            self.journal.append(
                WallEvent(
                    time=wall_time,
                    wall=container.wall,
                    kind="loaded",
                    line=self.config.line.name,
                    parcel_id=parcel,
                    container_id=container.id,
                    truck=load.truck,
                )
            )

    async def _sync_ledger(self, load: TruckLoad) -> None:
        """The ledger's expected parcels and every outcome known now."""
        routes = self._routes_of(load.truck)
        expected = await asyncio.to_thread(self._expected, routes)
        ledger = load.ledger
        if set(expected) - set(ledger.expected):
            ledger = TruckLedger(load.truck, expected)
            load.ledger = ledger
        loaded = {
            p
            for c in self.putwall.closeout.containers.values()
            if c.truck == load.truck and c.state == "loaded"
            for p in c.parcels
        }
        accounted: dict[str, str] = {}
        for unit in self.putwall.units.values():
            accounted.update(unit.wall.accounted)
        for i, pid in enumerate(expected):
            if i % 500 == 499:
                await asyncio.sleep(0)  # a big truck never holds the loop for long
            if pid in loaded:
                ledger.mark(pid, "loaded")
                continue
            outcome = accounted.get(pid)
            if outcome is None:
                continue
            kind = outcome.split(":", 1)[0]
            if kind in ("short", "exception"):
                ledger.mark(pid, kind, outcome)
            elif kind in ("rejected", "lost"):
                ledger.mark(pid, "rejected", outcome)

    def _expected(self, routes: list[str]) -> dict[str, int]:
        if not routes:
            return {}
        with reading(self.putwall.manifest.path, "manifest") as conn:
            rows = conn.execute(
                f"SELECT barcode, coalesce(stop_sequence, -1) FROM manifest "
                f"WHERE route IN ({','.join('?' * len(routes))})",
                routes,
            ).fetchall()
        return dict(rows)

    def _finish_if_accounted(self, load: TruckLoad) -> None:
        if load.done or not load.ledger.expected or not load.ledger.accounted():
            return
        self._report(load, "every parcel loaded or accounted for")

    def _report(self, load: TruckLoad, why: str) -> None:
        weights: dict[str, float | None] = {}
        volumes: dict[str, float | None] = {}
        gross = 0.0
        for container in self.putwall.closeout.containers.values():
            if container.truck == load.truck:
                weights.update(container.weights)
                volumes.update(container.volumes)
                if container.state == "loaded" and container.measured_kg is not None:
                    gross += container.measured_kg
        summary = load.ledger.summary(weights, volumes)
        summary["containers_weight_kg"] = round(gross, 3)
        check = self._check(load)
        summary |= {
            "truck": load.truck,
            "door": load.door,
            "containers": len(load.loaded_units),
            "in_sequence": check.in_sequence,
            "why": why,
        }
        load.summary = summary
        self.journal.append(
            WallEvent(
                time=time.time(),
                wall=f"door:{load.door}",
                kind="truck_loaded",
                line=self.config.line.name,
                truck=load.truck,
                reason=why,
                payload=summary,
                report=self.putwall.report,
            )
        )
        log.info("truck %s loaded: %s", load.truck, why)

    async def close_truck(self, truck_id: str, actor: Actor, reason: str) -> dict[str, Any]:
        """A supervisor closes a truck: what is not here did not arrive (audited)."""
        if self.route_plan.active.truck(truck_id) is None:
            raise CommandRefused(f"no truck {truck_id!r} in the route plan")
        load = self._truck(truck_id)
        if load.done:
            raise CommandRefused(f"truck {truck_id} is already reported loaded")
        await self._sync_ledger(load)
        for pid in load.ledger.expected:
            if pid in load.ledger.outcomes:
                continue
            held = next(
                (
                    c
                    for c in self.putwall.closeout.containers.values()
                    if pid in c.parcels and c.state in ("held", "closed")
                ),
                None,
            )
            if held is not None:
                why = f"in container {held.id}, {held.state}"
                if held.state == "held":
                    why += f" by its weight check ({held.measured_kg} kg measured)"
                load.ledger.mark(pid, "not_arrived", f"{why}; not loaded: {reason}")
                continue
            for unit in self.putwall.units.values():
                if pid in unit.wall.put:
                    at = f"{unit.wall.id} {unit.wall.put[pid]}"
                    load.ledger.mark(pid, "not_arrived", f"put at {at}, not loaded: {reason}")
        load.ledger.close(reason or "not arrived")
        self.audit.record(actor, "truck.close", truck_id, reason)
        self._report(load, f"closed by {actor.name}: {reason}")
        assert load.summary is not None
        return load.summary

    # ------------------------------------------------------------------- views

    def status(self, truck_id: str) -> dict[str, Any]:
        """A truck's loading as plain data: its plan rows with their state, what is missing."""
        if self.route_plan.active.truck(truck_id) is None:
            raise CommandRefused(f"no truck {truck_id!r} in the route plan")
        load = self._truck(truck_id)
        plan = self.plan(truck_id)
        loaded = set(load.loaded_units)
        containers = self.putwall.closeout.containers
        rows = [
            {
                "order": row.order,
                "unit_id": row.unit_id,
                "position": row.position,
                "route": row.route,
                "stops": list(row.stops),
                "parcels": row.parcels,
                "weight_kg": row.weight_kg,
                "state": "loaded"
                if row.unit_id in loaded
                else getattr(containers.get(row.unit_id), "state", "waiting"),
            }
            for row in plan.rows
        ]
        ledger = load.ledger
        return {
            "truck": truck_id,
            "door": load.door,
            "state": "loaded" if load.done else "loading",
            "expected": len(ledger.expected),
            "outcomes": ledger.counts(),
            "rows": rows,
            "not_loaded": ledger.not_loaded(),
            "scans": list(load.scans),
            "summary": load.summary,
        }

    def all_done(self) -> bool:
        """True when every truck of the route plan was reported loaded."""
        trucks = self.route_plan.active.trucks
        return bool(trucks) and all(self._truck(t.id).done for t in trucks)

    def overview(self) -> list[dict[str, Any]]:
        """Every truck of the route plan: door, state and progress."""
        out = []
        for truck in self.route_plan.active.trucks:
            load = self._truck(truck.id)
            counts = load.ledger.counts()
            out.append(
                {
                    "truck": truck.id,
                    "door": truck.door,
                    "state": "loaded" if load.done else "loading",
                    "expected": len(load.ledger.expected),
                    "loaded": counts.get("loaded", 0),
                    "accounted": sum(counts.values()),
                }
            )
        return out

    def sheet_csv(self, truck_id: str) -> str:
        """The truck's load sheet as CSV."""
        found = self.route_plan.active.truck(truck_id)
        if found is None:
            raise CommandRefused(f"no truck {truck_id!r} in the route plan")
        return load_sheet_csv(self.plan(truck_id), truck=truck_id, door=found.door)

    async def sheet_pdf(self, truck_id: str) -> bytes:
        """The truck's load sheet as PDF (made in a thread)."""
        found = self.route_plan.active.truck(truck_id)
        if found is None:
            raise CommandRefused(f"no truck {truck_id!r} in the route plan")
        plan = self.plan(truck_id)
        return await asyncio.to_thread(load_sheet_pdf, plan, truck=truck_id, door=found.door)


def _unit(container: Container) -> LoadUnit:
    known = [w for w in container.weights.values() if w is not None]
    return LoadUnit(
        id=container.id,
        kind="container",
        truck=container.truck or "",
        route=container.route or "",
        stops=tuple(container.stops),
        parcels=tuple(container.parcels),
        weight_kg=container.measured_kg
        if container.measured_kg is not None
        else (sum(known) or None),
        volume_m3=container.volume_m3,
        closed_at=container.closed,
    )

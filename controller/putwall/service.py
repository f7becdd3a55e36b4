"""The put walls at work: scans and presses in, lights and journal records out.

:class:`PutWallService` owns one :class:`~controller.putwall.wall.PutWall` per configured
wall, the supervisors of their light buses and scanners, and the close-out of their
containers (:mod:`controller.putwall.closeout`: label, check-weigh, hold and release).
Everything a wall decides is journaled (:mod:`controller.putwall.records`) and, for the
upstream event types, reported through the outbox in the same transaction.

Where a parcel goes comes from the manifest (route, stop, consignee) and the route plan
(the route's truck). Which manifest parcels a wall expects (to know a stop is complete)
is refreshed from the manifest every few seconds, and parcels the sorter rejected are
accounted for at their wall from the journal, so a stop with a rejected parcel still
completes.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from controller.alarms.board import AlarmBoard
from controller.auth.audit import Actor, AuditLog
from controller.devices.links import Backoff
from controller.errors import CommandRefused
from controller.journal.schema import reading
from controller.journal.writer import Journal
from controller.manifest.store import ManifestStore
from controller.putwall.closeout import CloseOut
from controller.putwall.links import LightBusLink, ScannerLink, station_scanner
from controller.putwall.records import (
    SCHEMA,
    WallEvent,
    read_completed_stops,
    read_containers,
    read_handling,
)
from controller.putwall.wall import (
    GroupKey,
    Light,
    PutWall,
    Record,
    Step,
    WallParcel,
    container_ids,
)
from controller.routeplan.service import RoutePlanService
from drivers.cancelling import start_guarded
from drivers.ptl.base import EventKind, LightEvent
from drivers.registry import create_pick_to_light
from plc_configs.devices import BarcodeReaderDevice
from plc_configs.putwall import PutWallConfig
from plc_configs.schema import LineConfig

log = logging.getLogger(__name__)

#: How often expected parcels and the sorter's rejects are read again.
REFRESH_S = 3.0


class WallUnit:
    """One wall with its config, its bus link and its scanner link."""

    def __init__(self, config: PutWallConfig, wall: PutWall, bus: LightBusLink):
        self.config = config
        self.wall = wall
        self.bus = bus
        self.scanner: ScannerLink | None = None
        self.recent: list[dict[str, Any]] = []
        self.routes: frozenset[str] = frozenset(config.routes)


class PutWallService:
    """Every put wall of the line (see the module docstring)."""

    def __init__(
        self,
        config: LineConfig,
        journal: Journal,
        alarms: AlarmBoard,
        audit: AuditLog,
        manifest: ManifestStore,
        route_plan: RoutePlanService,
        clock: Callable[[], float] = time.monotonic,
    ):
        journal.add_schema(SCHEMA)
        self.config = config
        self.journal = journal
        self.alarms = alarms
        self.audit = audit
        self.manifest = manifest
        self.route_plan = route_plan
        self.clock = clock
        self.report = frozenset(config.upstream.events)
        self.units: dict[str, WallUnit] = {}
        self.buses: dict[str, LightBusLink] = {}
        self.scanners: list[ScannerLink] = []
        self.closeout = CloseOut(self, config, alarms)
        self._rejects_seen = 0.0
        self.changes = 0
        """Counts every step applied (the loading catches up when it changed)."""
        token = uuid.uuid4().hex[:4].upper()
        for index, wall_config in enumerate(config.putwall.walls):
            bus = self._bus(wall_config.lights)
            nodes = config.wall_nodes(index)
            cubbies = {f"{wall_config.id}-{node:02d}": node for node in nodes}
            wall = PutWall(
                wall_config.id,
                cubbies,
                capacity=wall_config.cubby_capacity,
                by_consignee=wall_config.group_by == "consignee",
                serves=self._serves_fn(wall_config.id),
                new_container_id=container_ids(f"{wall_config.id}-{token}"),
                confirm_timeout_s=config.putwall.confirm_timeout_s,
            )
            unit = WallUnit(wall_config, wall, bus)
            if wall_config.scanner is not None:
                unit.scanner = self._scanner(wall_config.scanner, self._on_code(wall_config.id))
            self.units[wall_config.id] = unit

    # ------------------------------------------------------------------ wiring

    def _bus(self, name: str) -> LightBusLink:
        if name not in self.buses:
            device = self.config.pick_to_lights[name]
            self.buses[name] = LightBusLink(
                create_pick_to_light(name, device),
                self.alarms,
                Backoff.for_device(device),
                self.clock,
                on_event=lambda event, bus=name: self._on_light_event(bus, event),
                resting=lambda bus=name: self._resting_lights(bus),
            )
        return self.buses[name]

    def _scanner(self, name: str, on_code: Callable[[str], Any]) -> ScannerLink:
        device = self.config.devices[name]
        assert isinstance(device, BarcodeReaderDevice)  # the config checks it
        link = station_scanner(name, device, self.alarms, self.clock, on_code)
        self.scanners.append(link)
        return link

    def _serves_fn(self, wall_id: str) -> Callable[[WallParcel], bool]:
        def serves(parcel: WallParcel) -> bool:
            unit = self.units[wall_id]
            return (parcel.truck is not None and parcel.truck in unit.config.trucks) or (
                parcel.route is not None and parcel.route in unit.config.routes
            )

        return serves

    def _on_code(self, wall_id: str) -> Callable[[str], Any]:
        async def on_code(code: str) -> None:
            await self.scan(wall_id, code, source="scanner")

        return on_code

    # --------------------------------------------------------------- running

    async def restore(self) -> None:
        """Rebuild every wall from the journal (after a restart): cubbies, puts, holds."""
        path = self.journal.path
        handling = await asyncio.to_thread(read_handling, path)
        containers = await asyncio.to_thread(read_containers, path)
        completed = await asyncio.to_thread(read_completed_stops, path)
        closed = {c["id"] for c in containers}
        for pid, row in handling.items():
            unit = self.units.get(row.wall or "")
            if unit is None:
                continue
            wall = unit.wall
            if row.state in ("short", "exception"):
                wall.accounted[pid] = row.state
                continue
            if row.cubby not in wall.cubbies:
                continue
            wall.put[pid] = row.cubby
            if row.container_id not in closed:
                cubby = wall.cubbies[row.cubby]
                cubby.parcels.append(pid)
                cubby.container_id = row.container_id
                parcel = await self.lookup(pid)
                if parcel is not None:
                    cubby.group = wall.group_of(parcel)
        for wall_id, group in completed:
            unit = self.units.get(wall_id)
            route, _, stop = group.partition(":")
            if unit is not None and stop.split(":")[0].lstrip("-").isdigit():
                unit.wall.completed.add((route, int(stop.split(":")[0])))
        for row in containers:
            unit = self.units.get(row["wall"])
            if unit is None or row["cubby"] not in unit.wall.cubbies:
                continue
            if row["state"] in ("closed", "held"):
                cubby = unit.wall.cubbies[row["cubby"]]
                cubby.full, cubby.container_id, cubby.parcels = True, row["id"], row["parcels"]
        self.closeout.restore(containers)

    async def run(self) -> None:
        """Run every bus, scanner, printer and the refresh loop until cancelled."""
        async with asyncio.TaskGroup() as group:
            for bus in self.buses.values():
                start_guarded(group, bus.run(), f"ptl-{bus.driver.name}")
            for scanner in self.scanners:
                start_guarded(group, scanner.run(), f"scanner-{scanner.driver.name}")
            start_guarded(group, self.closeout.run(), "putwall-closeout")
            start_guarded(group, self._refresh_loop(), "putwall-refresh")

    async def _refresh_loop(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:  # keep the walls going; the log says what failed
                log.exception("put wall: refreshing the expected parcels failed")
            await asyncio.sleep(REFRESH_S)

    async def refresh(self) -> None:
        """Expected parcels from the manifest, the sorter's rejects, timeouts."""
        plan = self.route_plan.active
        for unit in self.units.values():
            routes = set(unit.config.routes)
            routes |= {r.id for r in plan.routes if r.truck in unit.config.trucks}
            new = frozenset(routes) - unit.routes
            unit.routes = frozenset(routes)
            if new or not unit.wall.expected:
                rows = await asyncio.to_thread(self._manifest_rows, sorted(unit.routes))
                unit.wall.expect(self._parcel(r) for r in rows)
            step = unit.wall.tick(self.clock())
            if step.records:
                await self.apply(unit, step)
        await self._account_rejects()

    def _manifest_rows(self, routes: list[str]) -> list[Any]:
        rows: list[Any] = []
        for route in routes:
            after = None
            while True:
                page = self.manifest.query(route=route, after=after, limit=10_000)
                rows.extend(page)
                if len(page) < 10_000:
                    break
                after = page[-1].barcode
        return rows

    async def _account_rejects(self) -> None:
        """Manifest parcels the sorter rejected (or lost) count as accounted at their wall."""
        since = self._rejects_seen

        def read() -> list[tuple[str, str, str | None, float]]:
            with reading(self.journal.path, "rejected parcels") as conn:
                return conn.execute(
                    "SELECT barcode, state, reason, updated FROM parcels WHERE updated > ? AND "
                    "state IN ('rejected', 'lost') AND barcode IS NOT NULL ORDER BY updated",
                    (since,),
                ).fetchall()

        rows = await asyncio.to_thread(read)
        for barcode, state, reason, updated in rows:
            self._rejects_seen = max(self._rejects_seen, updated)
            for unit in self.units.values():
                group = unit.wall.expected_group.get(barcode)
                if group is not None:
                    outcome = f"{state}: {reason}" if reason else state
                    await self.apply(unit, unit.wall.account(barcode, outcome, group))

    # ------------------------------------------------------------ parcels in

    def _parcel(self, row: Any) -> WallParcel:
        route = self.route_plan.active.route(row.route) if row.route else None
        truck = route.truck if route is not None else None
        return WallParcel(row.barcode, truck, row.route, row.stop_sequence, row.consignee or "")

    async def lookup(self, code: str) -> WallParcel | None:
        """What the manifest and the route plan say of a scanned code (None: unknown)."""
        row = await asyncio.to_thread(self.manifest.record, code)
        return None if row is None else self._parcel(row)

    async def scan(self, wall_id: str, code: str, *, source: str = "scanner") -> Step:
        """A code scanned at ``wall_id``: a parcel to put, or a container to weigh."""
        unit = self._unit(wall_id)
        code = code.strip()
        if self.closeout.knows(code):
            return await self.closeout.scanned(unit, code)
        parcel = await self.lookup(code)
        step = unit.wall.scan(code, parcel, self.clock())
        unit.recent.insert(0, {"time": time.time(), "code": code, "source": source})
        del unit.recent[20:]
        await self.apply(unit, step, parcel)
        return step

    async def _on_light_event(self, bus: str, event: LightEvent) -> None:
        for unit in self.units.values():
            if unit.config.lights != bus or unit.wall.cubby_at(event.node) is None:
                continue
            wall, now = unit.wall, self.clock()
            if event.kind in (EventKind.CONFIRM, EventKind.SHORTAGE):
                parcel = wall.pending.parcel if wall.pending is not None else None
                await self.apply(unit, wall.press(event.node, event.kind.value, now), parcel)
            elif event.kind is EventKind.OFFLINE:
                await self.apply(unit, wall.module_offline(event.node))
            elif event.kind is EventKind.ONLINE:
                await self.apply(unit, wall.module_online(event.node))
            else:
                cubby = wall.cubby_at(event.node)
                self.alarms.raise_(
                    f"ptl:{bus}:{event.node}",
                    f"put wall {wall.id}: module {event.node} (cubby {cubby.id if cubby else '?'})"
                    f" on {bus} reports {event.detail or event.kind.value}",
                    now,
                    device=bus,
                )
            return

    def _resting_lights(self, bus: str) -> list[Light]:
        return [
            light
            for unit in self.units.values()
            if unit.config.lights == bus
            for light in unit.wall.lights_now()
        ]

    # ----------------------------------------------------------- records out

    async def apply(self, unit: WallUnit, step: Step, parcel: WallParcel | None = None) -> None:
        """Journal the step's records, raise or clear alarms, send its lights."""
        wall = unit.wall
        unit.bus.enqueue(step.lights)  # before any await: lights go out in decision order
        if step.records:
            self.changes += 1
        now, wall_time = self.clock(), time.time()
        for record in step.records:
            self._alarm(unit, record, now)
            if record.kind == "container_closed":
                await self.closeout.closed(unit, record, wall_time)
                continue
            self.journal.append(self._event(unit, record, parcel, wall_time))
            if record.kind == "put" and self.config.putwall.label_at == "put":
                self.closeout.parcel_label(unit, record, parcel)
        log.debug("wall %s: %s", wall.id, step.kinds())

    def _event(
        self, unit: WallUnit, record: Record, parcel: WallParcel | None, wall_time: float
    ) -> WallEvent:
        if parcel is None or (record.parcel_id and parcel.parcel_id != record.parcel_id):
            parcel = None
        group = record.group
        route = parcel.route if parcel else (group[0] if group else None)
        stop = parcel.stop if parcel else (group[1] if group else None)
        truck = parcel.truck if parcel else self._truck_of(route)
        payload: dict[str, Any] | None = None
        base = {"wall": unit.wall.id, "truck": truck, "route": route, "stop_sequence": stop}
        if record.kind == "put":
            payload = {
                "parcel_id": record.parcel_id,
                **base,
                "cubby": record.cubby,
                "container_id": record.container_id,
            }
        elif record.kind == "short":
            payload = {"parcel_id": record.parcel_id, **base, "reason": record.reason}
        elif record.kind == "stop_complete":
            members = [
                p
                for g, ps in unit.wall.expected.items()
                if group and g[:2] == group[:2]
                for p in ps
            ]
            put = [p for p in members if p in unit.wall.put]
            payload = {
                **base,
                "parcels": len(members),
                "put": len(put),
                "not_put": {p: unit.wall.accounted.get(p, "") for p in members if p not in put},
            }
        return WallEvent(
            time=wall_time,
            wall=unit.wall.id,
            kind=record.kind,
            line=self.config.line.name,
            parcel_id=record.parcel_id,
            cubby=record.cubby,
            container_id=record.container_id,
            reason=record.reason,
            group=":".join(str(g) for g in group) if group else None,
            truck=truck,
            route=route,
            stop=stop,
            payload=payload,
            report=self.report,
        )

    def _truck_of(self, route: str | None) -> str | None:
        found = self.route_plan.active.route(route) if route else None
        return found.truck if found is not None else None

    def _alarm(self, unit: WallUnit, record: Record, now: float) -> None:
        wall = unit.wall.id
        if record.kind == "wrong_put":
            self.alarms.raise_(
                f"wrong-put:{wall}",
                f"put wall {wall}: parcel {record.parcel_id} belongs in {record.cubby}, "
                f"{record.reason}",
                now,
                device=unit.config.lights,
            )
        elif record.kind == "put":
            self.alarms.clear(f"wrong-put:{wall}", now)
        elif record.kind in ("module_offline", "module_online"):
            key = f"module:{wall}:{record.cubby}"
            if record.kind == "module_offline":
                self.alarms.raise_(
                    key,
                    f"put wall {wall}: the module of cubby {record.cubby} ({record.reason} on "
                    f"{unit.config.lights}) does not answer; the rest of the wall goes on",
                    now,
                    device=unit.config.lights,
                )
            else:
                self.alarms.clear(key, now)
        elif record.kind == "no_cubby":
            self.alarms.raise_(
                f"wall-full:{wall}", f"put wall {wall}: no free cubby", now, device=None
            )

    # ------------------------------------------------------ supervisor actions

    def _unit(self, wall_id: str) -> WallUnit:
        unit = self.units.get(wall_id)
        if unit is None:
            raise CommandRefused(f"no put wall {wall_id!r}")
        return unit

    async def reassign(self, wall_id: str, cubby_id: str, group: GroupKey | None, actor: Actor):
        """Give a cubby another group (or none); audited."""
        unit = self._unit(wall_id)
        if cubby_id not in unit.wall.cubbies:
            raise CommandRefused(f"put wall {wall_id} has no cubby {cubby_id!r}")
        try:
            step = unit.wall.reassign(cubby_id, group)
        except ValueError as err:
            raise CommandRefused(str(err)) from err
        self.audit.record(actor, "cubby.reassign", f"{wall_id}/{cubby_id}", f"group {group}")
        await self.apply(unit, step)

    async def close_cubby(self, wall_id: str, cubby_id: str, actor: Actor) -> None:
        """Close a cubby's container now; audited."""
        unit = self._unit(wall_id)
        if cubby_id not in unit.wall.cubbies:
            raise CommandRefused(f"put wall {wall_id} has no cubby {cubby_id!r}")
        self.audit.record(actor, "cubby.close", f"{wall_id}/{cubby_id}")
        await self.apply(unit, unit.wall.close_cubby(cubby_id, f"closed by {actor.name}"))

    def snapshot(self) -> list[dict[str, Any]]:
        """Every wall as plain data: cubbies with their lights, the waiting put, counts."""
        out = []
        for unit in self.units.values():
            wall = unit.wall
            pending = wall.pending
            cubbies = [
                {
                    "id": c.id,
                    "node": c.node,
                    "group": list(c.group) if c.group else None,
                    "parcels": len(c.parcels),
                    "capacity": c.capacity,
                    "container_id": c.container_id,
                    "full": c.full,
                    "online": c.online,
                    "pending": pending is not None and pending.cubby is c,
                    "complete": c.group is not None and c.group[:2] in wall.completed,
                }
                for c in wall.cubbies.values()
            ]
            out.append(
                {
                    "id": wall.id,
                    "lights": unit.config.lights,
                    "link_up": unit.bus.link.up,
                    "cubbies": cubbies,
                    "pending": None
                    if pending is None
                    else {"parcel_id": pending.parcel.parcel_id, "cubby": pending.cubby.id},
                    "counts": dict(wall.counts),
                    "recent_scans": list(unit.recent),
                }
            )
        return out

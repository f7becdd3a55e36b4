"""Containers from the wall to the truck: by AMR to the door in load order, or via the AS/RS.

When a container leaves its put wall (check-weighed or released), :class:`TransportService`
decides where it goes:

* its truck is at its door and its turn has come (:mod:`.sequencing`: last stop first) →
  an AMR takes it from the wall to the door;
* otherwise → an AMR takes it to the AS/RS in-port and the AS/RS stores it (without a
  buffer it waits at the wall);
* when the truck docks (the TMS, or a supervisor's "truck at door 3"), or a container is
  loaded, the containers whose turn has come are retrieved from the AS/RS (their stop's
  containers together, the highest stop first) and AMRs take them from the out-port to
  the door;
* delivered at the door, the container is loaded: the door's check is the loading
  service's (:meth:`~controller.loading.service.LoadingService.scan`, source ``amr``).

Every container has one known location at every moment (:mod:`.locations`), journaled
with each move. A move that fails (a fleet task failed, the AS/RS refused or faulted)
leaves the container where it was last known, marks it *stuck* and raises an alarm; a
supervisor retries it (:meth:`TransportService.retry`) once the cause is solved.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from controller.alarms.board import AlarmBoard, Severity
from controller.auth.audit import Actor, AuditLog
from controller.errors import CommandRefused, TransportError
from controller.journal.writer import Journal
from controller.transport.locations import (
    SCHEMA,
    DockRecord,
    Location,
    LocationBook,
    read_docked,
    read_last_locations,
)
from controller.transport.mover import Buffer, Mover
from controller.transport.sequencing import Unit, turn_has_come
from drivers.cancelling import start_guarded
from plc_configs.schema import LineConfig

if TYPE_CHECKING:
    from controller.loading.service import LoadingService
    from controller.putwall.closeout import Container
    from controller.putwall.service import PutWallService
    from controller.routeplan.service import RoutePlanService

log = logging.getLogger(__name__)

#: A move that failed with the container still at a station (its wall, an AS/RS port, the
#: AS/RS) is tried again this often before it waits for a supervisor.
RETRIES = 2
RETRY_AFTER_S = 1.0

#: Container states of the wall that still have to be loaded (``loaded`` is done).
_AT_WALL = ("closed", "held", "ok", "released")


@dataclass
class Carriage:
    """One container's way to its truck."""

    id: str
    truck: str
    phase: str = "waiting"
    """waiting (at its wall or a station), to_buffer, storing, stored, to_door, loaded,
    stuck."""
    stuck_reason: str = ""
    failures: int = 0
    """Moves that failed since the last one that worked (retried up to ``RETRIES``)."""
    history: list[str] = field(default_factory=list)


class TransportService:
    """Every closed container's way to its truck (see the module docstring)."""

    def __init__(
        self,
        config: LineConfig,
        journal: Journal,
        alarms: AlarmBoard,
        audit: AuditLog,
        putwall: PutWallService,
        loading: LoadingService,
        route_plan: RoutePlanService,
        mover: Mover,
        buffer: Buffer | None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.config = config
        self.journal = journal
        self.alarms = alarms
        self.audit = audit
        self.putwall = putwall
        self.loading = loading
        self.route_plan = route_plan
        self.mover = mover
        self.buffer = buffer
        self.clock = clock
        self.book = LocationBook(journal)
        journal.add_schema(SCHEMA)
        self.carriages: dict[str, Carriage] = {}
        self.docked: dict[str, str] = {}
        """truck -> the door it is at."""
        self.final: set[str] = set()
        self.counts: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.changes = 0
        self._wake = asyncio.Event()
        self._group: asyncio.TaskGroup | None = None
        layout = config.fleet.layout
        self._stations = {s.id: s for s in layout.stations} if layout else {}
        putwall.closeout.listeners.append(self._left_wall)
        for truck in config.buffer.trucks_docked:
            self.docked[truck] = self._door_of(truck) or ""

    # ----------------------------------------------------------------- stations

    def _station(self, kind: str, ref: str | None) -> str:
        for station in self._stations.values():
            if station.kind == kind and (ref is None or station.ref == ref):
                return station.id
        raise TransportError(f"no {kind} station for {ref} in fleet.layout.stations")

    def _door_of(self, truck: str) -> str | None:
        found = self.route_plan.active.truck(truck)
        return found.door if found else None

    # ----------------------------------------------------------------- run

    async def run(self) -> None:
        """Move containers until cancelled."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            try:
                while True:
                    self._pump()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(1.0):
                            await self._wake.wait()
                    self._wake.clear()
            finally:
                self._group = None

    async def restore(self) -> None:
        """After a restart: every container's last location from the journal, and where
        each container that left its wall goes on from (after the walls restored)."""
        last = await asyncio.to_thread(read_last_locations, self.journal.path)
        self.book.current.update(last)
        self.docked.update(await asyncio.to_thread(read_docked, self.journal.path))
        for container in self.putwall.closeout.containers.values():
            if container.truck is None or container.state not in ("ok", "released", "loaded"):
                continue
            carriage = Carriage(container.id, container.truck)
            where = last.get(container.id)
            if container.state == "loaded" or (where is not None and where.kind == "truck"):
                carriage.phase = "loaded"
            elif where is None or where.kind in ("wall", "station"):
                carriage.phase = "waiting"
                if where is None:
                    self._locate(
                        container.id,
                        Location(
                            "wall", container.wall, time.time(), container.cubby, None, "restored"
                        ),
                    )
            elif where.kind == "asrs":
                carriage.phase = "stored"
            else:  # on a vehicle or at a door when the line stopped: look before moving it
                self.carriages[container.id] = carriage
                self._stuck(carriage, f"restart: it was {where.describe()}")
                continue
            self.carriages[container.id] = carriage

    def wake(self) -> None:
        """Look again at whose turn it is (a stop completed, a container moved …)."""
        self._wake.set()

    def _left_wall(self, container: Container) -> None:
        if container.truck is None:
            return
        carriage = self.carriages.setdefault(container.id, Carriage(container.id, container.truck))
        self._locate(carriage.id, Location("wall", container.wall, time.time(), container.cubby))
        self.wake()

    def _pump(self) -> None:
        """Start every move whose time has come."""
        if self._group is None:
            return
        turn = set()
        for truck in {c.truck for c in self.carriages.values()}:
            turn.update(self.whose_turn(truck))
        for carriage in list(self.carriages.values()):
            if carriage.id in turn and carriage.phase in ("waiting", "stored"):
                self._start(carriage, "to_door", self._to_door(carriage))
            elif carriage.phase == "waiting" and self.buffer is not None:
                self._start(carriage, "to_buffer", self._to_buffer(carriage))

    def _start(self, carriage: Carriage, phase: str, work: Any) -> None:
        assert self._group is not None
        carriage.phase = phase
        carriage.history.append(phase)
        self.changes += 1
        start_guarded(self._group, self._guard(carriage, work), f"transport-{carriage.id}")

    async def _guard(self, carriage: Carriage, work: Any) -> None:
        try:
            await work
            carriage.failures = 0
        except TransportError as err:
            carriage.failures += 1
            where = self.book.where(carriage.id)
            kind = str(err).split(":", 1)[0]
            if carriage.failures <= RETRIES and where is not None and where.kind != "vehicle":
                self.failed[f"retried: {kind}"[:60]] += 1
                log.warning("container %s: %s; trying again (%s)", carriage.id, err,
                            where.describe())  # fmt: skip
                await asyncio.sleep(RETRY_AFTER_S)
                carriage.phase = "stored" if where.kind == "asrs" else "waiting"
            else:
                self._stuck(carriage, str(err))
        finally:
            self.wake()

    def _stuck(self, carriage: Carriage, reason: str) -> None:
        carriage.phase = "stuck"
        carriage.stuck_reason = reason
        self.changes += 1
        kind = reason.split(":", 1)[0] if ":" in reason else reason
        self.failed[f"stuck: {kind}"[:60]] += 1
        where = self.book.where(carriage.id)
        self.alarms.raise_(
            f"transport:{carriage.id}",
            f"container {carriage.id} stuck {where.describe() if where else 'somewhere'}: {reason}",
            self.clock(),
            severity=Severity.WARNING,
        )

    # ----------------------------------------------------------------- moves

    def _locate(self, container_id: str, location: Location) -> None:
        self.book.move(container_id, location)
        self.changes += 1

    def _source(self, carriage: Carriage) -> str:
        """The station the container waits at (its wall's, or where a move left it)."""
        where = self.book.where(carriage.id)
        if where is not None and where.kind == "station":
            return where.place
        container = self.putwall.closeout.containers[carriage.id]
        return self._station("put_wall", container.wall)

    async def _to_buffer(self, carriage: Carriage) -> None:
        assert self.buffer is not None
        device = self.config.buffer.asrs or "asrs"
        in_port = self._station("asrs_in", device)
        source = self._source(carriage)
        if source != in_port:
            await self.mover.move(carriage.id, source, in_port, self._on_location(carriage.id))
            self.counts["moved"] += 1
        carriage.phase = "storing"
        slot = await self.buffer.store(carriage.id)
        self._locate(carriage.id, Location("asrs", device, time.time(), slot))
        self.counts["stored"] += 1
        carriage.phase = "stored"

    async def _to_door(self, carriage: Carriage) -> None:
        door = self.docked.get(carriage.truck) or self._door_of(carriage.truck)
        if not door:
            raise TransportError(f"truck {carriage.truck} has no door")
        where = self.book.where(carriage.id)
        if where is not None and where.kind == "asrs":
            assert self.buffer is not None
            await self.buffer.retrieve(carriage.id)
            out_port = self._station("asrs_out", self.config.buffer.asrs)
            self._locate(carriage.id, Location("station", out_port, time.time(), "retrieved"))
            self.counts["retrieved"] += 1
            source = out_port
        else:
            source = self._source(carriage)
        target = self._station("dock_door", door)
        await self.mover.move(carriage.id, source, target, self._on_location(carriage.id))
        self.counts["moved"] += 1
        self.counts["delivered"] += 1
        verdict = await self.loading.scan(door, carriage.id, source="amr")
        if not verdict.loads:
            raise TransportError(f"refused at door {door}: {verdict.kind} {verdict.reason}")
        self.counts["in_load_order" if verdict.kind == "ok" else "out_of_order"] += 1
        self._locate(carriage.id, Location("truck", carriage.truck, time.time(), door))
        carriage.phase = "loaded"

    def _on_location(self, container_id: str) -> Callable[[Location], None]:
        def on_location(location: Location) -> None:
            self._locate(container_id, location)

        return on_location

    # ----------------------------------------------------------------- turns

    def whose_turn(self, truck: str) -> list[str]:
        """The truck's containers whose turn at the door has come (see :mod:`.sequencing`)."""
        final = truck in self.final
        units = []
        for c in self.putwall.closeout.containers.values():
            if c.truck != truck or (c.state != "loaded" and c.state not in _AT_WALL):
                continue
            carriage = self.carriages.get(c.id)
            cannot_come = c.state in ("held", "closed") or (
                carriage is not None and carriage.phase == "stuck"
            )
            units.append(Unit(c.id, max(c.stops, default=-1), c.state == "loaded", not cannot_come))
        return turn_has_come(
            units, self.open_stops(truck), docked=truck in self.docked, final=final
        )

    def open_stops(self, truck: str) -> set[int]:
        """Stops of the truck that may still get containers (not complete at their wall)."""
        routes = {r.id for r in self.route_plan.active.routes if r.truck == truck}
        stops: set[int] = set()
        for unit in self.putwall.units.values():
            wall = unit.wall
            for group, members in wall.expected.items():
                if group[0] in routes and members and (group[0], group[1]) not in wall.completed:
                    stops.add(group[1])
            for cubby in wall.cubbies.values():
                if cubby.group is not None and cubby.parcels and cubby.group[0] in routes:
                    stops.add(cubby.group[1])
        return stops

    # ----------------------------------------------------------------- commands

    def dock(self, truck: str, door: str | None, actor: Actor | None, why: str = "") -> str:
        """The truck is at its door (TMS or supervisor); returns the door."""
        planned = self._door_of(truck)
        if planned is None:
            raise CommandRefused(f"no truck {truck!r} in the route plan")
        door = door or planned
        if door != planned:
            raise CommandRefused(f"truck {truck} is planned at door {planned}, not {door}")
        if actor is not None:
            self.audit.record(actor, "truck.docked", truck, why or f"at door {door}")
        self.docked[truck] = door
        self.journal.append(DockRecord(truck, door, time.time()))
        self.changes += 1
        self.wake()
        return door

    def finalize(self, truck: str) -> None:
        """Departure: load what there is, without waiting for open stops."""
        self.final.add(truck)
        self.wake()

    def retry(self, container_id: str, actor: Actor, why: str) -> None:
        """A supervisor moves a stuck container on (audited); where it was left stays known."""
        carriage = self.carriages.get(container_id)
        if carriage is None:
            raise CommandRefused(f"no container {container_id!r} in transport")
        if carriage.phase != "stuck":
            raise CommandRefused(f"container {container_id} is {carriage.phase}, not stuck")
        where = self.book.where(container_id)
        if where is None or where.kind not in ("wall", "asrs", "station"):
            raise CommandRefused(
                f"container {container_id} is {where.describe() if where else 'nowhere known'}:"
                " bring it to a station first"
            )
        self.audit.record(actor, "container.retry", container_id, why)
        carriage.phase = "stored" if where.kind == "asrs" else "waiting"
        self.alarms.clear(f"transport:{container_id}", self.clock())
        self.changes += 1
        self.wake()

    # ----------------------------------------------------------------- views

    def where(self, container_id: str) -> Location | None:
        """The container's location (None if the transport never had it)."""
        return self.book.where(container_id)

    def moving(self) -> int:
        """How many containers are on their way now (to the buffer, stored, to the door)."""
        return sum(c.phase in ("to_buffer", "storing", "to_door") for c in self.carriages.values())

    def all_loaded(self) -> bool:
        """True when every container that left a wall is loaded."""
        return all(c.phase == "loaded" for c in self.carriages.values())

    def snapshot(self) -> dict[str, Any]:
        """Containers by phase, docked trucks and counts, for the API and the HMI."""
        rows = []
        for carriage in self.carriages.values():
            where = self.book.where(carriage.id)
            rows.append(
                {
                    "container_id": carriage.id,
                    "truck": carriage.truck,
                    "phase": carriage.phase,
                    "stuck_reason": carriage.stuck_reason,
                    "location": where.as_dict() if where else None,
                }
            )
        return {
            "docked": dict(self.docked),
            "final": sorted(self.final),
            "containers": rows,
            "counts": dict(self.counts),
            "failed": dict(self.failed),
        }

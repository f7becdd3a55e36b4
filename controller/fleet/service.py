"""The fleet at work: transport tasks in, VDA 5050 orders and instant actions out.

:class:`FleetService` keeps the transport tasks, gives each queued one to a vehicle
(:mod:`.dispatcher`), follows each vehicle's state (:mod:`.tracker`) to move the task
along (picking, carrying, delivered), releases more of an order's horizon as the vehicle
nears its base's end, re-plans an order a vehicle refuses (another way avoiding the lane
it named, or another vehicle) up to ``max_replans`` times, and raises an alarm for what
it cannot do: a failed pick or drop, a lost vehicle, an instant action never shown, a
task that cannot be planned. Every task change is journaled and told to ``listeners``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from controller.alarms.board import AlarmBoard, Severity
from controller.auth.audit import Actor, AuditLog
from controller.errors import CommandRefused
from controller.fleet.graph import Graph
from controller.fleet.instant import InstantActions, PendingAction
from controller.fleet.jobs import REJECTIONS, Job
from controller.fleet.orders import init_position_action, simple_action
from controller.fleet.progress import FleetWork, TaskListener
from controller.fleet.tasks import SCHEMA, Location, TaskState, TransportTask
from controller.fleet.tracker import Tracker
from controller.journal.writer import Journal
from drivers.cancelling import start_guarded
from drivers.errors import DriverError
from drivers.vda5050.fleet_link import FleetLink
from plc_configs.fleet import FleetSection
from plc_configs.vda5050.messages import (
    Connection,
    Factsheet,
    Header,
    State,
    VehicleError,
    Visualization,
)

log = logging.getLogger(__name__)

ORDER_LATENCY_WINDOW = 10_000
"""Order latencies kept for figures (the latest ones; the journal has every task change)."""


class TaskRefused(CommandRefused):
    """A task that cannot be created; ``field`` names the request field at fault and
    ``conflict`` is True for a clash with another task (HTTP 409, else 422)."""

    def __init__(self, message: str, field: str, *, conflict: bool = False):
        super().__init__(message)
        self.field = field
        self.conflict = conflict


class FleetService(FleetWork):
    """Every vehicle and transport task of the line (see the module docstring)."""

    def __init__(
        self,
        config: Any,
        journal: Journal,
        alarms: AlarmBoard,
        audit: AuditLog,
        link: FleetLink,
        clock: Callable[[], float] = time.monotonic,
        *,
        tick_s: float = 0.2,
        park_idle_after_s: float | None = 30.0,
    ):
        """``config``: the line config (its ``fleet`` section is used) or the section."""
        fleet: FleetSection = getattr(config, "fleet", config)
        if fleet.layout is None:
            raise ValueError("fleet: no layout")
        journal.add_schema(SCHEMA)
        self.fleet = fleet
        self.policy = fleet.dispatch
        self.graph = Graph(fleet.layout)
        self.journal = journal
        self.alarms = alarms
        self.audit = audit
        self.link = link
        link.on_message = self._on_message
        self.clock = clock
        self.tick_s = tick_s
        self.park_idle_after_s = park_idle_after_s
        self.tracker = Tracker(fleet.vehicles, self.policy.lost_after_s)
        self.instant = InstantActions(
            self.policy.instant_action_resend_s, self.policy.instant_action_tries
        )
        self.tasks: dict[str, TransportTask] = {}
        self.jobs: dict[str, Job] = {}
        self.listeners: list[TaskListener] = []
        self.paused = False
        self.counters = {"created": 0, "delivered": 0, "failed": 0, "cancelled": 0, "replans": 0}
        self.order_latencies_s: deque[float] = deque(maxlen=ORDER_LATENCY_WINDOW)
        """Seconds from publishing an order (or order update) to the first state showing
        its orderUpdateId, the latest ones; a resent order counts from its last send."""
        self._seq = itertools.count(1)
        self._run = format(int(time.time()) % 16**6, "06x")
        """Starts every id this run makes (tasks, orders, actions): after a restart a vehicle
        must never take a new order or action for one it already saw (same id: ignored)."""
        self._avoid: dict[str, set[str]] = {}
        self._refused: dict[str, set[str]] = {}
        self._idle_since: dict[str, float] = {}
        self._homes = {v.key: fleet.layout.station(v.home).node for v in fleet.vehicles if v.home}

    # ------------------------------------------------------------------ running

    async def run(self) -> None:
        """Run the MQTT link and the periodic work (lost vehicles, resends, dispatch)."""
        try:
            async with asyncio.TaskGroup() as group:
                start_guarded(group, self.link.run(), "fleet-link")
                start_guarded(group, self._tick_loop(), "fleet-tick")
        finally:
            with contextlib.suppress(DriverError):
                await self.link.close()

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            try:
                await self.tick()
            except Exception:  # one bad tick must not stop the fleet
                log.exception("fleet: tick failed")

    async def tick(self) -> None:
        """Lost vehicles, resends of orders and instant actions, dispatch."""
        now = self.clock()
        for track in self.tracker.check_lost(now):
            self._on_lost(track, now)
        again, gave_up = self.instant.due(now)
        for entry in again:
            await self._publish_instant(entry.vehicle, entry.action)
        for entry in gave_up:
            self._instant_gave_up(entry, now)
        for job in list(self.jobs.values()):
            if not job.accepted and now - job.sent_at >= self.policy.order_accept_s:
                await self._resend(job, now)
        if self.link.connected:
            await self._dispatch(now)

    # ------------------------------------------------------------------ tasks

    def create_task(
        self, container_id: str, from_station: str, to_station: str, *, note: str | None = None
    ) -> TransportTask:
        """Queue a move of ``container_id``; :class:`TaskRefused` names the field at fault."""
        layout = self.graph.layout
        for name, station in (("from", from_station), ("to", to_station)):
            try:
                layout.station(station)
            except KeyError:
                raise TaskRefused(f"no station {station!r} in the fleet layout", name) from None
        if from_station == to_station:
            raise TaskRefused("from and to are the same station", "to")
        src, dst = layout.station(from_station), layout.station(to_station)
        if self.graph.route(src.node, dst.node) is None:
            raise TaskRefused(f"no way from {from_station} to {to_station}", "to")
        for other in self.tasks.values():
            if other.container_id == container_id and not other.done:
                raise TaskRefused(
                    f"container {container_id} already has task {other.id} ({other.state})",
                    "container",
                    conflict=True,
                )
        now = self.clock()
        task = TransportTask(
            f"T{self._run}-{next(self._seq):04d}",
            container_id,
            from_station,
            to_station,
            now,
            note=note,
        )
        self.tasks[task.id] = task
        self.counters["created"] += 1
        self._changed(task, "created", now, f"from {from_station} to {to_station}")
        return task

    def task(self, task_id: str) -> TransportTask | None:
        """The task ``task_id``, or None."""
        return self.tasks.get(task_id)

    async def cancel_task(self, task_id: str, actor: Actor, why: str) -> TransportTask:
        """Cancel a task (``cancelOrder`` to its vehicle); audited. A task already done is
        refused (CommandRefused)."""
        task = self.tasks.get(task_id)
        if task is None:
            raise CommandRefused(f"no transport task {task_id!r}")
        if task.done:
            self.audit.record(
                actor, "fleet.task.cancel", task_id, f"already {task.state}", ok=False
            )
            raise CommandRefused(f"task {task_id} is already {task.state}")
        self.audit.record(actor, "fleet.task.cancel", task_id, why)
        now = self.clock()
        job = self._job_of(task)
        if job is None:
            task.move(TaskState.CANCELLED, now, f"cancelled by {actor.name}: {why}")
            self.counters["cancelled"] += 1
            self._changed(task, "cancelled", now)
            return task
        job.cancelling = True
        task.reason = f"cancelled by {actor.name}: {why}"
        await self._cancel_order(job, f"cancel:{task.id}")
        return task

    async def pause(self, actor: Actor, why: str) -> None:
        """``startPause`` to every vehicle heard from; no new orders until resumed; audited."""
        self.audit.record(actor, "fleet.pause", "fleet", why)
        self.paused = True
        await self._to_all("startPause", "pause")

    async def resume(self, actor: Actor, why: str) -> None:
        """``stopPause`` to every vehicle heard from; dispatch again; audited."""
        self.audit.record(actor, "fleet.resume", "fleet", why)
        self.paused = False
        await self._to_all("stopPause", "resume")

    async def init_position(self, key: str, node_id: str, actor: Actor) -> None:
        """``initPosition`` of vehicle ``key`` at layout node ``node_id`` (resent until shown);
        audited. CommandRefused for an unknown vehicle or node."""
        if key not in self.tracker:
            raise CommandRefused(f"no vehicle {key!r}")
        try:
            node = self.graph.layout.node(node_id)
        except KeyError:
            raise CommandRefused(f"no node {node_id!r} in the fleet layout") from None
        self.audit.record(actor, "fleet.init_position", key, node_id)
        action = init_position_action(
            f"initPosition-{self._run}-{next(self._seq)}", node.x, node.y, node.map, node_id
        )
        self.instant.add(key, action, self.clock(), "init-position")
        await self._publish_instant(key, action)

    async def request_factsheets(self) -> None:
        """``factsheetRequest`` to every vehicle heard from."""
        await self._to_all("factsheetRequest", "factsheet")

    async def _to_all(self, action_type: str, purpose: str) -> None:
        now = self.clock()
        for track in self.tracker.vehicles.values():
            if track.state is None or track.lost:
                continue
            action = simple_action(action_type, f"{purpose}-{self._run}-{next(self._seq)}")
            self.instant.add(track.key, action, now, purpose)
            await self._publish_instant(track.key, action)

    # ------------------------------------------------------------------ messages in

    async def _on_message(self, key: str, kind: str, message: Header) -> None:
        now = self.clock()
        if isinstance(message, State):
            await self._on_state(key, message, now)
        elif isinstance(message, Connection):
            self.tracker.on_connection(key, message)
        elif isinstance(message, Visualization):
            self.tracker.on_visualization(key, message)
        elif isinstance(message, Factsheet):
            self.tracker.on_factsheet(key, message.model_dump(by_alias=True))

    async def _on_state(self, key: str, state: State, now: float) -> None:
        change = self.tracker.on_state(key, state, now)
        track = self.tracker[key]
        if change.found:
            self.alarms.clear(f"fleet-lost:{key}", now)
        for action_id, status in change.actions.items():
            entry = self.instant.on_status(key, action_id, status)
            if entry is not None and entry.done:
                await self._instant_done(entry, now)
        rejection: VehicleError | None = None
        for error in change.new_errors:
            entry = self.instant.on_error(key, error)
            if entry is not None:
                await self._instant_done(entry, now)
            elif error.error_type in REJECTIONS:
                rejection = rejection or error
            elif error.error_level == "FATAL":
                self.alarms.raise_(
                    f"fleet-fatal:{key}",
                    f"vehicle {key}: {error.error_type} ({error.error_description or 'FATAL'})",
                    now,
                    device=key,
                    severity=Severity.CRITICAL,
                )
        if not track.fatal:
            self.alarms.clear(f"fleet-fatal:{key}", now)
        job = self.jobs.get(key)
        if job is None:
            return
        if rejection is not None and self._refers_to(rejection, job):
            await self._rejected(job, rejection, now)
            return
        if state.order_id == job.plan.order_id:
            shown_before = job.accepted
            job.accepted_update = max(job.accepted_update, state.order_update_id)
            if job.accepted and not shown_before:
                self.order_latencies_s.append(now - job.sent_at)
        elif job.accepted_update >= 0:
            await self._order_vanished(job, track, now)
            return
        if job.task_id is not None:
            await self._task_progress(job, track, change.passed is not None, now)
            if key not in self.jobs:
                return
        await self._release_more(job, state, now)
        self._finish_if_done(job, state, now)

    def _refers_to(self, error: VehicleError, job: Job) -> bool:
        order_id = error.reference("orderId")
        return order_id is None or order_id == job.plan.order_id

    # ------------------------------------------------------------------ instant actions

    async def _instant_done(self, entry: PendingAction, now: float) -> None:
        purpose = entry.purpose
        if purpose.startswith("cancel:") or purpose == "cancel-after-fail":
            job = self.jobs.get(entry.vehicle)
            if job is None or not job.cancelling:
                return
            del self.jobs[entry.vehicle]
            task = self.tasks.get(job.task_id or "")
            if task is not None and not task.done:
                track = self.tracker[entry.vehicle]
                if task.state is TaskState.CARRYING:
                    task.relocate(Location(vehicle=track.key, last_node=track.last_node), now)
                    self.alarms.raise_(
                        f"fleet-task:{task.id}",
                        f"task {task.id} cancelled: container {task.container_id} stays on "
                        f"vehicle {track.key} at node {track.last_node}",
                        now,
                        device=track.key,
                    )
                task.move(TaskState.CANCELLED, now, task.reason or "cancelled")
                self.counters["cancelled"] += 1
                self._changed(task, "cancelled", now)
        elif entry.status == "FAILED" and purpose in ("pause", "resume"):
            self.alarms.raise_(
                f"fleet-instant:{entry.vehicle}",
                f"vehicle {entry.vehicle}: {entry.action.action_type} failed"
                f"{' (' + entry.error + ')' if entry.error else ''}",
                now,
                device=entry.vehicle,
            )

    def _instant_gave_up(self, entry: PendingAction, now: float) -> None:
        self.alarms.raise_(
            f"fleet-instant:{entry.vehicle}",
            f"vehicle {entry.vehicle} did not show instant action {entry.action.action_type} "
            f"({entry.action.action_id}) after {entry.tries} sends",
            now,
            device=entry.vehicle,
        )

    # ------------------------------------------------------------------ views

    def snapshot(self) -> dict[str, Any]:
        """Vehicles (connection, lost, position, battery, errors, current task), tasks by
        state (without their history), counters and the link's counters."""
        vehicles = []
        for track in self.tracker.vehicles.values():
            view = track.snapshot()
            job = self.jobs.get(track.key)
            view["job"] = None if job is None else job.kind
            view["task"] = job.task_id if job is not None else None
            vehicles.append(view)
        by_state: dict[str, list[dict[str, Any]]] = {str(s): [] for s in TaskState}
        for task in self.tasks.values():
            item = task.as_dict()
            item.pop("history")
            by_state[str(task.state)].append(item)
        return {
            "paused": self.paused,
            "vehicles": vehicles,
            "tasks": by_state,
            "counters": dict(self.counters),
            "link": self.link.counters(),
        }

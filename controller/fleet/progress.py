"""The fleet service's work on jobs: sending orders, following a task's pick and drop,
re-planning refused orders, lost vehicles, dispatch. A base of
:class:`~controller.fleet.service.FleetService`, split off to keep each module small."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable

from controller.alarms.board import AlarmBoard, Severity
from controller.fleet.dispatcher import TaskView, VehicleView, decide
from controller.fleet.graph import Graph
from controller.fleet.instant import InstantActions
from controller.fleet.jobs import Job, reroute_tail, task_job, trip_job
from controller.fleet.orders import OrderMessage, simple_action
from controller.fleet.tasks import Location, TaskRecord, TaskState, TransportTask
from controller.fleet.tracker import Tracker, VehicleTrack
from controller.journal.writer import Journal
from drivers.errors import DriverError
from drivers.vda5050.fleet_link import FleetLink
from plc_configs.fleet import DispatchPolicy
from plc_configs.vda5050.messages import Action, State, VehicleError

log = logging.getLogger(__name__)

TaskListener = Callable[[TransportTask, str], None]
"""Told ``(task, change)`` after every change; ``change`` is the task's new state
(``created``, ``assigned``, ``picking``, ``carrying``, ``delivered``, ``failed``,
``cancelled``, ``queued`` when re-planned), or ``located`` when only the container's
location changed (a node passed while carrying). Must not block."""

_PICKING = frozenset({"INITIALIZING", "RUNNING", "PAUSED"})


class FleetWork:
    """Jobs, task progress and dispatch (the attributes are set by FleetService)."""

    policy: DispatchPolicy
    graph: Graph
    journal: Journal
    alarms: AlarmBoard
    link: FleetLink
    clock: Callable[[], float]
    tracker: Tracker
    instant: InstantActions
    tasks: dict[str, TransportTask]
    jobs: dict[str, Job]
    listeners: list[TaskListener]
    paused: bool
    counters: dict[str, int]
    park_idle_after_s: float | None
    _seq: itertools.count[int]
    _run: str
    _avoid: dict[str, set[str]]
    _refused: dict[str, set[str]]
    _idle_since: dict[str, float]
    _homes: dict[str, str]

    # ------------------------------------------------------------------ records

    def _changed(self, task: TransportTask, change: str, now: float, detail: str = "") -> None:
        self.journal.append(TaskRecord.of(task, now, detail or task.reason))
        for listener in list(self.listeners):
            try:
                listener(task, change)
            except Exception:
                log.exception("fleet: task listener failed")

    def _job_of(self, task: TransportTask) -> Job | None:
        job = self.jobs.get(task.vehicle or "")
        return job if job is not None and job.task_id == task.id else None

    def _station(self, station_id: str) -> tuple[str, str, str]:
        station = self.graph.layout.station(station_id)
        return station.id, station.node, station.kind

    def _fail(self, task: TransportTask, now: float, reason: str, location: Location) -> None:
        task.relocate(location, now)
        task.move(TaskState.FAILED, now, reason)
        self.counters["failed"] += 1
        self.alarms.raise_(
            f"fleet-task:{task.id}",
            f"transport task {task.id} (container {task.container_id}, {task.source} -> "
            f"{task.target}) failed: {reason}; the container is {task.location}",
            now,
            device=task.vehicle,
        )
        self._changed(task, "failed", now)

    # ------------------------------------------------------------------ sending

    async def _send(self, job: Job, message: OrderMessage, now: float) -> bool:
        job.sent_at = now
        try:
            await self.link.send_order(
                job.vehicle, message.order_id, message.order_update_id, message.nodes, message.edges
            )
        except DriverError as err:
            log.warning("fleet: order %s to %s not sent: %s", message.order_id, job.vehicle, err)
            return False
        return True

    async def _publish_instant(self, key: str, action: Action) -> None:
        try:
            await self.link.send_instant(key, [action])
        except DriverError as err:
            log.warning("fleet: %s to %s not sent: %s", action.action_type, key, err)

    async def _cancel_order(self, job: Job, purpose: str) -> None:
        if self.instant.of(job.vehicle, purpose) is not None:
            return
        action = simple_action("cancelOrder", f"cancel-{self._run}-{next(self._seq)}")
        job.cancelling = True
        self.instant.add(job.vehicle, action, self.clock(), purpose)
        await self._publish_instant(job.vehicle, action)

    async def _resend(self, job: Job, now: float) -> None:
        if job.tries >= self.policy.instant_action_tries:
            error = VehicleError(
                error_type="notAccepted",
                error_level="WARNING",
                error_description=f"order not shown in the state after {job.tries} sends",
            )
            await self._rejected(job, error, now)
            return
        if await self._send(job, job.plan.current(), now):
            job.tries += 1

    # ------------------------------------------------------------------ vehicles

    def _on_lost(self, track: VehicleTrack, now: float) -> None:
        job = self.jobs.get(track.key)
        task = self.tasks.get(job.task_id or "") if job else None
        what = f"; task {task.id}: container {task.container_id} {task.location}" if task else ""
        self.alarms.raise_(
            f"fleet-lost:{track.key}",
            f"vehicle {track.key} lost: no state for {self.policy.lost_after_s:g} s, last at "
            f"node {track.last_node}{what}",
            now,
            device=track.key,
            severity=Severity.CRITICAL if task else Severity.WARNING,
        )

    async def _order_vanished(self, job: Job, track: VehicleTrack, now: float) -> None:
        """The vehicle reports another order than ours (rebooted, or an order from elsewhere)."""
        del self.jobs[job.vehicle]
        task = self.tasks.get(job.task_id or "")
        if task is None or task.done:
            return
        if task.container_id in track.loads or task.state is TaskState.CARRYING:
            where = Location(vehicle=track.key, last_node=track.last_node)
        else:
            where = task.location
        self._fail(task, now, f"vehicle {track.key} no longer has order {job.plan.order_id}", where)

    async def _rejected(self, job: Job, error: VehicleError, now: float) -> None:
        """The vehicle refused our order (or never showed it): re-plan or fail, with alarm."""
        key = job.vehicle
        what = f"{error.error_type}" + (
            f" ({error.error_description})" if error.error_description else ""
        )
        task = self.tasks.get(job.task_id or "")
        if task is None or task.done:
            del self.jobs[key]
            self.alarms.raise_(
                f"fleet-order:{key}", f"vehicle {key} refused {job.plan.order_id}: {what}", now
            )
            return
        edge = error.reference("edgeId")
        avoid = self._avoid.setdefault(task.id, set())
        if edge:
            avoid.add(edge)
        task.replans += 1
        self.counters["replans"] += 1
        if task.replans > self.policy.max_replans:
            del self.jobs[key]
            if job.accepted_update >= 0:
                await self._cancel_order(job, "cancel-after-fail")
                self.jobs[key] = job
            where = task.location
            self._fail(task, now, f"vehicle {key} refused order {job.plan.order_id}: {what}", where)
            return
        if job.accepted_update < 0:  # the vehicle never took the order: plan it afresh
            del self.jobs[key]
            if not edge:
                self._refused.setdefault(task.id, set()).add(key)
            task.move(TaskState.QUEUED, now, f"re-planned: {key} refused: {what}")
            self._changed(task, "queued", now)
            return
        picked = task.state is TaskState.CARRYING
        job.plan.rollback(job.accepted_update)  # the refused update released nothing
        found = reroute_tail(
            self.graph,
            job,
            picked=picked,
            container_id=task.container_id,
            source=self._station(task.source),
            target=self._station(task.target),
            avoid=avoid,
        )
        if found is None:
            await self._cancel_order(job, "cancel-after-fail")
            self._fail(
                task, now, f"{key} refused the way ({what}) and there is no other", task.location
            )
            return
        message = job.plan.reroute(found[0], found[1], self.policy.base_nodes)
        job.tries = 1
        await self._send(job, message, now)

    # ------------------------------------------------------------------ task progress

    async def _task_progress(self, job: Job, track: VehicleTrack, moved: bool, now: float) -> None:
        task = self.tasks[job.task_id or ""]
        pick = track.action_status.get(job.pick_id or "")
        drop = track.action_status.get(job.drop_id or "")
        if job.cancelling:  # our cancelOrder fails the actions left: not a fault
            pick = None if pick == "FAILED" else pick
            drop = None if drop == "FAILED" else drop
        on_vehicle = Location(vehicle=track.key, last_node=track.last_node)
        if task.state is TaskState.ASSIGNED and pick in _PICKING:
            task.move(TaskState.PICKING, now, f"{track.key} picks at {task.source}")
            self._changed(task, "picking", now)
        if pick == "FAILED" and task.state in (TaskState.ASSIGNED, TaskState.PICKING):
            await self._cancel_order(job, "cancel-after-fail")
            self._fail(task, now, f"pick failed at {task.source} ({track.key})", task.location)
            return
        if pick == "FINISHED" and task.state in (TaskState.ASSIGNED, TaskState.PICKING):
            task.relocate(on_vehicle, now)
            task.move(TaskState.CARRYING, now, f"picked by {track.key}")
            self._changed(task, "carrying", now)
        elif task.state is TaskState.CARRYING and moved and task.relocate(on_vehicle, now):
            self._changed(task, "located", now, f"passed {track.last_node}")
        if task.state is not TaskState.CARRYING:
            return
        if drop == "FAILED":
            await self._cancel_order(job, "cancel-after-fail")
            self._fail(task, now, f"drop failed at {task.target} ({track.key})", on_vehicle)
        elif drop == "FINISHED":
            task.relocate(Location(station=task.target), now)
            task.move(TaskState.DELIVERED, now, f"dropped by {track.key}")
            self.counters["delivered"] += 1
            self.alarms.clear(f"fleet-task:{task.id}", now)
            self._changed(task, "delivered", now)

    async def _release_more(self, job: Job, state: State, now: float) -> None:
        """Extend the base when the vehicle has at most one released node ahead."""
        if job.cancelling or not job.accepted or job.plan.complete:
            return
        ahead = sum(1 for n in state.node_states if n.released)
        if ahead <= 1 or state.new_base_request:
            message = job.plan.extend(self.policy.base_nodes)
            if message is not None:
                job.tries = 1
                await self._send(job, message, now)

    def _finish_if_done(self, job: Job, state: State, now: float) -> None:
        if self.jobs.get(job.vehicle) is not job or job.cancelling or not job.accepted:
            return
        if not job.plan.complete or state.node_states:
            return
        statuses = self.tracker[job.vehicle].action_status
        if any(statuses.get(a) not in ("FINISHED", "FAILED") for a in job.action_ids):
            return
        task = self.tasks.get(job.task_id or "")
        if task is not None and not task.done:
            return  # the task's own progress ends it
        del self.jobs[job.vehicle]

    # ------------------------------------------------------------------ dispatch

    def _free(self, track: VehicleTrack) -> bool:
        state = track.state
        return (
            track.online
            and state is not None
            and not track.fatal
            and not track.busy
            and track.key not in self.jobs
            and not track.loads
            and not state.paused
            and state.operating_mode == "AUTOMATIC"
        )

    async def _dispatch(self, now: float) -> None:
        views, park_idle = [], []
        for track in self.tracker.vehicles.values():
            free = self._free(track)
            if free:
                since = self._idle_since.setdefault(track.key, now)
                wait = self.park_idle_after_s
                if wait is not None and now - since >= wait:
                    park_idle.append(track.key)
            else:
                self._idle_since.pop(track.key, None)
            views.append(
                VehicleView(
                    track.key,
                    track.last_node,
                    free,
                    track.battery or 0.0,
                    track.charging,
                    self._homes.get(track.key),
                )
            )
        queued = (
            [] if self.paused else [t for t in self.tasks.values() if t.state is TaskState.QUEUED]
        )
        task_views = [
            TaskView(
                t.id,
                self._station(t.source)[1],
                self._station(t.target)[1],
                frozenset(self._refused.get(t.id, ())),
                frozenset(self._avoid.get(t.id, ())),
            )
            for t in queued
        ]
        chargers = {j.goal for j in self.jobs.values() if j.kind == "charge" and j.goal}
        decisions = decide(
            task_views,
            views,
            self.graph,
            self.policy,
            chargers_taken=chargers,
            park_idle=() if self.paused else park_idle,
        )
        for task_id, key in decisions.assign:
            await self._assign(self.tasks[task_id], key, now)
        if self.paused:
            return
        for key, charger in decisions.charge:
            await self._trip(key, "charge", self.graph.layout.station(charger).node, charger, now)
        for key in decisions.stop_charging:
            if self.instant.of(key, "charge-end") is None:
                action = simple_action(
                    "stopCharging", f"stopCharging-{self._run}-{next(self._seq)}"
                )
                self.instant.add(key, action, now, "charge-end")
                await self._publish_instant(key, action)
        for key in decisions.park:
            await self._trip(key, "park", self._homes[key], "home", now)

    async def _assign(self, task: TransportTask, key: str, now: float) -> None:
        track = self.tracker[key]
        task.attempts += 1
        order_id = f"{task.id}-{task.attempts}"
        job = task_job(
            self.graph,
            vehicle=key,
            start=track.last_node or "",
            order_id=order_id,
            container_id=task.container_id,
            source=self._station(task.source),
            target=self._station(task.target),
            base_nodes=self.policy.base_nodes,
            now=now,
            task_id=task.id,
            avoid=self._avoid.get(task.id, ()),
        )
        if job is None:
            self._fail(
                task,
                now,
                f"no way for {key} avoiding {sorted(self._avoid.get(task.id, ()))}",
                task.location,
            )
            return
        self.jobs[key] = job
        task.vehicle, task.order_id = key, order_id
        task.move(TaskState.ASSIGNED, now, f"order {order_id} to {key}")
        self._changed(task, "assigned", now)
        await self._send(job, job.plan.first(), now)

    async def _trip(self, key: str, kind: str, goal: str, label: str, now: float) -> None:
        track = self.tracker[key]
        order_id = f"{kind}-{label}-{self._run}-{next(self._seq)}"
        job = trip_job(
            self.graph,
            kind=kind,
            vehicle=key,
            start=track.last_node or "",
            goal=goal,
            order_id=order_id,
            base_nodes=self.policy.base_nodes,
            now=now,
        )
        if job is None:
            return
        job.goal = label
        self.jobs[key] = job
        await self._send(job, job.plan.first(), now)

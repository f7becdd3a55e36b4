"""Transport tasks: one container from one station to another, and their journal records.

States: ``queued`` → ``assigned`` (a vehicle has the order) → ``picking`` (its pick runs)
→ ``carrying`` (picked) → ``delivered``; or ``failed`` (with the reason) or
``cancelled`` from any state before ``delivered``. Every change is kept in the task's
history and journaled (tables ``fleet_tasks``, one row per task, and ``fleet_task_events``,
every change), by the journal's writer thread.

Where the container is follows from the state and is never guessed: at the source
station until the pick finished, then on the vehicle (with the last node it passed), at
the destination once dropped. A failed pick leaves it at the source; a failed drop, a
lost vehicle or a cancel after the pick leave it on the vehicle.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class TaskState(StrEnum):
    """Where a transport task is in its life."""

    QUEUED = "queued"
    ASSIGNED = "assigned"
    PICKING = "picking"
    CARRYING = "carrying"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({TaskState.DELIVERED, TaskState.FAILED, TaskState.CANCELLED})
_NEXT: dict[TaskState, frozenset[TaskState]] = {
    TaskState.QUEUED: frozenset({TaskState.ASSIGNED}),
    TaskState.ASSIGNED: frozenset({TaskState.QUEUED, TaskState.PICKING, TaskState.CARRYING}),
    TaskState.PICKING: frozenset({TaskState.QUEUED, TaskState.CARRYING}),
    TaskState.CARRYING: frozenset({TaskState.DELIVERED}),
}


@dataclass(frozen=True, slots=True)
class Location:
    """Where a container is: at a station, or on a vehicle last seen at a node."""

    station: str | None = None
    vehicle: str | None = None
    last_node: str | None = None

    def __str__(self) -> str:
        if self.vehicle is not None:
            return f"on vehicle {self.vehicle}, last at node {self.last_node or '?'}"
        return f"at station {self.station}"

    def as_dict(self) -> dict[str, str | None]:
        """JSON-ready."""
        return {
            "station": self.station,
            "vehicle": self.vehicle,
            "last_node": self.last_node,
            "text": str(self),
        }


@dataclass
class TransportTask:
    """Move ``container_id`` from station ``source`` to station ``target``."""

    id: str
    container_id: str
    source: str
    target: str
    created: float
    note: str | None = None
    state: TaskState = TaskState.QUEUED
    vehicle: str | None = None
    reason: str = ""
    location: Location = field(default_factory=Location)
    attempts: int = 0
    """Orders sent for it (a re-plan sends another)."""
    replans: int = 0
    updated: float = 0.0
    order_id: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.location.station is None and self.location.vehicle is None:
            self.location = Location(station=self.source)
        self.updated = self.updated or self.created
        if not self.history:
            self.history.append(self._entry(self.created, "created"))

    @property
    def done(self) -> bool:
        """Delivered, failed or cancelled."""
        return self.state in TERMINAL

    def move(self, state: TaskState, now: float, detail: str = "") -> None:
        """Go to ``state`` (ValueError when the state machine forbids it)."""
        if state in (TaskState.FAILED, TaskState.CANCELLED):
            if self.done:
                raise ValueError(f"task {self.id} is already {self.state}")
        elif state not in _NEXT.get(self.state, frozenset()):
            raise ValueError(f"task {self.id}: {self.state} -> {state} is not allowed")
        self.state = state
        if state in (TaskState.FAILED, TaskState.CANCELLED):
            self.reason = detail
        if state is TaskState.QUEUED:
            self.vehicle = None
            self.order_id = None
        self.updated = now
        self.history.append(self._entry(now, detail))

    def relocate(self, location: Location, now: float) -> bool:
        """The container is now at ``location``; True when that changed it."""
        if location == self.location:
            return False
        self.location = location
        self.updated = now
        return True

    def _entry(self, now: float, detail: str) -> dict[str, Any]:
        return {
            "time": now,
            "state": str(self.state),
            "vehicle": self.vehicle,
            "location": str(self.location),
            "detail": detail,
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (times on the controller's clock)."""
        return {
            "id": self.id,
            "container_id": self.container_id,
            "from": self.source,
            "to": self.target,
            "state": str(self.state),
            "vehicle": self.vehicle,
            "order_id": self.order_id,
            "reason": self.reason,
            "location": self.location.as_dict(),
            "attempts": self.attempts,
            "replans": self.replans,
            "created": self.created,
            "updated": self.updated,
            "note": self.note,
            "history": list(self.history),
        }


SCHEMA = """
CREATE TABLE IF NOT EXISTS fleet_tasks(
    id TEXT PRIMARY KEY, container_id TEXT NOT NULL, source TEXT NOT NULL,
    target TEXT NOT NULL, state TEXT NOT NULL, vehicle TEXT, reason TEXT, location TEXT,
    attempts INTEGER NOT NULL, created REAL NOT NULL, updated REAL NOT NULL, note TEXT);
CREATE INDEX IF NOT EXISTS fleet_tasks_by_container ON fleet_tasks(container_id);
CREATE TABLE IF NOT EXISTS fleet_task_events(
    id INTEGER PRIMARY KEY, time REAL NOT NULL, task_id TEXT NOT NULL, state TEXT NOT NULL,
    vehicle TEXT, location TEXT, detail TEXT);
CREATE INDEX IF NOT EXISTS fleet_task_events_by_task ON fleet_task_events(task_id);
"""


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """A task's row as it is now, and the change that made it so (times: controller clock;
    stored as wall-clock seconds)."""

    time: float
    row: dict[str, Any]
    detail: str = ""

    @classmethod
    def of(cls, task: TransportTask, now: float, detail: str = "") -> TaskRecord:
        """The record of ``task`` at ``now``."""
        row = {
            "id": task.id,
            "container_id": task.container_id,
            "source": task.source,
            "target": task.target,
            "state": str(task.state),
            "vehicle": task.vehicle,
            "reason": task.reason,
            "location": str(task.location),
            "attempts": task.attempts,
            "created": task.created,
            "updated": task.updated,
            "note": task.note,
        }
        return cls(now, row, detail)

    def write_to(self, conn: sqlite3.Connection, session: int, wall_offset: float) -> bool:
        """Upsert the task row and add the event (journal writer thread); no upstream event."""
        row = dict(self.row)
        row["created"] += wall_offset
        row["updated"] += wall_offset
        conn.execute(
            f"INSERT OR REPLACE INTO fleet_tasks({', '.join(row)}) "
            f"VALUES({', '.join('?' * len(row))})",
            tuple(row.values()),
        )
        conn.execute(
            "INSERT INTO fleet_task_events(time, task_id, state, vehicle, location, detail)"
            " VALUES(?, ?, ?, ?, ?, ?)",
            (
                self.time + wall_offset,
                row["id"],
                row["state"],
                row["vehicle"],
                row["location"],
                self.detail,
            ),
        )
        return False

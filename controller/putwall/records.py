"""What the put wall and the loading journal: tables, records and their upstream events.

Tables (in the journal's database, written by its writer thread, off the event loop):

* ``wall_events`` — every :class:`~controller.putwall.wall.Record` of every wall, in order
  (puts, wrong puts, shorts, exceptions, close-outs, weigh results, load scans …);
* ``handling`` — one row per parcel after its sort: ``put`` → ``loaded``, or ``short`` /
  ``exception`` with the reason; the primary key makes a second put impossible;
* ``wall_containers`` — one row per closed container: truck, route, stops, parcels,
  state (``closed`` → ``ok``/``held`` → ``released`` → ``loaded``), weights.

The upstream events (``parcel.put``, ``parcel.short``, ``stop.complete``,
``container.closed``, ``truck.loaded``) go into the outbox in the same transaction as the
rows they report, so a crash never reports what was not recorded, nor forgets to.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.journal.schema import reading
from controller.upstream import outbox
from controller.upstream.payload import encode, iso_utc

SCHEMA = """
CREATE TABLE IF NOT EXISTS wall_events(
    id INTEGER PRIMARY KEY, time REAL NOT NULL, wall TEXT NOT NULL, kind TEXT NOT NULL,
    parcel_id TEXT, cubby TEXT, container_id TEXT, reason TEXT, grp TEXT, actor TEXT);
CREATE INDEX IF NOT EXISTS wall_events_by_parcel ON wall_events(parcel_id);
CREATE TABLE IF NOT EXISTS handling(
    parcel_id TEXT PRIMARY KEY, state TEXT NOT NULL, wall TEXT, cubby TEXT,
    container_id TEXT, truck TEXT, route TEXT, stop INTEGER, reason TEXT,
    put_at REAL, loaded_at REAL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS wall_containers(
    id TEXT PRIMARY KEY, wall TEXT NOT NULL, cubby TEXT NOT NULL, truck TEXT, route TEXT,
    stops TEXT NOT NULL, parcels TEXT NOT NULL, closed REAL NOT NULL, reason TEXT,
    state TEXT NOT NULL, expected_kg REAL, measured_kg REAL, weigh_reason TEXT,
    position TEXT, loaded REAL, door TEXT);
CREATE TABLE IF NOT EXISTS trucks_loaded(
    truck TEXT PRIMARY KEY, time REAL NOT NULL, summary TEXT NOT NULL);
"""

#: Wall records that change a parcel's handling state, and the state they set.
HANDLING_STATE = {"put": "put", "short": "short", "exception": "exception", "loaded": "loaded"}
#: Wall record kinds reported upstream, and their event type.
EVENT_OF = {
    "put": "parcel.put",
    "short": "parcel.short",
    "stop_complete": "stop.complete",
    "container_closed": "container.closed",
}


@dataclass(frozen=True, slots=True)
class WallEvent:
    """One wall or loading record to journal (and to report when its type is enabled).

    ``time`` is wall-clock (epoch) seconds. ``payload`` is the upstream event's body
    (without ``event_id``/``type``/``time``/``line``, which are added here);
    ``container`` a ``wall_containers`` row to insert, ``container_state`` an update of
    one (``(id, state, fields)``).
    """

    time: float
    wall: str
    kind: str
    line: str
    parcel_id: str | None = None
    cubby: str | None = None
    container_id: str | None = None
    reason: str = ""
    group: str | None = None
    actor: str | None = None
    truck: str | None = None
    route: str | None = None
    stop: int | None = None
    payload: dict[str, Any] | None = None
    report: Collection[str] = ()
    container: dict[str, Any] | None = None
    container_state: tuple[str, str, dict[str, Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def write_to(self, conn: sqlite3.Connection, session: int, wall_offset: float) -> bool:
        """Insert the rows (journal writer thread, its transaction); True when reported."""
        conn.execute(
            "INSERT INTO wall_events(time, wall, kind, parcel_id, cubby, container_id, reason,"
            " grp, actor) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.time,
                self.wall,
                self.kind,
                self.parcel_id,
                self.cubby,
                self.container_id,
                self.reason,
                self.group,
                self.actor,
            ),
        )
        state = HANDLING_STATE.get(self.kind)
        if state is not None and self.parcel_id is not None:
            self._handle(conn, state)
        if self.container is not None:
            row = self.container
            conn.execute(
                f"INSERT OR REPLACE INTO wall_containers({', '.join(row)}) "
                f"VALUES({', '.join('?' * len(row))})",
                tuple(row.values()),
            )
        if self.container_state is not None:
            cid, new_state, fields = self.container_state
            sets = ", ".join(["state = ?", *(f"{k} = ?" for k in fields)])
            conn.execute(
                f"UPDATE wall_containers SET {sets} WHERE id = ?",
                (new_state, *fields.values(), cid),
            )
        if self.kind == "truck_loaded" and self.payload is not None:
            conn.execute(
                "INSERT OR REPLACE INTO trucks_loaded VALUES(?, ?, ?)",
                (self.truck, self.time, json.dumps(self.payload)),
            )
        event_type = EVENT_OF.get(self.kind, "truck.loaded" if self.kind == "truck_loaded" else "")
        if not event_type or event_type not in self.report or self.payload is None:
            return False
        event_id = str(uuid.uuid4())
        body = {
            "event_id": event_id,
            "type": event_type,
            "time": iso_utc(self.time),
            "line": self.line,
            **self.payload,
        }
        if self.parcel_id is not None:
            lane = self._parcel_lane(conn, body)
        else:
            lane = f"truck:{self.truck}" if self.truck else f"wall:{self.wall}"
        outbox.record_other(conn, event_id, event_type, lane, self.time, encode(body), session)
        return True

    def _parcel_lane(self, conn: sqlite3.Connection, body: dict[str, Any]) -> str:
        """The lane of the parcel's own events (so ``parcel.put`` follows ``parcel.sorted``
        in order), its ``parcel_id`` as the sort reported it, and the next ``sequence``.

        A code the line never sorted gets a lane of its own (``barcode:<code>``)."""
        row = conn.execute(
            "SELECT session, uid, tracking_id FROM parcels WHERE barcode = ? "
            "ORDER BY (state = 'sorted') DESC, updated DESC LIMIT 1",
            (self.parcel_id,),
        ).fetchone()
        body["barcode"] = self.parcel_id
        if row is None:
            lane, body["tracking_id"] = f"barcode:{self.parcel_id}", None
        else:
            lane = f"{row[0]}:{row[1]}"
            body["parcel_id"], body["tracking_id"] = f"{row[0]}-{row[1]}", row[2]
        (last,) = conn.execute(
            "SELECT coalesce(max(sequence), 0) FROM outbox WHERE lane_key = ?", (lane,)
        ).fetchone()
        body["sequence"] = last + 1
        return lane

    def _handle(self, conn: sqlite3.Connection, state: str) -> None:
        if state == "put":
            conn.execute(
                "INSERT INTO handling(parcel_id, state, wall, cubby, container_id, truck, route,"
                " stop, reason, put_at, updated) VALUES(?, 'put', ?, ?, ?, ?, ?, ?, '', ?, ?)"
                " ON CONFLICT(parcel_id) DO UPDATE SET state = 'put', wall = excluded.wall,"
                " cubby = excluded.cubby, container_id = excluded.container_id,"
                " put_at = excluded.put_at, updated = excluded.updated, reason = ''"
                " WHERE handling.state NOT IN ('put', 'loaded')",
                (
                    self.parcel_id,
                    self.wall,
                    self.cubby,
                    self.container_id,
                    self.truck,
                    self.route,
                    self.stop,
                    self.time,
                    self.time,
                ),
            )
        elif state == "loaded":
            conn.execute(
                "UPDATE handling SET state = 'loaded', loaded_at = ?, updated = ? "
                "WHERE parcel_id = ?",
                (self.time, self.time, self.parcel_id),
            )
        else:
            conn.execute(
                "INSERT INTO handling(parcel_id, state, wall, truck, route, stop, reason,"
                " updated) VALUES(?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(parcel_id) DO UPDATE SET"
                " state = excluded.state, reason = excluded.reason, updated = excluded.updated"
                " WHERE handling.state NOT IN ('put', 'loaded')",
                (
                    self.parcel_id,
                    state,
                    self.wall,
                    self.truck,
                    self.route,
                    self.stop,
                    self.reason,
                    self.time,
                ),
            )


@dataclass(frozen=True, slots=True)
class Handling:
    """A parcel's ``handling`` row: its state after the sort and where it is."""

    state: str
    wall: str | None
    cubby: str | None
    container_id: str | None
    reason: str


def read_handling(path: Path) -> dict[str, Handling]:
    """parcel id -> its handling row, every row (thread-side)."""
    with reading(path, "handling") as conn:
        rows = conn.execute(
            "SELECT parcel_id, state, wall, cubby, container_id, reason FROM handling"
        ).fetchall()
    return {r[0]: Handling(r[1], r[2], r[3], r[4], r[5] or "") for r in rows}


def read_completed_stops(path: Path) -> list[tuple[str, str]]:
    """(wall, "route:stop:…") of every ``stop_complete`` recorded (thread-side)."""
    with reading(path, "completed stops") as conn:
        return conn.execute(
            "SELECT wall, grp FROM wall_events WHERE kind = 'stop_complete' AND grp IS NOT NULL"
        ).fetchall()


def read_containers(path: Path) -> list[dict[str, Any]]:
    """Every closed container row, oldest first (thread-side)."""
    with reading(path, "wall containers") as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM wall_containers ORDER BY closed, id").fetchall()
    out = []
    for row in rows:
        item = dict(row)
        item["stops"] = json.loads(item["stops"])
        item["parcels"] = json.loads(item["parcels"])
        out.append(item)
    return out


def read_wall_events(path: Path, wall: str | None, limit: int = 50) -> list[dict[str, Any]]:
    """The newest wall events (of one wall), newest first (thread-side)."""
    sql = "SELECT time, wall, kind, parcel_id, cubby, container_id, reason, actor FROM wall_events"
    args: tuple[Any, ...] = ()
    if wall is not None:
        sql += " WHERE wall = ?"
        args = (wall,)
    sql += " ORDER BY id DESC LIMIT ?"
    keys = ("time", "wall", "kind", "parcel_id", "cubby", "container_id", "reason", "actor")
    with reading(path, "wall events") as conn:
        rows = conn.execute(sql, (*args, max(1, min(limit, 1000)))).fetchall()
    return [dict(zip(keys, r, strict=True)) for r in rows]


def read_trucks_loaded(path: Path) -> dict[str, dict[str, Any]]:
    """truck -> its ``truck.loaded`` summary (thread-side)."""
    with reading(path, "trucks loaded") as conn:
        rows = conn.execute("SELECT truck, summary FROM trucks_loaded").fetchall()
    return {truck: json.loads(summary) for truck, summary in rows}

"""Where every container is: one known location at every moment, journaled with each move.

A location is a kind and a place:

* ``wall`` — at its put wall (``place`` the wall, ``detail`` the cubby);
* ``vehicle`` — on an AMR (``place`` the vehicle, ``detail`` "last at node N": where the
  vehicle last reported itself, never a guess of where it is now);
* ``station`` — set down at a layout station (``place`` the station: the AS/RS in-port
  waiting to be stored, its out-port after a retrieval, or where a failed move left it);
* ``asrs`` — stored in the AS/RS (``place`` the device, ``detail`` its storage location);
* ``door`` — delivered to a dock door (``place`` the door);
* ``truck`` — loaded (``place`` the truck).

:class:`LocationBook` keeps the current location of each container in memory and appends
a ``container_moves`` row for each move to the journal (its writer thread), so a
container's history is a query and its location survives a restart.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.journal.schema import reading
from controller.journal.writer import Journal

SCHEMA = """
CREATE TABLE IF NOT EXISTS container_moves(
    id INTEGER PRIMARY KEY, time REAL NOT NULL, container_id TEXT NOT NULL,
    kind TEXT NOT NULL, place TEXT NOT NULL, detail TEXT, task_id TEXT, note TEXT);
CREATE INDEX IF NOT EXISTS container_moves_by_id ON container_moves(container_id, id);
CREATE TABLE IF NOT EXISTS truck_docks(
    truck TEXT PRIMARY KEY, door TEXT NOT NULL, time REAL NOT NULL);
"""

KINDS = ("wall", "vehicle", "station", "asrs", "door", "truck")


@dataclass(frozen=True, slots=True)
class Location:
    """Where a container is, since when (epoch seconds), and why it went there."""

    kind: str
    place: str
    since: float
    detail: str = ""
    task_id: str | None = None
    note: str = ""

    def describe(self) -> str:
        """In words, e.g. ``on vehicle LaneSim/AMR-02, last at node X3``."""
        text = {
            "wall": f"at put wall {self.place}",
            "vehicle": f"on vehicle {self.place}",
            "station": f"at station {self.place}",
            "asrs": f"stored in {self.place}",
            "door": f"at door {self.place}",
            "truck": f"loaded in truck {self.place}",
        }.get(self.kind, f"{self.kind} {self.place}")
        return f"{text}, {self.detail}" if self.detail else text

    def as_dict(self) -> dict[str, Any]:
        """For the API and the HMI."""
        return {
            "kind": self.kind,
            "place": self.place,
            "detail": self.detail,
            "since": self.since,
            "task_id": self.task_id,
            "note": self.note,
            "text": self.describe(),
        }


@dataclass(frozen=True, slots=True)
class MoveRecord:
    """One ``container_moves`` row (a journal record)."""

    container_id: str
    location: Location

    def write_to(self, conn: sqlite3.Connection, session: int, wall_offset: float) -> bool:
        """Insert the row (journal writer thread); never reported upstream."""
        loc = self.location
        conn.execute(
            "INSERT INTO container_moves(time, container_id, kind, place, detail, task_id, note)"
            " VALUES(?, ?, ?, ?, ?, ?, ?)",
            (loc.since, self.container_id, loc.kind, loc.place, loc.detail, loc.task_id, loc.note),
        )
        return False


@dataclass(frozen=True, slots=True)
class DockRecord:
    """A truck at its door (a journal record, so a restart knows it is still there)."""

    truck: str
    door: str
    time: float

    def write_to(self, conn: sqlite3.Connection, session: int, wall_offset: float) -> bool:
        """Insert or replace the truck's row (journal writer thread)."""
        conn.execute(
            "INSERT OR REPLACE INTO truck_docks(truck, door, time) VALUES(?, ?, ?)",
            (self.truck, self.door, self.time),
        )
        return False


def read_docked(path: Path) -> dict[str, str]:
    """truck -> door of every truck that docked (thread-side)."""
    with reading(path, "trucks docked") as conn:
        return dict(conn.execute("SELECT truck, door FROM truck_docks").fetchall())


class LocationBook:
    """The current location of every container the transport knows (see the module doc)."""

    def __init__(self, journal: Journal):
        self.journal = journal
        self.current: dict[str, Location] = {}
        self.moves = 0

    def move(self, container_id: str, location: Location) -> None:
        """The container is now at ``location``: remember it and journal the move."""
        if location.kind not in KINDS:
            raise ValueError(f"unknown location kind {location.kind!r}")
        now = self.current.get(container_id)
        if now is not None and (now.kind, now.place, now.detail) == (
            location.kind,
            location.place,
            location.detail,
        ):
            return
        self.current[container_id] = location
        self.moves += 1
        self.journal.append(MoveRecord(container_id, location))

    def where(self, container_id: str) -> Location | None:
        """The container's location, or None if the transport never had it."""
        return self.current.get(container_id)

    def restore(self, path: Path) -> None:
        """The last location of every container from the journal (thread-side)."""
        self.current.update(read_last_locations(path))


def read_last_locations(path: Path) -> dict[str, Location]:
    """container id -> its last journaled location (thread-side)."""
    with reading(path, "container locations") as conn:
        rows = conn.execute(
            "SELECT container_id, kind, place, time, detail, task_id, note FROM container_moves"
            " WHERE id IN (SELECT max(id) FROM container_moves GROUP BY container_id)"
        ).fetchall()
    return {r[0]: Location(r[1], r[2], r[3], r[4] or "", r[5], r[6] or "") for r in rows}


def read_history(path: Path, container_id: str) -> list[dict[str, Any]]:
    """Every location of one container, oldest first (thread-side)."""
    with reading(path, "container history") as conn:
        rows = conn.execute(
            "SELECT kind, place, time, detail, task_id, note FROM container_moves"
            " WHERE container_id = ? ORDER BY id",
            (container_id,),
        ).fetchall()
    return [Location(r[0], r[1], r[2], r[3] or "", r[4], r[5] or "").as_dict() for r in rows]

"""Chute containers (cage, bag, roll cart): what is in each, and their close-outs.

Every chute fills one container at a time, the reject chute too (its exception
cage goes to rework, and the record tells rework which parcels to expect). When
the floor closes a container out (full, or its route is done),
:meth:`ContainerBook.close` starts the chute's next container, resets the chute's
fill estimate (:class:`~controller.containers.fill.ChuteFill`) and journals a
:class:`ContainerClosed` record: one row of the ``containers`` table and, in the
same transaction, one ``container.closed`` outbox row for the TMS listing every
parcel in it (from the journal's ``parcels`` table).

Counting costs the parcel path nothing: a container's count is the chute's
session counter (:attr:`ParcelTracker.per_chute
<controller.parcels.state.ParcelTracker.per_chute>`) minus its value when the container
was opened, plus what earlier sessions put in it. :meth:`ContainerBook.restore`
reads that, once, at start-up: a chute's container was opened at its last
close-out, or at this session's start when it was never closed out (so a journal
older than close-outs never makes one giant first container).

``container.closed`` payload (one JSON object, like the parcel events)::

    {"event_id", "type": "container.closed", "time", "line", "container_id", "chute",
     "route": "A,B" | null, "routes": ["A", "B"], "opened", "closed", "parcel_count",
     "closed_by", "reason", "parcels": [{"parcel_id", "tracking_id", "barcode"}]}

The parcels are those whose terminal event (sorted or rejected) put them in the
chute at or after ``opened`` and before ``closed``.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from controller.auth.audit import Actor
from controller.containers.fill import ChuteFill
from controller.errors import CommandRefused
from controller.journal.schema import reading
from controller.parcels.decision import SortPlan
from controller.parcels.state import ParcelTracker
from controller.upstream import outbox
from controller.upstream.payload import encode, iso_utc

if TYPE_CHECKING:
    from controller.journal.writer import Journal

log = logging.getLogger(__name__)

#: The upstream event type of a close-out.
EVENT_TYPE = "container.closed"

SCHEMA = """
CREATE TABLE IF NOT EXISTS containers(
    id TEXT PRIMARY KEY, session INTEGER NOT NULL, chute INTEGER NOT NULL, route TEXT,
    opened REAL NOT NULL, closed REAL NOT NULL, parcels INTEGER NOT NULL,
    closed_by TEXT NOT NULL, reason TEXT);
CREATE INDEX IF NOT EXISTS containers_by_chute ON containers(chute, closed);
CREATE INDEX IF NOT EXISTS containers_by_closed ON containers(closed);
CREATE INDEX IF NOT EXISTS parcels_by_chute ON parcels(chute, updated);
"""

#: The parcels of a container; a terminal parcel's ``updated`` is its terminal time.
_PARCELS_IN = """
SELECT session, uid, tracking_id, barcode FROM parcels
WHERE chute = ? AND state IN ('sorted', 'rejected') AND updated >= ? AND updated < ?
ORDER BY updated, session, uid
"""

_COLUMNS = "id, session, chute, route, opened, closed, parcels, closed_by, reason"


@dataclass(frozen=True, slots=True)
class ContainerInfo:
    """A chute's container: the one filling now, or (with ``id``) one just closed out.

    ``opened`` and ``closed`` are controller (monotonic) clock times.
    """

    chute: int
    opened: float
    count: int
    routes: tuple[str, ...] = ()
    id: str | None = None
    closed: float | None = None
    closed_by: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ContainerClosed:
    """Journal record of a close-out: a ``containers`` row and its ``container.closed`` event.

    ``count`` is what the controller counted; the row and the event carry the parcels
    the journal holds for the container (the same, unless a journal write failed).
    """

    id: str
    chute: int
    routes: tuple[str, ...]
    opened: float
    closed: float
    count: int
    closed_by: str
    reason: str | None
    line: str
    report: bool
    """Put a ``container.closed`` event in the outbox (the type is enabled upstream)."""

    def write_to(self, conn: sqlite3.Connection, session: int, wall_offset: float) -> bool:
        """Insert the row and the outbox event (journal writer thread, its transaction)."""
        opened, closed = self.opened + wall_offset, self.closed + wall_offset
        parcels = conn.execute(_PARCELS_IN, (self.chute, opened, closed)).fetchall()
        if len(parcels) != self.count:
            log.warning(
                "container %s: %d parcels counted, %d in the journal (the journal's are reported)",
                self.id,
                self.count,
                len(parcels),
            )
        route = ",".join(self.routes) or None
        conn.execute("SAVEPOINT container")
        try:
            conn.execute(
                f"INSERT INTO containers({_COLUMNS}) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.id,
                    session,
                    self.chute,
                    route,
                    opened,
                    closed,
                    len(parcels),
                    self.closed_by,
                    self.reason,
                ),
            )
        except sqlite3.IntegrityError as err:  # never poison the writer's batch
            conn.execute("ROLLBACK TO container")
            conn.execute("RELEASE container")
            log.error("container %s not journaled: %s", self.id, err)
            return False
        conn.execute("RELEASE container")
        if not self.report:
            return False
        event_id = str(uuid.uuid4())
        payload = {
            "event_id": event_id,
            "type": EVENT_TYPE,
            "time": iso_utc(closed),
            "line": self.line,
            "container_id": self.id,
            "chute": self.chute,
            "route": route,
            "routes": list(self.routes),
            "opened": iso_utc(opened),
            "closed": iso_utc(closed),
            "parcel_count": len(parcels),
            "closed_by": self.closed_by,
            "reason": self.reason,
            "parcels": [
                {"parcel_id": f"{s}-{uid}", "tracking_id": tid, "barcode": barcode}
                for s, uid, tid, barcode in parcels
            ],
        }
        outbox.record_other(
            conn, event_id, EVENT_TYPE, f"container:{self.chute}", closed, encode(payload), session
        )
        return True


class ContainerBook:
    """The container filling in each chute, on the event loop (see the module docstring).

    Registers its table with ``journal`` (so build it before the journal opens).
    ``fill`` is the PLC link's fill estimate, reset at each close-out.
    """

    def __init__(
        self,
        journal: Journal,
        chutes: Iterable[int],
        tracker: ParcelTracker,
        fill: ChuteFill,
        plan: SortPlan,
    ):
        journal.add_schema(SCHEMA)
        self.journal = journal
        self.tracker = tracker
        self.fill = fill
        self.plan = plan
        self.chutes = tuple(sorted(set(chutes)))
        start = journal.clock()
        self._opened = dict.fromkeys(self.chutes, start)
        self._before = dict.fromkeys(self.chutes, 0)
        """Parcels earlier sessions put in the container (restored at start-up)."""
        self._mark = dict.fromkeys(self.chutes, 0)
        """``tracker.per_chute`` of the chute when its container was opened."""
        self._routes: dict[int, tuple[str, ...]] = {}
        self._routes_version: int | None = None

    def count(self, chute: int) -> int:
        """Parcels in ``chute``'s container now (0 for a chute without one)."""
        if chute not in self._opened:
            return 0
        landed = self.tracker.per_chute.get(chute, 0)
        return self._before[chute] + landed - self._mark[chute]

    def routes_of(self, chute: int) -> tuple[str, ...]:
        """The routes the active sort plan binds to ``chute`` (cached per plan version)."""
        if self._routes_version != self.plan.version:
            routes: dict[int, list[str]] = {}
            for route, chutes in self.plan.as_dict().items():
                for c in chutes:
                    routes.setdefault(c, []).append(route)
            self._routes = {c: tuple(r) for c, r in routes.items()}
            self._routes_version = self.plan.version
        return self._routes.get(chute, ())

    def infos(self) -> dict[int, ContainerInfo]:
        """Every chute's current container."""
        return {
            chute: ContainerInfo(chute, opened, self.count(chute), self.routes_of(chute))
            for chute, opened in self._opened.items()
        }

    def close(self, chute: int, actor: Actor, reason: str | None = None) -> ContainerInfo:
        """Close out ``chute``'s container and open the next; the closed one.

        Queues the :class:`ContainerClosed` record (never blocks); CommandRefused for a
        chute this line does not have.
        """
        if chute not in self._opened:
            raise CommandRefused(f"chute {chute} is not a chute of this line")
        now = self.journal.clock()
        stamp = datetime.fromtimestamp(now + self.journal.wall_offset, UTC)
        info = ContainerInfo(
            chute,
            self._opened[chute],
            self.count(chute),
            self.routes_of(chute),
            id=f"C-{chute}-{stamp:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}",
            closed=now,
            closed_by=actor.name,
            reason=reason,
        )
        assert info.id is not None
        self.journal.append(
            ContainerClosed(
                info.id,
                chute,
                info.routes,
                info.opened,
                now,
                info.count,
                actor.name,
                reason,
                self.journal.line_name,
                EVENT_TYPE in self.journal.upstream_events,
            )
        )
        self._opened[chute] = now
        self._before[chute] = 0
        self._mark[chute] = self.tracker.per_chute.get(chute, 0)
        self.fill.swapped(chute)
        return info

    async def restore(self) -> None:
        """Reopen each chute's container where the journal left it (after the journal
        opened, before any parcel lands): opened at the chute's last close-out, or at
        this session's start, holding the parcels that landed in it since."""
        found = await asyncio.to_thread(self._restore_query)
        offset = self.journal.wall_offset
        for chute, (opened, before) in found.items():
            self._opened[chute] = opened - offset
            self._before[chute] = before
            self._mark[chute] = self.tracker.per_chute.get(chute, 0)

    def _restore_query(self) -> dict[int, tuple[float, int]]:
        with reading(self.journal.path, "the containers") as conn:
            row = conn.execute(
                "SELECT started FROM sessions WHERE id = ?", (self.journal.session,)
            ).fetchone()
            started = row[0] if row else self.journal.clock() + self.journal.wall_offset
            last = {
                row[0]: row[1]
                for row in conn.execute("SELECT chute, max(closed) FROM containers GROUP BY chute")
            }
            found = {}
            for chute in self.chutes:
                opened = last.get(chute) or started
                (before,) = conn.execute(
                    "SELECT count(*) FROM parcels WHERE chute = ? AND updated >= ?"
                    " AND state IN ('sorted', 'rejected')",
                    (chute, opened),
                ).fetchone()
                found[chute] = (opened, before)
            return found

    async def history(
        self, chute: int | None = None, limit: int = 50, container_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Closed containers newest first (of ``chute``, or one by id); times in epoch s."""
        return await asyncio.to_thread(self._history, chute, limit, container_id)

    def _history(
        self, chute: int | None, limit: int, container_id: str | None
    ) -> list[dict[str, Any]]:
        where, args = ["1"], []
        for clause, value in (("chute = ?", chute), ("id = ?", container_id)):
            if value is not None:
                where.append(clause)
                args.append(value)
        with reading(self.journal.path, "the containers") as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM containers WHERE {' AND '.join(where)}"
                " ORDER BY closed DESC, rowid DESC LIMIT ?",
                (*args, max(1, min(limit, 10_000))),
            ).fetchall()
        return [dict(row) for row in rows]

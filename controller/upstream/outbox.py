"""The durable outbox: one row per upstream event, in the journal's SQLite database.

The journal writer calls :func:`record` inside the transaction that inserts the
parcel event, so the event and its outbox row commit together or not at all (the
transactional outbox pattern): a crash, a SIGKILL or a TMS outage loses nothing.
The deliverer (:mod:`controller.upstream.delivery`) reads and updates the rows on
its own connection. Every function here is synchronous and takes the connection:
the callers run them off the event loop.

A row is ``pending`` until the TMS answers 2xx (``delivered``) or its attempts
run out (``dead``, until replayed). ``lane_key`` (``"<session>:<uid>"``) names the
parcel; ``sequence`` numbers the parcel's events 1, 2, …; ``payload`` holds the
exact bytes (ASCII JSON) that are sent on every attempt. Events that are not a
parcel's (``container.closed``, :func:`record_other`) have no ``uid`` and a lane key
of their own (``"container:<chute>"``).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.errors import UpstreamError
from controller.parcels.state import ParcelEvent
from controller.upstream.payload import build_payload, encode, event_type

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT UNIQUE NOT NULL,
    type TEXT NOT NULL,
    session INTEGER,
    uid INTEGER,
    lane_key TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    barcode TEXT,
    created REAL NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    last_error TEXT,
    delivered REAL);
CREATE INDEX IF NOT EXISTS outbox_by_state ON outbox(state, id);
CREATE INDEX IF NOT EXISTS outbox_by_lane ON outbox(lane_key, sequence);
"""

#: Every state of an outbox row.
STATES = ("pending", "delivered", "dead")

_PARCEL_HISTORY = """
SELECT kind, detail FROM events
WHERE session = ? AND uid = ? AND kind IN ('measured', 'assigned') ORDER BY id DESC
"""

_INSERT = """
INSERT INTO outbox(event_id, type, session, uid, lane_key, sequence, barcode, created,
                   payload, state, attempts, next_attempt)
VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)
"""

_LIST_COLUMNS = (
    "id, event_id, type, session, uid, sequence, barcode, state, attempts, last_error,"
    " created, next_attempt, delivered"
)


@dataclass(slots=True)
class OutboxRow:
    """A pending event as a delivery lane holds it."""

    id: int
    event_id: str
    type: str
    payload: str
    attempts: int
    next_attempt: float
    lane: int = 0
    """The delivery lane (:func:`lane_of` its parcel)."""


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    """What the outbox holds, for the deliverer's stats and alarms."""

    pending: int
    dead: int
    oldest_pending_created: float | None
    last_dead: str | None
    """``"<type> <event_id>: <last error>"`` of the newest dead row."""


# -- writing (journal writer thread, inside its transaction) -------------------------------


class OutboxMemo:
    """What the journal writer already knows, so that an outbox row costs no query: the
    last sequence of each lane key and, for each parcel it saw inducted, the latest
    ``measured`` detail and decision explanation.

    Only the writer's connection writes the outbox and the events, so the memo stays
    true while its transactions commit; :meth:`forget` it after a rollback. A parcel it
    did not see from its induction (resumed after a restart) or forgot (it keeps the
    newest ``limit`` of each) is read from the database, as without a memo.
    """

    def __init__(self, limit: int = 20_000):
        self.limit = limit
        self.sequences: dict[str, int] = {}
        self.history: dict[tuple[int, int], tuple[dict[str, Any] | None, str | None]] = {}

    def forget(self) -> None:
        """Drop everything (the transaction that taught it was rolled back)."""
        self.sequences.clear()
        self.history.clear()

    def note(self, session: int, event: ParcelEvent) -> None:
        """Learn from a parcel event written in the current transaction."""
        key = (session, event.uid)
        if event.kind == "inducted":
            _put(self.history, key, (None, None), self.limit)
        elif event.kind in ("measured", "assigned") and key in self.history:
            measured, why = self.history[key]
            if event.kind == "measured":
                measured = event.detail or {}
            else:
                text = (event.detail or {}).get("why")
                why = str(text) if text else None
            self.history[key] = (measured, why)

    def last_sequence(self, conn: sqlite3.Connection, lane_key: str) -> int:
        """The lane key's last sequence (read from the database when not known)."""
        last = self.sequences.get(lane_key)
        if last is None:
            last = _last_sequence(conn, lane_key)
        return last

    def used(self, lane_key: str, sequence: int) -> None:
        """A row of ``lane_key`` was inserted with ``sequence``."""
        _put(self.sequences, lane_key, sequence, self.limit)


def _put(table: dict[Any, Any], key: Any, value: Any, limit: int) -> None:
    table.pop(key, None)
    table[key] = value  # newest last
    if len(table) > limit:
        del table[next(iter(table))]


def _last_sequence(conn: sqlite3.Connection, lane_key: str) -> int:
    (last,) = conn.execute(
        "SELECT coalesce(max(sequence), 0) FROM outbox WHERE lane_key = ?", (lane_key,)
    ).fetchone()
    return int(last)


def record(
    conn: sqlite3.Connection,
    session: int,
    event: ParcelEvent,
    wall_time: float,
    line_name: str,
    enabled_types: Collection[str],
    memo: OutboxMemo | None = None,
) -> bool:
    """Add the upstream event of ``event`` to the outbox; True when a row was inserted.

    Records that are not reported (other kinds, types not in ``enabled_types``) are
    skipped. Call it inside the transaction that inserted ``event`` (with the writer's
    ``memo``: every event, reported or not, so that it learns the parcels' history).
    """
    if memo is not None:
        memo.note(session, event)
    type_ = event_type(event)
    if type_ is None or type_ not in enabled_types:
        return False
    lane_key = f"{session}:{event.uid}"
    last = memo.last_sequence(conn, lane_key) if memo else _last_sequence(conn, lane_key)
    known = memo.history.get((session, event.uid)) if memo else None
    if event.kind == "measured":
        measured, assigned_why = event.detail, None
    elif known is not None:
        measured, assigned_why = known
    else:
        measured, assigned_why = _parcel_history(conn, session, event.uid)
    event_id = str(uuid.uuid4())
    payload = build_payload(
        event_id=event_id,
        type_=type_,
        wall_time=wall_time,
        line=line_name,
        session=session,
        sequence=last + 1,
        event=event,
        measured=measured,
        assigned_why=assigned_why,
    )
    conn.execute(
        _INSERT,
        (
            event_id,
            type_,
            session,
            event.uid,
            lane_key,
            last + 1,
            event.barcode,
            wall_time,
            encode(payload),
            0.0,  # due at once (a wall-clock step back must not hold it)
        ),
    )
    if memo is not None:
        memo.used(lane_key, last + 1)
    return True


def record_other(
    conn: sqlite3.Connection,
    event_id: str,
    type_: str,
    lane_key: str,
    wall_time: float,
    body: str,
    session: int | None = None,
) -> int:
    """Add an event that is not a parcel's (a container close-out, say); its sequence.

    ``lane_key`` orders it like a parcel's: rows of one key are numbered 1, 2, … and
    delivered in order (choose a key no parcel has, such as ``"container:<chute>"``);
    ``body`` is the encoded payload. The row has no ``uid`` and no ``barcode``. Call it
    inside the journal writer's transaction, after checking the type is enabled.
    """
    (last,) = conn.execute(
        "SELECT coalesce(max(sequence), 0) FROM outbox WHERE lane_key = ?", (lane_key,)
    ).fetchone()
    conn.execute(
        _INSERT,
        (event_id, type_, session, None, lane_key, last + 1, None, wall_time, body, 0.0),
    )
    return last + 1


def _parcel_history(
    conn: sqlite3.Connection, session: int, uid: int
) -> tuple[dict[str, Any] | None, str | None]:
    """The latest ``measured`` detail and the latest decision's ``why`` of a parcel."""
    measured: dict[str, Any] | None = None
    why: str | None = None
    seen: set[str] = set()
    for kind, text in conn.execute(_PARCEL_HISTORY, (session, uid)):
        if kind in seen:
            continue
        seen.add(kind)
        detail = _loads(text)
        if kind == "measured":
            measured = detail
        elif detail.get("why"):
            why = str(detail["why"])
        if len(seen) == 2:
            break
    return measured, why


def _loads(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# -- reading and updating (the deliverer's connection) --------------------------------------


def lane_of(lane_key: str, lanes: int) -> int:
    """The delivery lane of a parcel: a hash of ``lane_key`` that is stable across restarts."""
    return zlib.crc32(lane_key.encode()) % lanes


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection to the journal database for the deliverer (creates the outbox if needed)."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(SCHEMA)
        conn.create_function("lane_of", 2, lane_of, deterministic=True)
    except BaseException:
        conn.close()
        raise
    return conn


def fetch_pending(
    conn: sqlite3.Connection, lanes: int, after_id: int, limit: int
) -> tuple[list[OutboxRow], int]:
    """Up to ``limit`` pending rows with an id above ``after_id``, in id order, each with
    its lane (of ``lanes``), and the id up to which there is no other pending row.

    The second value lets the feeder skip, next time, the rows it has already looked
    at: it is the highest id in the table when fewer than ``limit`` rows came back (rows
    committed later get higher ids: SQLite has one writer at a time), else the last
    row's id.
    """
    conn.execute("BEGIN")  # one snapshot for both statements
    try:
        (top,) = conn.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()
        rows = conn.execute(
            "SELECT id, event_id, type, payload, attempts, next_attempt, lane_of(lane_key, ?)"
            " FROM outbox WHERE state = 'pending' AND id > ? AND id <= ? ORDER BY id LIMIT ?",
            (lanes, after_id, top, limit),
        ).fetchall()
    finally:
        conn.execute("COMMIT")
    found = [OutboxRow(*row) for row in rows]
    return found, found[-1].id if len(found) == limit else max(top, after_id)


def mark_delivered_many(conn: sqlite3.Connection, rows: list[tuple[int, float]]) -> None:
    """The TMS accepted each ``(row_id, when)`` of ``rows``: one transaction for all."""
    conn.execute("BEGIN")
    try:
        conn.executemany(
            "UPDATE outbox SET state = 'delivered', delivered = ?, attempts = attempts + 1,"
            " last_error = NULL WHERE id = ?",
            [(when, row_id) for row_id, when in rows],
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def mark_failed(
    conn: sqlite3.Connection, row_id: int, attempts: int, error: str, next_attempt: float
) -> None:
    """An attempt at a pending row failed; retry it at ``next_attempt`` (wall clock)."""
    conn.execute(
        "UPDATE outbox SET attempts = ?, last_error = ?, next_attempt = ?"
        " WHERE id = ? AND state = 'pending'",
        (attempts, error, next_attempt, row_id),
    )


def mark_dead(conn: sqlite3.Connection, row_id: int, attempts: int, error: str) -> None:
    """A pending row ran out of attempts: dead-letter it (until replayed)."""
    conn.execute(
        "UPDATE outbox SET state = 'dead', attempts = ?, last_error = ?"
        " WHERE id = ? AND state = 'pending'",
        (attempts, error, row_id),
    )


def counts(conn: sqlite3.Connection) -> OutboxCounts:
    """Pending and dead counts, the oldest pending row's time and the newest dead row."""
    (pending,) = conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()
    (dead,) = conn.execute("SELECT count(*) FROM outbox WHERE state = 'dead'").fetchone()
    oldest = conn.execute(
        "SELECT created FROM outbox WHERE state = 'pending' ORDER BY id LIMIT 1"
    ).fetchone()
    last_dead = conn.execute(
        "SELECT type, event_id, last_error FROM outbox WHERE state = 'dead' ORDER BY id DESC"
        " LIMIT 1"
    ).fetchone()
    return OutboxCounts(
        pending=pending,
        dead=dead,
        oldest_pending_created=oldest[0] if oldest else None,
        last_dead=f"{last_dead[0]} {last_dead[1]}: {last_dead[2]}" if last_dead else None,
    )


def purge(conn: sqlite3.Connection, before: float, chunk: int = 1000) -> int:
    """Delete up to ``chunk`` rows delivered before ``before`` (wall clock); how many."""
    cur = conn.execute(
        "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox"
        " WHERE state = 'delivered' AND delivered < ? ORDER BY id LIMIT ?)",
        (before, chunk),
    )
    return cur.rowcount


def replay(
    conn: sqlite3.Connection, event_ids: Sequence[str] | None, state: str, now: float
) -> int:
    """Set rows back to pending (attempts 0, due ``now``); how many.

    With ``event_ids``: exactly those events, whatever their state (UpstreamError naming
    the unknown ones, and nothing changes); without: every row in ``state``.
    """
    if state not in STATES:
        raise UpstreamError(f"unknown outbox state {state!r}; known: {list(STATES)}")
    reset = "SET state = 'pending', attempts = 0, next_attempt = ?, last_error = NULL"
    conn.execute("BEGIN IMMEDIATE")
    try:
        if event_ids is None:
            changed = conn.execute(f"UPDATE outbox {reset} WHERE state = ?", (now, state)).rowcount
        else:
            ids = list(dict.fromkeys(event_ids))
            known: set[str] = set()
            for part in _chunks(ids, 500):
                marks = ",".join("?" * len(part))
                known.update(
                    r[0]
                    for r in conn.execute(
                        f"SELECT event_id FROM outbox WHERE event_id IN ({marks})", part
                    )
                )
            unknown = [i for i in ids if i not in known]
            if unknown:
                shown = ", ".join(unknown[:20]) + (" …" if len(unknown) > 20 else "")
                raise UpstreamError(f"{len(unknown)} unknown upstream event id(s): {shown}")
            changed = 0
            for part in _chunks(ids, 500):
                marks = ",".join("?" * len(part))
                changed += conn.execute(
                    f"UPDATE outbox {reset} WHERE event_id IN ({marks})", (now, *part)
                ).rowcount
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return changed


def list_events(
    conn: sqlite3.Connection, state: str | None, limit: int, after_id: int
) -> list[dict[str, Any]]:
    """Rows (in ``state``, or all) with an id above ``after_id``, oldest first, as dicts."""
    if state is not None and state not in STATES:
        raise UpstreamError(f"unknown outbox state {state!r}; known: {list(STATES)}")
    where, args = "id > ?", [after_id]
    if state is not None:
        where, args = "state = ? AND id > ?", [state, after_id]
    rows = conn.execute(
        f"SELECT {_LIST_COLUMNS} FROM outbox WHERE {where} ORDER BY id LIMIT ?", (*args, limit)
    ).fetchall()
    result = []
    for row in rows:
        (id_, event_id, type_, session, uid, sequence, barcode, state_, attempts) = row[:9]
        (last_error, created, next_attempt, delivered) = row[9:]
        result.append(
            {
                "id": id_,
                "event_id": event_id,
                "type": type_,
                "parcel_id": f"{session}-{uid}" if uid is not None else None,
                "sequence": sequence,
                "barcode": barcode,
                "state": state_,
                "attempts": attempts,
                "last_error": last_error,
                "created": created,
                "next_attempt": next_attempt if state_ == "pending" else None,
                "delivered": delivered,
            }
        )
    return result


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]

"""Read-only questions about parcels, answered from the journal (for the REST API).

Synchronous: each call opens its own read-only connection (WAL readers never
wait for the writer thread) and is meant to run in a thread. A parcel is one
pass over the line, identified by ``<session>-<uid>``; the same barcode may
have several (recirculated, or inducted again on a later day).
"""

from __future__ import annotations

import base64
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.errors import JournalError

_PARCEL_COLUMNS = (
    "session, uid, tracking_id, barcode, route, state, chute, reason, inducted, updated,"
    " answer_ms, weight_kg, length_mm, width_mm, height_mm, volumetric_kg"
)


@dataclass(frozen=True, slots=True)
class ParcelPage:
    """One page of a parcel search and the cursor of the next (None at the end)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


def _number(text: str | None) -> float | None:
    return float(text) if text not in (None, "") else None


def _parcel(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "parcel_id": f"{row['session']}-{row['uid']}",
        "tracking_id": row["tracking_id"],
        "barcode": row["barcode"],
        "state": row["state"],
        "route": row["route"],
        "chute": row["chute"],
        "reason": row["reason"],
        "inducted": row["inducted"],
        "updated": row["updated"],
        "answer_ms": row["answer_ms"],
        "weight_kg": _number(row["weight_kg"]),
        "length_mm": _number(row["length_mm"]),
        "width_mm": _number(row["width_mm"]),
        "height_mm": _number(row["height_mm"]),
        "volumetric_weight_kg": _number(row["volumetric_kg"]),
    }


def encode_cursor(inducted: float, session: int, uid: int) -> str:
    """An opaque cursor after the parcel (inducted, session, uid)."""
    raw = json.dumps([inducted, session, uid]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, int, int]:
    """The position a cursor stands for; ValueError when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        inducted, session, uid = json.loads(raw)
        return float(inducted), int(session), int(uid)
    except (ValueError, TypeError) as err:
        raise ValueError("not a cursor returned by this API") from err


class ParcelQueries:
    """Parcel lookups and searches over one journal file."""

    def __init__(self, journal_path: str | Path):
        self.path = Path(journal_path)

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        except sqlite3.Error as err:
            raise JournalError(f"{self.path}: cannot read the journal: {err}") from err
        conn.row_factory = sqlite3.Row
        return conn

    def by_barcode(self, barcode: str) -> dict[str, Any] | None:
        """The latest pass of ``barcode`` with measurements and every event, or None.

        Also ``images`` (camera images kept: device, path relative to the images folder,
        time) and ``upstream`` (its webhook events in the outbox: state, attempts, last
        error …; delivered rows are purged after ``upstream.keep_delivered_days``).
        """
        conn = self._connect()
        try:
            rows = conn.execute(
                f"SELECT {_PARCEL_COLUMNS} FROM parcels WHERE barcode = ?"
                " ORDER BY inducted DESC, session DESC, uid DESC",
                (barcode,),
            ).fetchall()
            if not rows:
                return None
            latest = rows[0]
            parcel = _parcel(latest)
            parcel["events"] = self._events(conn, latest["session"], latest["uid"])
            parcel["measurements"] = _measurements(parcel["events"])
            parcel["images"] = _images(conn, latest["session"], latest["uid"])
            parcel["upstream"] = _upstream(conn, latest["session"], latest["uid"])
            parcel["handling"] = _handling(conn, barcode)
            parcel["other_passes"] = [_parcel(r) for r in rows[1:20]]
            return parcel
        finally:
            conn.close()

    def images_of(self, barcode: str) -> list[dict[str, Any]] | None:
        """The images of the latest pass of ``barcode`` (None when it was never seen)."""
        conn = self._connect()
        try:
            latest = conn.execute(
                "SELECT session, uid FROM parcels WHERE barcode = ?"
                " ORDER BY inducted DESC, session DESC, uid DESC LIMIT 1",
                (barcode,),
            ).fetchone()
            return None if latest is None else _images(conn, latest["session"], latest["uid"])
        finally:
            conn.close()

    @staticmethod
    def _events(conn: sqlite3.Connection, session: int, uid: int) -> list[dict[str, Any]]:
        events = conn.execute(
            "SELECT time, kind, state, barcode, route, chute, reason, detail FROM events"
            " WHERE session = ? AND uid = ? ORDER BY id",
            (session, uid),
        ).fetchall()
        return [
            {
                "time": e["time"],
                "kind": e["kind"],
                "state": e["state"],
                "barcode": e["barcode"],
                "route": e["route"],
                "chute": e["chute"],
                "reason": e["reason"],
                "detail": json.loads(e["detail"]) if e["detail"] else {},
            }
            for e in events
        ]

    def search(
        self,
        since: float | None,
        until: float | None,
        state: str | None,
        limit: int,
        cursor: str | None = None,
    ) -> ParcelPage:
        """Parcels inducted in [since, until), oldest first, optionally in one state."""
        where, args = ["1 = 1"], []
        if since is not None:
            where.append("inducted >= ?")
            args.append(since)
        if until is not None:
            where.append("inducted < ?")
            args.append(until)
        if state is not None:
            where.append("state = ?")
            args.append(state)
        if cursor is not None:
            inducted, session, uid = decode_cursor(cursor)
            where.append("(inducted, session, uid) > (?, ?, ?)")
            args.extend((inducted, session, uid))
        conn = self._connect()
        try:
            rows = conn.execute(
                f"SELECT {_PARCEL_COLUMNS} FROM parcels WHERE {' AND '.join(where)}"
                " ORDER BY inducted, session, uid LIMIT ?",
                (*args, limit + 1),
            ).fetchall()
        finally:
            conn.close()
        items = [_parcel(r) for r in rows[:limit]]
        more = len(rows) > limit
        last = rows[limit - 1] if more else None
        return ParcelPage(
            items,
            encode_cursor(last["inducted"], last["session"], last["uid"]) if last else None,
        )


def _images(conn: sqlite3.Connection, session: int, uid: int) -> list[dict[str, Any]]:
    """The parcel's camera images, oldest first ([] on a journal without an images table)."""
    try:
        rows = conn.execute(
            "SELECT device, path, time FROM images WHERE session = ? AND uid = ? ORDER BY id",
            (session, uid),
        ).fetchall()
    except sqlite3.OperationalError as err:
        if "no such table" in str(err):
            return []
        raise JournalError(f"cannot read the parcel's images: {err}") from err
    return [{"device": r["device"], "path": r["path"], "time": r["time"]} for r in rows]


def _handling(conn: sqlite3.Connection, barcode: str) -> dict[str, Any] | None:
    """After the sort: ``put`` -> ``loaded`` (or ``short``/``exception``), where and when
    (the put wall's ``handling`` row; None before it is put, or on a line without walls)."""
    try:
        row = conn.execute(
            "SELECT state, wall, cubby, container_id, truck, route, stop, reason, put_at,"
            " loaded_at, updated FROM handling WHERE parcel_id = ?",
            (barcode,),
        ).fetchone()
    except sqlite3.OperationalError:  # a journal from before put walls
        return None
    return None if row is None else dict(row)


def _upstream(conn: sqlite3.Connection, session: int, uid: int) -> list[dict[str, Any]]:
    """The parcel's upstream (webhook) events in sequence order, with their delivery state.

    ``next_attempt`` is set for a pending event only (a row due at once shows its creation
    time); ``delivered`` for a delivered one.
    """
    rows = conn.execute(
        "SELECT event_id, type, sequence, state, attempts, last_error, created, next_attempt,"
        " delivered FROM outbox WHERE lane_key = ? ORDER BY sequence",
        (f"{session}:{uid}",),
    ).fetchall()
    return [
        {
            "event_id": r["event_id"],
            "type": r["type"],
            "sequence": r["sequence"],
            "state": r["state"],
            "attempts": r["attempts"],
            "last_error": r["last_error"],
            "created": r["created"],
            "next_attempt": max(r["next_attempt"], r["created"])
            if r["state"] == "pending"
            else None,
            "delivered": r["delivered"],
        }
        for r in rows
    ]


def _measurements(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The last measured event's detail: weight and dimensions with the raw device text."""
    for event in reversed(events):
        if event["kind"] == "measured":
            return event["detail"]
    return None

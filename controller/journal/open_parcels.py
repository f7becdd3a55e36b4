"""The parcel records an earlier run of the controller left open, read back from the journal.

A controller that is killed (power cut, ``kill -9``, a crash) leaves the parcels then on
the belt with a record but no terminal state. At the next start
:func:`read_open_records` returns them, with what their ``identified``, ``measured``
and ``assigned`` events said, for :func:`controller.parcels.resume.resume_open`; and
:func:`read_recent_finished` the parcels closed shortly before, whose confirmations the
PLC delivers again when the crash came before it was acknowledged. Synchronous: run
them in a thread.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from controller.journal.schema import reading
from controller.parcels.resume import OpenRecord
from controller.parcels.state import ParcelState

OPEN_STATES = ("inducted", "identified", "assigned")

# The partial index ``parcels_open`` (journal schema) answers this without a scan.
_OPEN = """
SELECT session, uid, tracking_id, state, updated, barcode, route, chute, reason
FROM parcels WHERE state IN ('inducted', 'identified', 'assigned') AND session < ?
"""
# Recently inducted is recently finished, and parcels_by_time answers it.
_FINISHED = """
SELECT session, uid, tracking_id, state, inducted AS updated, barcode, route, chute, reason
FROM parcels WHERE inducted >= ? AND session < ? AND state IN ('sorted', 'rejected', 'lost')
ORDER BY inducted DESC LIMIT ?
"""
_EVENTS = """
SELECT kind, detail FROM events
WHERE session = ? AND uid = ? AND kind IN ('identified', 'measured', 'assigned') ORDER BY id
"""


def _detail(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


def _record(row: sqlite3.Row, **details: Any) -> OpenRecord:
    return OpenRecord(
        session=row["session"],
        uid=row["uid"],
        tracking_id=row["tracking_id"],
        state=ParcelState(row["state"]),
        updated=row["updated"],
        barcode=row["barcode"],
        route=row["route"],
        chute=row["chute"],
        reason=row["reason"],
        **details,
    )


def read_recent_finished(
    path: str | Path, before_session: int, since: float, limit: int
) -> list[OpenRecord]:
    """At most ``limit`` records of earlier sessions closed since ``since`` (epoch s), the
    newest first (``updated`` is their induction time)."""
    if not Path(path).exists():
        return []
    with reading(path, "the parcels finished recently") as conn:
        rows = conn.execute(_FINISHED, (since, before_session, limit)).fetchall()
    return [_record(row) for row in rows]


def read_open_records(path: str | Path, before_session: int) -> list[OpenRecord]:
    """Every record of a session before ``before_session`` without a terminal state."""
    if not Path(path).exists():
        return []
    records = []
    with reading(path, "the parcels left open") as conn:
        for row in conn.execute(_OPEN, (before_session,)).fetchall():
            details: dict[str, dict[str, Any]] = {}
            for kind, text in conn.execute(_EVENTS, (row["session"], row["uid"])):
                details[kind] = _detail(text)  # the latest of each kind wins
            records.append(
                _record(
                    row,
                    identified=details.get("identified"),
                    measured=details.get("measured"),
                    why=str(details.get("assigned", {}).get("why", "")),
                )
            )
    return records

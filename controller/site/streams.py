"""The journal's streams as the site relay reads and writes them (no I/O of its own).

Each :class:`Stream` names a table of the line's SQLite journal, the query that reads
its rows after a position (the row id: rows only ever get higher ids, and SQLite has
one writer, so a reader never sees a row while a lower one is still uncommitted), and
the PostgreSQL ``INSERT … ON CONFLICT DO NOTHING`` of :mod:`controller.site.schema`
that takes them. :func:`fold_parcels` derives the ``parcels`` rows from a batch of
events. Rows are plain tuples, converted by :meth:`Stream.convert`.

Put-wall containers change in place in the journal (``wall_containers.state`` closed →
ok/held → released → loaded, with the loaded time, position and door), so their stream
only ever carries a container's first version. The append-only ``wall_events`` stream
says when one changed (:data:`CONTAINER_CHANGES`): for each container a batch of wall
events names, the relay reads the container's current row from the same journal snapshot
(:func:`wall_state_select`) and rewrites the site's row with it (:data:`UPSERT_WALL_STATE`;
``detail.wall_sequence`` is the wall event that caused it, and a row only moves forward).

``parcel_events.relayed`` is PostgreSQL's ``clock_timestamp()`` at the insert, inside
the batch's transaction (a few microseconds before its commit).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Stream:
    """One relayed journal stream (see the module docstring)."""

    name: str
    """The stream's name in ``relay_positions``."""
    table: str
    """The journal's table."""
    select: str
    """SQLite: the rows after ``?`` (a row id), in order, at most ``?``; row id first."""
    insert: str
    """PostgreSQL: insert one converted row, ``ON CONFLICT DO NOTHING``."""
    convert: Callable[[str, Row], Row]
    """``(line, journal row) -> PostgreSQL row``."""
    time_column: int
    """The index in the journal row of its wall-clock time (epoch s)."""


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return {"text": text}


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _event(line: str, r: Row) -> Row:
    (id_, session, time_, uid, tracking_id, kind, state, barcode, route, chute, reason) = r[:11]
    return (
        line, id_, session, uid, tracking_id, time_, kind, state, barcode, route, chute,
        reason, r[11],
    )  # fmt: skip


def _container(line: str, r: Row) -> Row:
    rowid, cid, session, chute, route, opened, closed, parcels, closed_by, reason = r
    detail = {"session": session, "opened": opened, "closed_by": closed_by}
    return (line, "containers", rowid, cid, "chute", chute, route, None, closed, parcels,
            reason, _dumps(detail))  # fmt: skip


_WALL_COLUMNS = (
    "rowid, id, wall, cubby, truck, route, stops, parcels, closed, reason, state,"
    " expected_kg, measured_kg, weigh_reason, position, loaded, door"
)


def _wall_container(line: str, r: Row, wall_sequence: int | None = None) -> Row:
    """A ``wall_containers`` row (:data:`_WALL_COLUMNS`) as a site ``containers`` row;
    ``wall_sequence``: the wall event whose change it carries (a state update)."""
    (rowid, cid, wall, cubby, truck, route, stops, parcels, closed, reason) = r[:10]
    (state, expected_kg, measured_kg, weigh_reason, position, loaded, door) = r[10:]
    parcel_ids = _json(parcels)
    count = len(parcel_ids) if isinstance(parcel_ids, list) else 0
    detail = {
        "wall": wall, "cubby": cubby, "stops": _json(stops), "parcel_ids": parcel_ids,
        "state": state, "expected_kg": expected_kg, "measured_kg": measured_kg,
        "weigh_reason": weigh_reason, "position": position, "loaded": loaded, "door": door,
    }  # fmt: skip
    if wall_sequence is not None:
        detail["wall_sequence"] = wall_sequence
    return (line, "wall_containers", rowid, cid, "wall", None, route, truck, closed, count,
            reason, _dumps(detail))  # fmt: skip


def _with_line(line: str, r: Row) -> Row:
    return (line, *r)


_CONTAINERS_INSERT = """
INSERT INTO containers(line, stream, sequence, container_id, kind, chute, route, truck, closed,
                       parcels, reason, detail)
VALUES(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb) ON CONFLICT DO NOTHING
"""

STREAM_DEFS: tuple[Stream, ...] = (
    Stream(
        "events",
        "events",
        "SELECT id, session, time, uid, tracking_id, kind, state, barcode, route, chute, reason,"
        " detail FROM events WHERE id > ? ORDER BY id LIMIT ?",
        "INSERT INTO parcel_events(line, sequence, session, uid, tracking_id, time, kind, state,"
        " barcode, route, chute, reason, detail, relayed)"
        " VALUES(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb,"
        " extract(epoch FROM clock_timestamp())::double precision)"
        " ON CONFLICT DO NOTHING",
        _event,
        2,
    ),
    Stream(
        "containers",
        "containers",
        "SELECT rowid, id, session, chute, route, opened, closed, parcels, closed_by, reason"
        " FROM containers WHERE rowid > ? ORDER BY rowid LIMIT ?",
        _CONTAINERS_INSERT,
        _container,
        6,
    ),
    Stream(
        "wall_containers",
        "wall_containers",
        f"SELECT {_WALL_COLUMNS} FROM wall_containers WHERE rowid > ? ORDER BY rowid LIMIT ?",
        _CONTAINERS_INSERT,
        _wall_container,
        8,
    ),
    Stream(
        "container_moves",
        "container_moves",
        "SELECT id, time, container_id, kind, place, detail FROM container_moves"
        " WHERE id > ? ORDER BY id LIMIT ?",
        "INSERT INTO container_moves(line, sequence, time, container_id, kind, place, detail)"
        " VALUES(%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        _with_line,
        1,
    ),
    Stream(
        "trucks",
        "trucks_loaded",
        "SELECT rowid, truck, time, summary FROM trucks_loaded WHERE rowid > ?"
        " ORDER BY rowid LIMIT ?",
        "INSERT INTO trucks(line, sequence, truck, time, summary)"
        " VALUES(%s, %s, %s, %s, %s::jsonb) ON CONFLICT DO NOTHING",
        _with_line,
        2,
    ),
    Stream(
        "wall_events",
        "wall_events",
        "SELECT id, time, wall, kind, parcel_id, cubby, container_id, reason, grp, actor"
        " FROM wall_events WHERE id > ? ORDER BY id LIMIT ?",
        "INSERT INTO wall_events(line, sequence, time, wall, kind, parcel_id, cubby,"
        " container_id, reason, grp, actor)"
        " VALUES(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        _with_line,
        1,
    ),
)

#: Wall event kinds that change their container's ``wall_containers`` row
#: (controller/putwall/closeout.py, controller/loading/service.py: the rows with
#: ``container=`` or ``container_state=``).
CONTAINER_CHANGES = frozenset(
    {"container_closed", "weighed_ok", "weight_mismatch", "released", "container_loaded"}
)

UPSERT_WALL_STATE = """
INSERT INTO containers AS c(line, stream, sequence, container_id, kind, chute, route, truck,
                            closed, parcels, reason, detail)
VALUES(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)
ON CONFLICT(line, stream, sequence) DO UPDATE SET
    truck = excluded.truck, reason = excluded.reason, parcels = excluded.parcels,
    detail = excluded.detail
WHERE coalesce((c.detail->>'wall_sequence')::bigint, 0)
      <= (excluded.detail->>'wall_sequence')::bigint
"""


def changed_containers(wall_events: Sequence[Row]) -> dict[str, int]:
    """Container id → the last wall event (id) of the batch that changed it."""
    changed: dict[str, int] = {}
    for r in wall_events:
        if r[3] in CONTAINER_CHANGES and r[6]:
            changed[r[6]] = int(r[0])
    return changed


def wall_state_select(count: int) -> str:
    """SQLite: the current ``wall_containers`` rows of ``count`` container ids."""
    return f"SELECT {_WALL_COLUMNS} FROM wall_containers WHERE id IN ({', '.join('?' * count)})"


def wall_states(line: str, rows: Sequence[Row], changed: dict[str, int]) -> list[Row]:
    """The :data:`UPSERT_WALL_STATE` rows of the current journal rows of changed containers."""
    return [_wall_container(line, r, changed[r[1]]) for r in rows if r[1] in changed]


UPSERT_PARCEL = """
INSERT INTO parcels AS p(line, session, uid, tracking_id, barcode, route, state, chute, reason,
                         inducted, updated, weight_kg, length_mm, width_mm, height_mm,
                         last_sequence)
VALUES(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT(line, session, uid) DO UPDATE SET
    tracking_id = excluded.tracking_id,
    barcode = coalesce(excluded.barcode, p.barcode), route = coalesce(excluded.route, p.route),
    state = excluded.state, chute = coalesce(excluded.chute, p.chute),
    reason = coalesce(excluded.reason, p.reason), inducted = least(p.inducted, excluded.inducted),
    updated = excluded.updated, weight_kg = coalesce(excluded.weight_kg, p.weight_kg),
    length_mm = coalesce(excluded.length_mm, p.length_mm),
    width_mm = coalesce(excluded.width_mm, p.width_mm),
    height_mm = coalesce(excluded.height_mm, p.height_mm),
    last_sequence = excluded.last_sequence
WHERE p.last_sequence < excluded.last_sequence
"""

_MEASURES = ("weight_kg", "length_mm", "width_mm", "height_mm")


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _measured(detail_text: str | None) -> dict[str, float | None]:
    detail = _json(detail_text)
    if not isinstance(detail, dict):
        return {}
    weight = detail.get("weight") or {}
    dims = detail.get("dimensions") or {}
    found = {
        "weight_kg": _number(weight.get("kg")) if isinstance(weight, dict) else None,
        "length_mm": _number(dims.get("length_mm")) if isinstance(dims, dict) else None,
        "width_mm": _number(dims.get("width_mm")) if isinstance(dims, dict) else None,
        "height_mm": _number(dims.get("height_mm")) if isinstance(dims, dict) else None,
    }
    return {k: v for k, v in found.items() if v is not None}


def fold_parcels(line: str, events: Sequence[Row]) -> list[Row]:
    """The ``parcels`` upserts (:data:`UPSERT_PARCEL`) of a batch of journal event rows.

    Each parcel's events in the batch fold in order into one row, as the journal's own
    ``parcels`` table does: the latest state and time, the first non-null barcode, route,
    chute and reason kept unless a later event names another, the ``measured`` event's
    weight and dimensions, and the last event's id as ``last_sequence`` (the upsert moves
    a parcel only forward).
    """
    folded: dict[tuple[int, int], dict[str, Any]] = {}
    for r in events:
        (id_, session, time_, uid, tracking_id, kind, state, barcode, route, chute, reason) = r[:11]
        p = folded.get((session, uid))
        if p is None:
            p = folded[(session, uid)] = {"inducted": time_, **dict.fromkeys(_MEASURES)}
        p["tracking_id"] = tracking_id
        for key, value in (("barcode", barcode), ("route", route), ("chute", chute)):
            if value is not None or key not in p:
                p[key] = value if value is not None else p.get(key)
        if reason is not None or "reason" not in p:
            p["reason"] = reason if reason is not None else p.get("reason")
        p["state"] = state
        p["updated"] = time_
        p["last_sequence"] = id_
        if kind == "measured":
            p.update(_measured(r[11]))
    keys = ("tracking_id", "barcode", "route", "state", "chute", "reason", "inducted",
            "updated", *_MEASURES, "last_sequence")  # fmt: skip
    return [(line, session, uid, *(p[k] for k in keys)) for (session, uid), p in folded.items()]

"""The site relay's side of PostgreSQL: connecting (schema, this line's positions) and
writing one batch in one transaction.

The batch's rows (``ON CONFLICT DO NOTHING``, in pipelined ``executemany`` batches), the
``parcels`` folded from its events, the wall containers its wall events changed, the line
in ``site_lines`` and the new positions all commit together, so the positions are never
ahead of the rows. Runs in the relay's thread only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from controller.site.schema import ensure_schema
from controller.site.streams import STREAM_DEFS, UPSERT_PARCEL, UPSERT_WALL_STATE, Row, fold_parcels

_STREAMS = {s.name: s for s in STREAM_DEFS}

_UPSERT_LINE = (
    "INSERT INTO site_lines(line, site, hmi_url, api_url, first_seen, last_seen)"
    " VALUES(%s, %s, %s, %s, %s, %s) ON CONFLICT(line) DO UPDATE SET"
    " site = excluded.site, hmi_url = coalesce(excluded.hmi_url, site_lines.hmi_url),"
    " api_url = coalesce(excluded.api_url, site_lines.api_url),"
    " last_seen = excluded.last_seen"
)
_UPSERT_POSITION = (
    "INSERT INTO relay_positions(line, stream, position, rows, updated)"
    " VALUES(%s, %s, %s, %s, %s) ON CONFLICT(line, stream) DO UPDATE SET"
    " position = excluded.position,"
    " rows = relay_positions.rows + excluded.rows, updated = excluded.updated"
)


@dataclass(frozen=True)
class LineIdentity:
    """What ``site_lines`` says about the line."""

    line: str
    site: str
    hmi_url: str | None = None
    api_url: str | None = None


def connect(
    conninfo: str, password: str | None, line: str, connect_timeout_s: float
) -> tuple[psycopg.Connection[Any], dict[str, int]]:
    """Connect (autocommit, TCP keepalives), create the schema if missing, and read this
    line's positions (every stream, 0 where the site holds none)."""
    conn = psycopg.connect(
        conninfo,
        password=password,
        autocommit=True,
        connect_timeout=max(1, round(connect_timeout_s)),
        application_name=f"lanesort-relay-{line}"[:63],
        keepalives=1,
        keepalives_idle=5,
        keepalives_interval=2,
        keepalives_count=3,
        tcp_user_timeout=int(connect_timeout_s * 2000),
    )
    try:
        ensure_schema(conn)
        rows = conn.execute(
            "SELECT stream, position FROM relay_positions WHERE line = %s", (line,)
        ).fetchall()
    except BaseException:
        conn.close()
        raise
    return conn, {s.name: 0 for s in STREAM_DEFS} | {s: int(p) for s, p in rows}


def write_batch(
    conn: psycopg.Connection[Any],
    identity: LineIdentity,
    moved: Mapping[str, list[Row]],
    wall_states: list[Row],
    positions: Mapping[str, int],
    now: float,
    before_commit: Callable[[psycopg.Connection[Any]], None],
) -> dict[str, int]:
    """One transaction: the rows, the parcels, the wall containers' states, the line and
    the positions; returns the positions after it. ``before_commit`` is called inside
    the transaction just before the commit."""
    line = identity.line
    after = dict(positions)
    with conn.transaction(), conn.cursor() as cur:
        for name, rows in moved.items():
            stream = _STREAMS[name]
            cur.executemany(stream.insert, [stream.convert(line, r) for r in rows])
            if name == "events":
                cur.executemany(UPSERT_PARCEL, fold_parcels(line, rows))
            after[name] = int(rows[-1][0])
        if wall_states:
            cur.executemany(UPSERT_WALL_STATE, wall_states)
        cur.execute(
            _UPSERT_LINE, (line, identity.site, identity.hmi_url, identity.api_url, now, now)
        )
        if moved:
            cur.executemany(
                _UPSERT_POSITION,
                [(line, name, after[name], len(rows), now) for name, rows in moved.items()],
            )
        before_commit(conn)
    return after

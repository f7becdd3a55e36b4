"""The counts the site store keeps beside ``parcels`` (a trigger, on a real PostgreSQL)."""

from __future__ import annotations

import psycopg

from controller.site.schema import SCHEMA
from tests.controller.site.helpers import site_rows

_UPSERT = (
    "INSERT INTO parcels AS p(line, session, uid, tracking_id, state, inducted, updated,"
    " last_sequence) VALUES(%s, 1, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT(line, session, uid) DO UPDATE SET state = excluded.state,"
    " updated = excluded.updated, last_sequence = excluded.last_sequence"
    " WHERE p.last_sequence < excluded.last_sequence"
)
T = 1_800_000_000.0  # a minute boundary (30,000,000 minutes)


def _states(conninfo: str) -> list[tuple]:
    return site_rows(
        conninfo, "SELECT line, state, n FROM parcel_state_counts WHERE n <> 0 ORDER BY 1, 2"
    )


def _minutes(conninfo: str) -> list[tuple]:
    return site_rows(
        conninfo,
        "SELECT line, minute - 30000000, n FROM parcel_terminal_minutes WHERE n <> 0 ORDER BY 1, 2",
    )


def test_a_parcel_moves_its_count_from_state_to_state_and_a_replay_moves_nothing(
    postgres_database,
):
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute(_UPSERT, ("north", 1, 1, "inducted", T, T, 1))
        conn.execute(_UPSERT, ("north", 2, 2, "inducted", T, T + 1, 2))
        assert _states(postgres_database) == [("north", "inducted", 2)]
        conn.execute(_UPSERT, ("north", 1, 1, "assigned", T, T + 2, 3))
        conn.execute(_UPSERT, ("north", 1, 1, "sorted", T, T + 70, 4))  # minute 1
        conn.execute(_UPSERT, ("north", 1, 1, "sorted", T, T + 70, 4))  # the same, replayed
        conn.execute(_UPSERT, ("north", 1, 1, "assigned", T, T + 3, 3))  # an older one
        assert _states(postgres_database) == [("north", "inducted", 1), ("north", "sorted", 1)]
        assert _minutes(postgres_database) == [("north", 1, 1)]
        # a terminal parcel updated again in a later minute moves to that minute
        conn.execute(_UPSERT, ("north", 1, 1, "sorted", T, T + 130, 5))
        assert _minutes(postgres_database) == [("north", 2, 1)]
        conn.execute(_UPSERT, ("north", 2, 2, "lost", T, T + 150, 6))
        assert _states(postgres_database) == [("north", "lost", 1), ("north", "sorted", 1)]
        assert _minutes(postgres_database) == [("north", 2, 2)]


def test_a_lines_first_parcel_of_a_minute_drops_its_minutes_older_than_two_hours(
    postgres_database,
):
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute(_UPSERT, ("north", 1, 1, "sorted", T, T, 1))  # minute 0
        conn.execute(_UPSERT, ("south", 1, 1, "sorted", T, T, 1))
        conn.execute(_UPSERT, ("north", 2, 2, "rejected", T, T + 120 * 60, 2))  # minute 120
        assert _minutes(postgres_database) == [("north", 0, 1), ("north", 120, 1), ("south", 0, 1)]
        conn.execute(_UPSERT, ("north", 3, 3, "sorted", T, T + 121 * 60 + 5, 3))  # minute 121
        # north's minute 0 is gone, south's stays (its own line), the states keep every parcel
        assert _minutes(postgres_database) == [
            ("north", 120, 1),
            ("north", 121, 1),
            ("south", 0, 1),
        ]
        assert _states(postgres_database) == [
            ("north", "rejected", 1),
            ("north", "sorted", 2),
            ("south", "sorted", 1),
        ]
        conn.execute(_UPSERT, ("north", 4, 4, "sorted", T, T + 121 * 60 + 30, 4))  # same minute
        assert _minutes(postgres_database)[1] == ("north", 121, 2)

import asyncio
import secrets
import threading
from typing import Any

import psycopg

from controller.journal.writer import Journal
from controller.parcels.state import ParcelTracker
from controller.site.relay import SiteRelay
from drivers.postgres.server import PostgresServer
from tests.conftest import free_port
from tests.controller.site.helpers import (
    assert_counts_match_parcels,
    journal_rows,
    site_rows,
    write_parcels,
)
from tests.controller.upstream.helpers import until

_EVENTS = "SELECT id, session, uid, kind, state, barcode, route, chute, reason FROM events"
_SITE_EVENTS = (
    "SELECT sequence, session, uid, kind, state, barcode, route, chute, reason FROM parcel_events"
    " WHERE line = %s ORDER BY sequence"
)


def _relay(journal: Journal, conninfo: str, cls: type[SiteRelay] = SiteRelay, **kw: Any):
    return cls("L1", "hub", journal.path, conninfo, batch_rows=kw.pop("batch_rows", 7), **kw)


async def _caught_up(relay: SiteRelay, journal: Journal, within: float = 10.0) -> None:
    (top,) = journal_rows(journal.path, "SELECT max(id) FROM events")[0]
    relay.wake()
    await until(lambda: relay.stats().connected and relay._positions.get("events") == top, within)


async def _relay_all(relay: SiteRelay, journal: Journal) -> SiteRelay:
    """Start ``relay``, wait until it has the whole journal, stop it."""
    relay.start()
    try:
        await _caught_up(relay, journal)
    finally:
        relay.stop()
    return relay


async def test_batches_land_once_and_parcels_are_derived(tmp_path, postgres_database):
    journal = Journal(tmp_path / "journal.sqlite", "L1")
    await journal.open()
    tracker = ParcelTracker()
    await write_parcels(journal, tracker, 1, 20)
    relay = _relay(journal, postgres_database, hmi_url="http://l1:8080")
    journal.commit_listeners.append(relay.wake)
    relay.start()
    try:
        await _caught_up(relay, journal)
        await write_parcels(journal, tracker, 21, 5)  # the journal's commit wakes the relay
        await _caught_up(relay, journal, 2.0)
    finally:
        relay.stop()
    expected = sorted(journal_rows(journal.path, _EVENTS))
    assert site_rows(postgres_database, _SITE_EVENTS, "L1") == expected
    stats = relay.stats()
    assert stats.rows["events"] == len(expected) and stats.backlog["events"] == 0
    assert stats.batches >= len(expected) // 7  # at most 7 rows a stream per transaction
    assert stats.lag_p99_s is not None and stats.lag_histogram[-1][1] == len(expected)
    [(position, count)] = site_rows(
        postgres_database,
        "SELECT position, rows FROM relay_positions WHERE line = 'L1' AND stream = 'events'",
    )
    assert (position, count) == (expected[-1][0], len(expected))
    assert site_rows(postgres_database, "SELECT line, site, hmi_url FROM site_lines") == [
        ("L1", "hub", "http://l1:8080")
    ]

    # relayed: PostgreSQL's clock at each row's insert, inside its batch's transaction
    relayed = [
        r[0]
        for r in site_rows(
            postgres_database,
            "SELECT relayed FROM parcel_events WHERE line = 'L1' ORDER BY sequence",
        )
    ]
    assert relayed == sorted(relayed)
    assert len(set(relayed)) > stats.batches  # a time per row, not one per batch
    [(batch_started,)] = site_rows(
        postgres_database,
        "SELECT updated FROM relay_positions WHERE line = 'L1' AND stream = 'events'",
    )
    assert stats.last_commit is not None
    assert batch_started <= relayed[-1] <= stats.last_commit

    # parcels: the journal's own latest state, measurements as numbers
    mine = journal_rows(
        journal.path,
        "SELECT session, uid, barcode, route, state, chute, reason, CAST(weight_kg AS REAL),"
        " CAST(length_mm AS REAL) FROM parcels ORDER BY session, uid",
    )
    theirs = site_rows(
        postgres_database,
        "SELECT session, uid, barcode, route, state, chute, reason, weight_kg, length_mm"
        " FROM parcels WHERE line = 'L1' ORDER BY session, uid",
    )
    assert theirs == mine
    assert {r[4] for r in theirs} == {"sorted", "rejected"}  # every parcel terminal
    assert sum(1 for r in theirs if r[7] is not None) == 8  # tids 3, 6, … 24 were measured
    # the counters' tables, kept by the trigger through every batch's state changes
    counts = assert_counts_match_parcels(postgres_database)
    assert counts == [("L1", "rejected", 5), ("L1", "sorted", 20)]

    # the same batches again (positions lost): nothing doubles, nothing moves back
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute("DELETE FROM relay_positions")
    await _relay_all(_relay(journal, postgres_database), journal)
    assert site_rows(postgres_database, _SITE_EVENTS, "L1") == expected
    assert (
        site_rows(
            postgres_database,
            "SELECT session, uid, barcode, route, state, chute, reason, weight_kg, length_mm"
            " FROM parcels WHERE line = 'L1' ORDER BY session, uid",
        )
        == theirs
    )
    assert assert_counts_match_parcels(postgres_database) == counts  # nothing counted twice
    await journal.close()


class _KilledMidTransaction(SiteRelay):
    """Terminates its own PostgreSQL back end inside the transaction of its 2nd and 4th
    batch, just before the commit (as a crash of the server process or a cut would)."""

    def __init__(self, *args: Any, killer: str, **kw: Any):
        super().__init__(*args, **kw)
        self.killer = killer
        self.commits = 0
        self.killed = 0

    def _before_commit(self, conn: psycopg.Connection[Any]) -> None:
        self.commits += 1
        if self.commits in (2, 4):
            self.killed += 1
            with psycopg.connect(self.killer, autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))


async def test_a_relay_killed_mid_transaction_or_stopped_resumes_exactly(
    tmp_path, postgres_database
):
    journal = Journal(tmp_path / "journal.sqlite", "L1")
    await journal.open()
    await write_parcels(journal, ParcelTracker(), 1, 12)
    states: list[tuple[bool, str | None]] = []
    relay = _relay(
        journal,
        postgres_database,
        _KilledMidTransaction,
        killer=postgres_database,
        on_state=lambda up, err: states.append((up, err)),
    )
    relay.start()
    try:
        await until(lambda: relay.killed == 2 and relay.stats().rows["events"] >= 21, 10)
    finally:
        relay.stop()
    assert [up for up, _ in states] == [True, False, True, False, True]
    assert "terminat" in (states[1][1] or "")
    relayed = site_rows(postgres_database, _SITE_EVENTS, "L1")
    (position,) = site_rows(
        postgres_database, "SELECT position FROM relay_positions WHERE stream = 'events'"
    )[0]
    assert [r[0] for r in relayed] == list(range(1, position + 1))  # no gap, nothing beyond

    # a new process takes over
    resumed = await _relay_all(_relay(journal, postgres_database, batch_rows=500), journal)
    assert site_rows(postgres_database, _SITE_EVENTS, "L1") == sorted(
        journal_rows(journal.path, _EVENTS)
    )
    assert resumed.stats().rows["events"] == len(journal_rows(journal.path, _EVENTS)) - position
    # the killed transactions took their counts with them
    assert sum(n for _, _, n in assert_counts_match_parcels(postgres_database)) == 12
    await journal.close()


async def test_a_database_of_schema_1_gets_its_counts_filled_once(tmp_path, postgres_database):
    journal = Journal(tmp_path / "journal.sqlite", "L1")
    await journal.open()
    tracker = ParcelTracker()
    await write_parcels(journal, tracker, 1, 10)
    await _relay_all(_relay(journal, postgres_database), journal)
    # what schema version 1 left: the parcels, no counts, no trigger
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute("DROP TRIGGER parcels_count ON parcels")
        conn.execute("DROP TABLE parcel_state_counts, parcel_terminal_minutes")
        conn.execute("UPDATE site_schema SET version = 1")
    await write_parcels(journal, tracker, 11, 5)
    await _relay_all(_relay(journal, postgres_database), journal)
    assert site_rows(postgres_database, "SELECT version FROM site_schema") == [(2,)]
    counts = assert_counts_match_parcels(postgres_database)
    assert counts == [("L1", "rejected", 3), ("L1", "sorted", 12)]
    await journal.close()


async def test_the_site_down_then_up_the_relay_catches_up(tmp_path):
    password = "pw-" + secrets.token_hex(6)
    server = PostgresServer(free_port(), password)
    await asyncio.to_thread(server.start)
    journal = Journal(tmp_path / "journal.sqlite", "L1")
    await journal.open()
    tracker = ParcelTracker()
    states: list[bool] = []
    changed = threading.Event()

    def on_state(up: bool, err: str | None) -> None:
        states.append(up)
        changed.set()

    relay = SiteRelay(
        "L1",
        "hub",
        journal.path,
        server.url,
        password=password,
        batch_rows=50,
        interval_s=0.05,
        reconnect_max_s=0.3,
        on_state=on_state,
    )
    journal.commit_listeners.append(relay.wake)
    try:
        await write_parcels(journal, tracker, 1, 5)
        relay.start()
        await _caught_up(relay, journal)
        await asyncio.to_thread(server.kill)  # a crash: no goodbye to the relay
        await write_parcels(journal, tracker, 6, 10)  # the line sorts on
        await until(lambda: states[-1] is False, 10)
        assert not relay.stats().connected and relay.stats().last_error
        await until(lambda: relay.stats().backlog["events"] > 0, 5)  # seen while away
        await asyncio.to_thread(server.start)
        await write_parcels(journal, tracker, 16, 5)
        await _caught_up(relay, journal)
    finally:
        relay.stop()
        await asyncio.to_thread(server.close)
    assert states == [True, False, True]
    assert relay.stats().rows["events"] == len(journal_rows(journal.path, _EVENTS))
    await journal.close()

"""The relay and the put wall: wall events relayed, wall containers following their later
state (held, released, loaded at a door), and a journal replaced under the same line name."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import psycopg

from controller.alarms.board import AlarmBoard
from controller.journal.writer import Journal
from controller.parcels.state import ParcelTracker
from controller.putwall.records import SCHEMA as WALL_SCHEMA
from controller.putwall.records import WallEvent
from controller.site.relay import ALARM_JOURNAL_BEHIND, SiteRelay
from tests.controller.site.helpers import journal_rows, site_rows, write_parcels
from tests.controller.upstream.helpers import until

_WALL_EVENTS = (
    "SELECT id, time, wall, kind, parcel_id, cubby, container_id, reason, grp, actor"
    " FROM wall_events ORDER BY id"
)


def _event(kind: str, container_id: str, t: float, **kw: Any) -> WallEvent:
    return WallEvent(time=t, wall="W1", kind=kind, line="L1", container_id=container_id, **kw)


def _closed(container: str, cubby: str, parcels: list[str], t: float) -> list[WallEvent]:
    """The puts of ``parcels`` and the close-out, as the put wall journals them."""
    puts = [_event("put", container, t, parcel_id=p, cubby=cubby) for p in parcels]
    row = {
        "id": container, "wall": "W1", "cubby": cubby, "truck": "T01", "route": "R1",
        "stops": json.dumps([1]), "parcels": json.dumps(parcels), "closed": t,
        "reason": "full", "state": "closed", "expected_kg": 4.5,
    }  # fmt: skip
    return [*puts, _event("container_closed", container, t, cubby=cubby, container=row)]


def _loaded(container: str, t: float, door: str, position: str) -> WallEvent:
    fields = {"loaded": t, "position": position, "door": door}
    return _event("container_loaded", container, t, container_state=(container, "loaded", fields))


def _site_container(conninfo: str, container: str) -> tuple[str | None, dict[str, Any]]:
    [(truck, detail)] = site_rows(
        conninfo,
        "SELECT truck, detail FROM containers WHERE line = 'L1' AND kind = 'wall'"
        " AND container_id = %s",
        container,
    )
    return truck, detail


async def _relayed(relay: SiteRelay, journal: Journal, stream: str, table: str) -> None:
    (top,) = journal_rows(journal.path, f"SELECT coalesce(max(rowid), 0) FROM {table}")[0]
    relay.wake()
    await until(lambda: relay._positions.get(stream) == top and relay.stats().connected, 10)


async def test_wall_containers_follow_their_state_and_wall_events_are_relayed(
    tmp_path, postgres_database
):
    journal = Journal(tmp_path / "journal.sqlite", "L1")
    journal.add_schema(WALL_SCHEMA)
    await journal.open()
    for record in [*_closed("C1", "A1", ["P1", "P2"], 100.0), *_closed("C2", "A2", ["P3"], 101)]:
        journal.append(record)
    await journal.barrier()
    relay = SiteRelay("L1", "hub", journal.path, postgres_database, batch_rows=2)
    journal.commit_listeners.append(relay.wake)
    relay.start()
    try:
        await _relayed(relay, journal, "wall_events", "wall_events")
        assert _site_container(postgres_database, "C1")[1]["state"] == "closed"

        # weighed: C1 fine and loaded at door D02; C2 held, then released
        weight = {"measured_kg": 4.4, "weigh_reason": ""}
        journal.append(_event("weighed_ok", "C1", 110, container_state=("C1", "ok", weight)))
        mismatch = {"measured_kg": 9.0, "weigh_reason": "9.0 kg, expected 4.5"}
        journal.append(
            _event("weight_mismatch", "C2", 111, container_state=("C2", "held", mismatch))
        )
        await journal.barrier()
        await _relayed(relay, journal, "wall_events", "wall_events")
        assert _site_container(postgres_database, "C2")[1]["state"] == "held"
        journal.append(_event("released", "C2", 112, container_state=("C2", "released", {})))
        journal.append(_loaded("C1", 120.0, "D02", "nose"))
        journal.extend(
            _event("loaded", "C1", 120.0, parcel_id=p, truck="T01") for p in ("P1", "P2")
        )
        await journal.barrier()
        await _relayed(relay, journal, "wall_events", "wall_events")
    finally:
        relay.stop()

    truck, c1 = _site_container(postgres_database, "C1")
    assert (truck, c1["state"], c1["loaded"], c1["door"], c1["position"]) == (
        "T01", "loaded", 120.0, "D02", "nose",
    )  # fmt: skip
    assert c1["measured_kg"] == 4.4 and c1["parcel_ids"] == ["P1", "P2"]
    _, c2 = _site_container(postgres_database, "C2")
    assert (c2["state"], c2["measured_kg"], c2["loaded"]) == ("released", 9.0, None)
    assert site_rows(
        postgres_database,
        "SELECT sequence, time, wall, kind, parcel_id, cubby, container_id, reason, grp, actor"
        " FROM wall_events WHERE line = 'L1' ORDER BY sequence",
    ) == journal_rows(journal.path, _WALL_EVENTS)
    (loaded_seq,) = journal_rows(
        journal.path, "SELECT id FROM wall_events WHERE kind = 'container_loaded'"
    )[0]
    assert c1["wall_sequence"] == loaded_seq

    # all again from position 0 (positions lost): the states stay the latest ones
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute("DELETE FROM relay_positions")
    again = SiteRelay("L1", "hub", journal.path, postgres_database, batch_rows=2)
    async with _running(again):
        await _relayed(again, journal, "wall_events", "wall_events")
    assert _site_container(postgres_database, "C1")[1] == c1
    assert _site_container(postgres_database, "C2")[1] == c2
    (count,) = site_rows(postgres_database, "SELECT count(*) FROM wall_events")[0]
    assert count == len(journal_rows(journal.path, _WALL_EVENTS))
    await journal.close()


async def test_a_journal_replaced_under_the_same_line_name_is_warned_about(
    tmp_path, postgres_database
):
    first = Journal(tmp_path / "first.sqlite", "L1")
    await first.open()
    await write_parcels(first, ParcelTracker(), 1, 8)
    relay = SiteRelay("L1", "hub", first.path, postgres_database, interval_s=0.05)
    async with _running(relay):
        await _relayed(relay, first, "events", "events")
    assert relay.stats().journal_behind is None
    position = relay._positions["events"]
    await first.close()

    second = Journal(tmp_path / "second.sqlite", "L1")  # a fresh journal, the same line
    await second.open()
    tracker = ParcelTracker()
    await write_parcels(second, tracker, 1, 2)
    alarms = AlarmBoard()
    replaced = SiteRelay(
        "L1", "hub", second.path, postgres_database, interval_s=0.05, alarms=alarms
    )
    second.commit_listeners.append(replaced.wake)
    async with _running(replaced):
        await until(lambda: alarms.is_active(ALARM_JOURNAL_BEHIND), 10)
        (top,) = journal_rows(second.path, "SELECT max(id) FROM events")[0]
        text = alarms.get(ALARM_JOURNAL_BEHIND).text
        assert f"events at {position} (journal ends at {top})" in text
        assert str(second.path) in text and "line L1" in text
        assert "replaced under the same line name" in text
        assert replaced.stats().journal_behind == text
        assert site_rows(postgres_database, "SELECT max(sequence) FROM parcel_events") == [
            (position,)
        ]

        await write_parcels(second, tracker, 3, 10)  # the journal grows past the position
        await until(lambda: not alarms.is_active(ALARM_JOURNAL_BEHIND), 10)
        assert replaced.stats().journal_behind is None
    await second.close()


@contextlib.asynccontextmanager
async def _running(relay: SiteRelay) -> AsyncIterator[SiteRelay]:
    """``relay.run()`` as a task for the block (its alarms go through the running loop)."""
    task = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

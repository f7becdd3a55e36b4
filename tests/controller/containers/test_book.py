"""Chute containers: counting, close-out records and events, restore after a restart."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from controller.auth.audit import Actor
from controller.containers.book import ContainerBook, ContainerClosed
from controller.containers.fill import ChuteFill
from controller.errors import CommandRefused
from controller.journal.writer import Journal
from controller.parcels.decision import Decision, Identification, SortPlan
from controller.parcels.state import ParcelTracker
from controller.upstream import outbox
from plc_configs.contract import SortResult
from plc_configs.integration import EVENT_TYPES

WHO = Actor("floor-lead", "supervisor", "hmi")
REJECT = 9


class Clock:
    """A controller clock the test moves by hand."""

    def __init__(self, now: float = 100.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Line:
    """A journal, a tracker, a fill estimate and a book, as the line controller wires them."""

    def __init__(self, path: Path, clock: Clock, events=EVENT_TYPES):
        self.clock = clock
        self.journal = Journal(path, "test-line", clock=clock, upstream_events=events)
        self.tracker = ParcelTracker()
        self.fill = ChuteFill()
        self.plan = SortPlan({"A": [1], "B": [2, 3], "C": [3]}, REJECT)
        self.book = ContainerBook(
            self.journal, (1, 2, 3, REJECT), self.tracker, self.fill, self.plan
        )
        self._tid = 0
        self.step = 1.0
        """Seconds on the clock between two parcels."""

    def land(self, chute: int, n: int = 1, result: SortResult = SortResult.DIVERTED) -> list[int]:
        """``n`` parcels through the tracker into ``chute`` (journaled); their tracking ids."""
        tids = []
        for _ in range(n):
            self._tid += 1
            tid, t = self._tid, self.clock()
            parcel, events = self.tracker.on_scan(tid, t)
            events += self.tracker.on_identified(
                parcel, Identification(f"LS{tid:04d}"), (), "raw", t
            )
            events += self.tracker.on_answered(parcel, Decision(chute, "A", None), t)
            events += self.tracker.on_confirmation(tid, chute, result, t)
            self.journal.extend(events)
            self.fill.on_landed(chute)
            self.clock.now += self.step
            tids.append(tid)
        return tids


@pytest.fixture
async def line(tmp_path) -> AsyncIterator[Line]:
    line = Line(tmp_path / "journal.sqlite", Clock())
    await line.journal.open()
    await line.book.restore()
    try:
        yield line
    finally:
        await line.journal.close()


def _rows(path: Path, sql: str) -> list[dict]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql)]
    finally:
        conn.close()


async def test_the_book_counts_parcels_per_chute_and_knows_the_routes(line):
    line.land(3, 4)
    line.land(1)
    line.land(REJECT, 2, SortResult.NO_ANSWER)
    infos = line.book.infos()
    assert {c: i.count for c, i in infos.items()} == {1: 1, 2: 0, 3: 4, REJECT: 2}
    assert infos[3].routes == ("B", "C") and infos[REJECT].routes == ()
    assert infos[3].id is None and infos[3].opened == pytest.approx(100.0, abs=0.1)
    line.plan.replace({"D": [3]}, 2)
    assert line.book.infos()[3].routes == ("D",)


async def test_close_resets_count_and_fill_and_journals_the_parcels_in_it(line):
    inside = line.land(3, 3)
    line.land(2, 2)
    line.clock.now = 200.0
    closed = line.book.close(3, WHO, "full")
    after = line.land(3, 1)
    assert (closed.chute, closed.count, closed.closed) == (3, 3, 200.0)
    assert closed.opened == pytest.approx(100.0, abs=0.1)  # the session's start
    assert closed.closed_by == "floor-lead" and closed.reason == "full"
    assert closed.id is not None and closed.id.startswith("C-3-")
    assert line.book.count(3) == 1 and line.book.infos()[3].opened == 200.0
    assert line.fill.counts()[3] == 1 and line.fill.counts()[2] == 2
    await line.journal.barrier()

    path = line.journal.path
    (row,) = _rows(path, "SELECT * FROM containers")
    offset = line.journal.wall_offset
    assert row["id"] == closed.id and row["chute"] == 3 and row["route"] == "B,C"
    assert row["parcels"] == 3 and row["closed_by"] == "floor-lead" and row["reason"] == "full"
    assert row["opened"] == pytest.approx(100.0 + offset, abs=0.1)
    assert row["closed"] == pytest.approx(200.0 + offset)

    (event,) = _rows(path, "SELECT * FROM outbox WHERE type = 'container.closed'")
    assert event["lane_key"] == "container:3" and event["sequence"] == 1
    assert event["uid"] is None and event["state"] == "pending"
    body = json.loads(event["payload"])
    assert body["event_id"] == event["event_id"] and body["type"] == "container.closed"
    assert body["container_id"] == closed.id and body["chute"] == 3
    assert body["routes"] == ["B", "C"] and body["line"] == "test-line"
    assert body["parcel_count"] == 3 and body["closed_by"] == "floor-lead"
    assert body["opened"] < body["closed"] and body["closed"].endswith("Z")
    assert [p["tracking_id"] for p in body["parcels"]] == inside
    assert [p["barcode"] for p in body["parcels"]] == [f"LS{t:04d}" for t in inside]
    assert after[0] not in [p["tracking_id"] for p in body["parcels"]]


async def test_the_next_close_out_of_a_chute_has_only_its_own_parcels(line):
    line.land(1, 2)
    first = line.book.close(1, WHO)
    second_parcels = line.land(1, 3)
    second = line.book.close(1, WHO, "route done")
    await line.journal.barrier()
    history = await line.book.history(chute=1)
    assert [h["id"] for h in history] == [second.id, first.id]  # newest first
    assert [h["parcels"] for h in history] == [3, 2]
    events = _rows(line.journal.path, "SELECT * FROM outbox WHERE lane_key = 'container:1'")
    assert [e["sequence"] for e in events] == [1, 2]
    body = json.loads(events[1]["payload"])
    assert [p["tracking_id"] for p in body["parcels"]] == second_parcels
    assert await line.book.history(chute=2) == []
    assert [h["id"] for h in await line.book.history(limit=1)] == [second.id]


async def test_an_unknown_chute_is_refused(line):
    with pytest.raises(CommandRefused, match="chute 77 is not a chute"):
        line.book.close(77, WHO)
    assert line.book.count(77) == 0


async def test_a_restart_restores_each_container_from_the_journal(tmp_path):
    path = tmp_path / "journal.sqlite"
    clock = Clock()
    first = Line(path, clock)
    await first.journal.open()
    await first.book.restore()
    first.step = 0.001  # the clock keeps up with the wall clock: every parcel lands before
    first.land(3, 3)
    closed = first.book.close(3, WHO)
    first.land(3, 2)
    first.land(REJECT, 1, SortResult.NO_ANSWER)
    await first.journal.close()
    await asyncio.sleep(0.05)  # ... the next session starts
    wall_closed = closed.closed + first.journal.wall_offset

    clock.now = 5.0  # a new process: another monotonic epoch
    second = Line(path, clock)
    await second.journal.open()
    try:
        await second.book.restore()
        infos = second.book.infos()
        assert infos[3].count == 2  # since the last close-out, from the journal
        (row,) = _rows(path, "SELECT parcels FROM containers")
        assert row["parcels"] == 3
        assert infos[3].opened + second.journal.wall_offset == pytest.approx(wall_closed)
        assert infos[REJECT].count == 0  # never closed out: opened at this session's start
        assert infos[REJECT].opened == pytest.approx(5.0, abs=1.0)
        second.land(3, 1)
        assert second.book.count(3) == 3
        again = second.book.close(3, WHO)
        assert again.count == 3
        await second.journal.barrier()
        (event,) = _rows(path, "SELECT payload FROM outbox WHERE sequence = 2 AND uid IS NULL")
        assert json.loads(event["payload"])["parcel_count"] == 3  # across both sessions
    finally:
        await second.journal.close()


async def test_a_disabled_event_type_keeps_the_record_without_an_outbox_row(tmp_path):
    line = Line(tmp_path / "j.sqlite", Clock(), events=["parcel.sorted"])
    await line.journal.open()
    line.land(2, 1)
    line.book.close(2, WHO)
    await line.journal.barrier()
    await line.journal.close()
    assert len(_rows(line.journal.path, "SELECT * FROM containers")) == 1
    assert _rows(line.journal.path, "SELECT type FROM outbox") == [{"type": "parcel.sorted"}]


async def test_a_duplicate_container_id_does_not_block_the_journal(line):
    record = ContainerClosed("C-x", 1, (), 100.0, 101.0, 0, "a", None, "test-line", True)
    line.journal.append(record)
    line.journal.append(record)  # the same id again: skipped, the batch still commits
    line.land(1, 1)
    await line.journal.barrier()
    assert line.journal.last_error is None
    assert len(_rows(line.journal.path, "SELECT * FROM containers")) == 1
    types = [r["type"] for r in _rows(line.journal.path, "SELECT type FROM outbox ORDER BY id")]
    assert types == ["container.closed", "parcel.sorted"]


async def test_the_outbox_lists_a_container_event_without_a_parcel(line):
    line.land(1, 1)
    line.book.close(1, WHO)
    await line.journal.barrier()
    conn = outbox.connect(line.journal.path)
    try:
        rows = outbox.list_events(conn, "pending", 10, 0)
    finally:
        conn.close()
    assert [(r["type"], r["parcel_id"]) for r in rows] == [
        ("parcel.sorted", "1-1"),
        ("container.closed", None),
    ]

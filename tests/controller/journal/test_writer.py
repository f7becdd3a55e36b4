import asyncio
import sqlite3

import pytest

from controller.journal.writer import AlarmRecord, Journal
from controller.parcels.decision import Decision
from controller.parcels.state import ParcelTracker
from plc_configs.contract import SortResult


async def test_events_are_committed_in_wal_and_barrier_waits_for_them(tmp_path):
    journal = Journal(tmp_path / "j.sqlite", "test-line")
    await journal.open()
    tracker = ParcelTracker()
    parcel, events = tracker.on_scan(1, 1.0)
    parcel, more = tracker.on_request(1, 1.1)
    events += more + tracker.on_answered(parcel, Decision(3, "R03", None), 1.102)
    events += tracker.on_confirmation(1, 3, SortResult.DIVERTED, 2.0)
    journal.extend(events)
    journal.append(AlarmRecord(2.0, "k", "dev", "warning", "raised", "text"))
    await journal.barrier()
    conn = sqlite3.connect(tmp_path / "j.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    kinds = [r[0] for r in conn.execute("SELECT kind FROM events ORDER BY id")]
    assert kinds == ["inducted", "assigned", "terminal"]
    row = conn.execute("SELECT state, chute, route, answer_ms FROM parcels").fetchone()
    assert row[:3] == ("sorted", 3, "R03") and abs(row[3] - 2.0) < 1e-6
    assert conn.execute("SELECT count(*) FROM alarms").fetchone()[0] == 1
    conn.close()
    await journal.close()


async def test_database_refuses_a_second_terminal_event(tmp_path):
    journal = Journal(tmp_path / "j.sqlite", "test-line")
    await journal.open()
    tracker = ParcelTracker()
    events = tracker.on_confirmation(5, 32, SortResult.NO_ANSWER, 1.0)
    journal.extend(events)
    journal.extend([e for e in events if e.terminal])  # a bug would write it twice
    _, after = tracker.on_scan(6, 1.1)  # in the same batch, after the refused one
    journal.extend(after)
    await journal.barrier()
    await journal.close()
    conn = sqlite3.connect(tmp_path / "j.sqlite")
    n = conn.execute("SELECT count(*) FROM events WHERE kind='terminal'").fetchone()[0]
    tracking_ids = [r[0] for r in conn.execute("SELECT tracking_id FROM events ORDER BY id")]
    states = dict(conn.execute("SELECT tracking_id, state FROM parcels"))
    conn.close()
    assert n == 1 and journal.duplicate_terminals == 1
    # only the refused INSERT was undone: the rest of its batch committed, in order
    assert tracking_ids == [e.tracking_id for e in events + after]
    assert states == {5: "rejected", 6: "inducted"}


async def test_each_open_is_a_new_session(tmp_path):
    for expected in (1, 2):
        journal = Journal(tmp_path / "j.sqlite", "l")
        await journal.open()
        assert journal.session == expected
        await journal.close()


async def test_a_mark_is_committed_with_its_window_and_wakes_nothing(tmp_path):
    journal = Journal(tmp_path / "j.sqlite", "test-line")
    await journal.open()
    tracker = ParcelTracker()
    _, events = tracker.on_scan(1, 1.0)
    journal.extend(events)
    mark = journal.mark()
    assert not journal.is_committed(mark)  # the window's batch is not even handed over yet
    _, later = tracker.on_scan(2, 1.1)
    journal.extend(later)
    later_mark = journal.mark()
    assert later_mark == mark  # same window, same batch
    for _ in range(200):
        if journal.is_committed(mark):
            break
        await asyncio.sleep(0.005)
    assert journal.is_committed(mark)
    conn = sqlite3.connect(tmp_path / "j.sqlite")
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 2  # both committed
    conn.close()
    _, third = tracker.on_scan(3, 1.2)
    journal.extend(third)
    assert journal.mark() == mark + 1 and not journal.is_committed(mark + 1)
    await journal.barrier()  # hands the window over and waits for its commit
    assert journal.is_committed(mark + 1)
    assert journal.mark() == mark + 1  # nothing gathered since: committed already
    with pytest.raises(RuntimeError):
        await asyncio.to_thread(journal.mark)  # the loop's appends only
    await journal.close()

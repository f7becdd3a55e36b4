import asyncio
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from controller.errors import UpstreamError
from controller.journal.writer import Journal
from controller.parcels.state import ParcelTracker
from controller.upstream import outbox
from plc_configs.contract import SortResult
from tests.controller.upstream.helpers import (
    measurement,
    outbox_rows,
    parcel_events,
    reject_decision,
    until,
)


async def test_a_refused_duplicate_terminal_makes_no_outbox_row(tmp_path):
    commits: list[str] = []

    def on_commit() -> None:
        commits.append(threading.current_thread().name)

    journal = Journal(tmp_path / "j.sqlite", "l", on_commit=on_commit)
    await journal.open()
    events = parcel_events(ParcelTracker(), 5, result=SortResult.NO_ANSWER)
    journal.extend(events)
    await journal.barrier()
    assert commits == ["journal-writer"]
    journal.extend([e for e in events if e.terminal])  # a bug would write it twice
    await journal.barrier()
    await journal.close()
    assert journal.duplicate_terminals == 1
    assert [r["type"] for r in outbox_rows(tmp_path / "j.sqlite")] == ["parcel.rejected"]
    assert commits == ["journal-writer"]  # the refused batch added no outbox row


async def test_the_outbox_row_commits_with_its_event_or_not_at_all(tmp_path):
    path = tmp_path / "j.sqlite"
    journal = Journal(path, "l")
    await journal.open()
    side = sqlite3.connect(path, isolation_level=None)
    side.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    journal.extend(parcel_events(ParcelTracker(), 1))
    done = journal.barrier()
    await until(lambda: journal.last_error)
    assert side.execute("SELECT count(*) FROM events").fetchone()[0] == 0  # rolled back together
    side.execute("DROP TRIGGER refuse")
    await asyncio.wait_for(done, 5)  # the writer retries the batch
    assert side.execute("SELECT count(*) FROM events").fetchone()[0] == 4
    assert side.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1
    side.close()
    await journal.close()


def test_sequence_counts_per_parcel_and_lanes_are_stable(tmp_path):
    conn = sqlite3.connect(":memory:")
    conn.executescript(outbox.SCHEMA)
    conn.execute("CREATE TABLE events(session, uid, kind, detail, id INTEGER PRIMARY KEY)")
    tracker = ParcelTracker()
    for tid in (1, 2):
        for event in parcel_events(tracker, tid, measure=measurement()):
            outbox.record(conn, 3, event, 1e9, "l", ["parcel.measured", "parcel.sorted"])
    got = conn.execute("SELECT lane_key, sequence, type FROM outbox ORDER BY id").fetchall()
    assert got == [
        ("3:1", 1, "parcel.measured"),
        ("3:1", 2, "parcel.sorted"),
        ("3:2", 1, "parcel.measured"),
        ("3:2", 2, "parcel.sorted"),
    ]
    # crc32, not hash(): the same lanes in every process (str hashes are salted per process)
    assert [outbox.lane_of(f"3:{uid}", 4) for uid in (1, 2, 3)] == [0, 2, 0]
    assert {outbox.lane_of(f"1:{uid}", 4) for uid in range(100)} == {0, 1, 2, 3}


def test_replay_names_unknown_ids_and_changes_nothing(tmp_path):
    conn = outbox.connect(tmp_path / "j.sqlite")
    with pytest.raises(UpstreamError, match="nope"):
        outbox.replay(conn, ["nope"], "dead", 0.0)
    with pytest.raises(UpstreamError, match="unknown outbox state"):
        outbox.replay(conn, None, "lost", 0.0)
    conn.close()


_WRITER = """
import asyncio, os, sys, time
from controller.journal.writer import Journal
from controller.parcels.state import ParcelTracker
from tests.controller.upstream.helpers import measurement, parcel_events

async def main():
    journal = Journal(sys.argv[1], "l")
    await journal.open()
    tracker = ParcelTracker()
    for tid in range(1, 11):
        journal.extend(parcel_events(tracker, tid, measure=measurement()))
    await journal.barrier()
    print("committed", flush=True)
    time.sleep(60)

asyncio.run(main())
"""


async def test_committed_events_survive_sigkill(tmp_path):
    path = tmp_path / "j.sqlite"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        textwrap.dedent(_WRITER),
        str(path),
        stdout=subprocess.PIPE,
        cwd=Path(__file__).parents[3],
    )
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        assert line.strip() == b"committed"
    finally:
        proc.kill()  # SIGKILL: no close, no checkpoint
        await proc.wait()
    rows = outbox_rows(path)
    assert len(rows) == 20 and {r["state"] for r in rows} == {"pending"}


def test_fetch_pending_reads_in_order_with_lanes_and_skips_what_it_has_seen(tmp_path):
    conn = outbox.connect(tmp_path / "j.sqlite")
    conn.execute("CREATE TABLE events(session, uid, kind, detail, id INTEGER PRIMARY KEY)")
    tracker = ParcelTracker()
    for tid in range(1, 21):
        for event in parcel_events(tracker, tid, measure=measurement()):
            outbox.record(conn, 1, event, 1e9, "l", ["parcel.measured", "parcel.sorted"])
    rows, horizon = outbox.fetch_pending(conn, 2, 0, 100)
    assert horizon == 40 and [r.id for r in rows] == list(range(1, 41))
    keys = dict(conn.execute("SELECT id, lane_key FROM outbox").fetchall())
    assert [r.lane for r in rows] == [outbox.lane_of(keys[r.id], 2) for r in rows]
    assert {r.lane for r in rows} == {0, 1}
    rows, horizon = outbox.fetch_pending(conn, 2, 0, 3)
    assert len(rows) == 3 and horizon == rows[-1].id  # more may follow
    assert outbox.fetch_pending(conn, 2, 40, 100) == ([], 40)
    conn.close()


class _Amnesiac(outbox.OutboxMemo):
    """A memo that never learns: every outbox row is made from the database's rows."""

    def note(self, session, event) -> None:
        pass

    def used(self, lane_key, sequence) -> None:
        pass


async def test_the_writers_memo_makes_the_rows_the_database_would(tmp_path, monkeypatch):
    made = {}
    for name, memo in (("memo", outbox.OutboxMemo), ("database", _Amnesiac)):
        monkeypatch.setattr(outbox, "OutboxMemo", memo)
        path = tmp_path / f"{name}.sqlite"
        journal = Journal(path, "l")
        await journal.open()
        tracker = ParcelTracker()
        for tid in range(1, 25):
            journal.extend(
                parcel_events(
                    tracker,
                    tid,
                    measure=measurement(kg=f"{tid}.250") if tid % 3 else None,
                    decision=reject_decision(f"why {tid}") if tid % 4 == 0 else None,
                    result=SortResult.REJECT_REQUESTED if tid % 4 == 0 else SortResult.DIVERTED,
                )
            )
        await journal.close()
        made[name] = [
            (r["type"], r["lane_key"], r["sequence"], {**r["body"], "event_id": 0, "time": 0})
            for r in outbox_rows(path)
        ]
    assert made["memo"] == made["database"]
    assert len(made["memo"]) == 24 + 16  # every terminal, and the measured parcels
    assert {body["reason_detail"] for *_, body in made["memo"]} >= {"why 4", "why 8"}

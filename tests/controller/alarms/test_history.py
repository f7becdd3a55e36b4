import sqlite3

import pytest

from controller.alarms.board import AlarmBoard, Severity
from controller.alarms.history import AlarmHistory
from controller.errors import JournalError
from controller.journal.writer import Journal


@pytest.fixture
async def history(tmp_path):
    """A real journal with a few alarm transitions at controller times 10..16 s."""
    journal = Journal(tmp_path / "journal.sqlite", "line", clock=lambda: 0.0)
    await journal.open()
    board = AlarmBoard(journal.append)
    try:
        board.raise_("link:sorter", "Sorter link DOWN", 10.0, device="sorter",
                     severity=Severity.CRITICAL)  # fmt: skip
        board.raise_("garbled_lines:reader", "garbled lines", 11.0, device="reader")
        board.acknowledge("link:sorter", "ann", 12.0)
        board.shelve("garbled_lines:reader", "bob", 100.0, 13.0, "cleaning the lens")
        board.clear("link:sorter", 14.0)
        board.raise_("manifest", "the manifest is empty", 15.0, severity=Severity.INFO)
        board.unshelve("garbled_lines:reader", "bob", 16.0)
        await journal.barrier()
    finally:
        await journal.close()
    return AlarmHistory(journal.path), journal.wall_offset


def _states(rows) -> list[tuple[str, str]]:
    return [(r["key"], r["state"]) for r in rows]


async def test_all_rows_newest_first_with_wall_clock_times_and_users(history):
    alarm_history, offset = history
    rows = await alarm_history.query()
    assert _states(rows) == [
        ("garbled_lines:reader", "unshelved"),
        ("manifest", "raised"),
        ("link:sorter", "cleared"),
        ("garbled_lines:reader", "shelved"),
        ("link:sorter", "acknowledged"),
        ("garbled_lines:reader", "raised"),
        ("link:sorter", "raised"),
    ]
    assert set(rows[0]) == {"time", "key", "device", "severity", "state", "text", "user"}
    assert rows[-1]["time"] == pytest.approx(10.0 + offset)
    assert rows[0]["user"] == "bob" and rows[-1]["user"] is None
    assert rows[-1]["severity"] == "critical" and rows[-1]["device"] == "sorter"


async def test_time_window_is_inclusive_then_exclusive(history):
    alarm_history, offset = history
    rows = await alarm_history.query(since=12.0 + offset, until=14.0 + offset)
    assert _states(rows) == [
        ("garbled_lines:reader", "shelved"),
        ("link:sorter", "acknowledged"),
    ]


async def test_filters_by_severity_device_key_state(history):
    alarm_history, _ = history
    assert _states(await alarm_history.query(severity="info")) == [("manifest", "raised")]
    by_device = await alarm_history.query(device="sorter")
    assert {r["key"] for r in by_device} == {"link:sorter"} and len(by_device) == 3
    by_key = await alarm_history.query(key="garbled_lines:reader")
    assert [r["state"] for r in by_key] == ["unshelved", "shelved", "raised"]
    assert _states(await alarm_history.query(state="acknowledged")) == [
        ("link:sorter", "acknowledged")
    ]
    both = await alarm_history.query(device="sorter", state="cleared")
    assert _states(both) == [("link:sorter", "cleared")]


async def test_text_is_a_case_insensitive_substring_and_not_a_pattern(history):
    alarm_history, _ = history
    rows = await alarm_history.query(text="link down")
    assert {r["key"] for r in rows} == {"link:sorter"} and len(rows) == 3
    assert await alarm_history.query(text="%") == []
    assert await alarm_history.query(text="_") == []


async def test_limit_keeps_the_newest(history):
    alarm_history, _ = history
    rows = await alarm_history.query(limit=2)
    assert _states(rows) == [("garbled_lines:reader", "unshelved"), ("manifest", "raised")]


async def test_the_query_uses_the_time_index(history):
    alarm_history, offset = history
    conn = sqlite3.connect(alarm_history.path)
    plan = conn.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM alarms WHERE time >= ? ORDER BY time DESC",
        (offset,),
    ).fetchall()
    conn.close()
    assert any("alarms_by_time" in str(row) for row in plan)


async def test_a_missing_journal_is_a_journal_error(tmp_path):
    with pytest.raises(JournalError, match="cannot read the alarm history"):
        await AlarmHistory(tmp_path / "none.sqlite").query()

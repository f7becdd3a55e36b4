import asyncio
import sqlite3

import pytest

from controller.alarms.board import MAX_SHELVE_S, AlarmBoard, AlarmState, Severity, UnknownAlarm
from controller.errors import CommandRefused
from controller.journal.writer import Journal


def _board() -> tuple[AlarmBoard, list]:
    records: list = []
    return AlarmBoard(records.append), records


def _trail(records) -> list[tuple[str, str | None]]:
    return [(r.state, r.user) for r in records]


def test_raise_counts_repeats_and_records_changes():
    board, records = _board()
    board.raise_("link:plc", "down", 1.0, device="plc", severity=Severity.CRITICAL)
    again = board.raise_("link:plc", "still down", 2.0, device="plc")
    assert again.count == 2 and again.text == "still down" and again.since == 1.0
    assert again.state is AlarmState.UNACK
    assert [r.state for r in records] == ["raised"]
    board.acknowledge("link:plc", "ann", 2.5)
    board.clear("link:plc", 3.0)
    assert not board.is_active("link:plc") and board.get("link:plc") is None
    assert [r.state for r in records] == ["raised", "acknowledged", "cleared"]
    board.clear("link:plc", 4.0)
    assert len(records) == 3


def test_unacknowledged_alarm_that_clears_stays_until_acknowledged():
    board, records = _board()
    board.raise_("heartbeat:sorter", "stuck", 1.0, device="sorter")
    board.clear("heartbeat:sorter", 2.0)
    alarm = board.get("heartbeat:sorter")
    assert alarm is not None and alarm.state is AlarmState.RTN_UNACK and alarm.cleared_at == 2.0
    assert not board.is_active("heartbeat:sorter")  # the condition is gone
    assert [a.key for a in board.active()] == ["heartbeat:sorter"]  # still displayed
    board.clear("heartbeat:sorter", 2.5)  # clearing a returned alarm again changes nothing
    board.acknowledge("heartbeat:sorter", "bob", 3.0)
    assert board.get("heartbeat:sorter") is None and board.active() == []
    assert _trail(records) == [("raised", None), ("cleared", None), ("acknowledged", "bob")]


def test_a_returned_alarm_raised_again_is_unacknowledged_again_and_counted():
    board, records = _board()
    board.raise_("lost:sorter", "lost 1", 1.0)
    board.clear("lost:sorter", 2.0)
    alarm = board.raise_("lost:sorter", "lost 2", 3.0)
    assert alarm.state is AlarmState.UNACK and alarm.count == 2 and alarm.cleared_at is None
    assert alarm.since == 1.0 and alarm.text == "lost 2" and board.is_active("lost:sorter")
    assert board.raised_total == 2
    assert [r.state for r in records] == ["raised", "cleared", "raised"]


def test_acknowledged_alarm_records_who_and_when_and_a_second_ack_is_refused():
    board, records = _board()
    board.raise_("k", "t", 1.0)
    board.acknowledge("k", "ann", 5.0)
    alarm = board.get("k")
    assert alarm is not None and alarm.state is AlarmState.ACK
    assert (alarm.acked_by, alarm.acked_at) == ("ann", 5.0)
    assert board.is_active("k")
    with pytest.raises(CommandRefused, match="already acknowledged \\(by ann\\)"):
        board.acknowledge("k", "bob", 6.0)
    board.raise_("k", "t again", 7.0)  # still active: only counted, stays acknowledged
    assert board.get("k").state is AlarmState.ACK and board.get("k").count == 2
    assert _trail(records) == [("raised", None), ("acknowledged", "ann")]


def test_unknown_keys_are_refused_with_a_typed_error():
    board, records = _board()
    for action in (
        lambda: board.acknowledge("nope", "ann", 1.0),
        lambda: board.shelve("nope", "ann", 60.0, 1.0),
        lambda: board.unshelve("nope", "ann", 1.0),
    ):
        with pytest.raises(UnknownAlarm, match="no alarm nope"):
            action()
    assert issubclass(UnknownAlarm, CommandRefused) and records == []


def test_shelved_alarm_is_hidden_counted_and_listed_apart():
    board, records = _board()
    board.raise_("a", "first", 1.0, severity=Severity.CRITICAL)
    board.raise_("b", "second", 2.0)
    board.shelve("a", "ann", 100.0, 10.0, "sensor being replaced")
    assert [x.key for x in board.active()] == ["b"]
    shelved = board.shelved()
    assert [x.key for x in shelved] == ["a"]
    assert (shelved[0].shelved_until, shelved[0].shelved_by) == (100.0, "ann")
    assert shelved[0].shelve_reason == "sensor being replaced"
    assert board.is_active("a")  # the condition is still active
    assert board.unacknowledged_critical() == []  # shelved: no banner
    again = board.raise_("a", "first again", 20.0)
    assert again.is_shelved and again.count == 2 and board.shelved()[0].count == 2
    board.unshelve("a", "bob", 30.0)
    assert [x.key for x in board.active()] == ["a", "b"] and board.shelved() == []
    assert board.get("a").shelved_by is None and board.get("a").shelve_reason is None
    with pytest.raises(CommandRefused, match="a is not shelved"):
        board.unshelve("a", "bob", 31.0)
    assert _trail(records) == [
        ("raised", None),
        ("raised", None),
        ("shelved", "ann"),
        ("unshelved", "bob"),
    ]


def test_a_shelf_expires_at_its_end():
    board, records = _board()
    board.raise_("a", "t", 1.0)
    board.raise_("b", "t", 1.0)
    board.shelve("a", "ann", 60.0, 10.0)
    board.shelve("b", "ann", 90.0, 10.0)
    assert board.expire_shelves(59.9) == []
    expired = board.expire_shelves(60.0)
    assert [a.key for a in expired] == ["a"] and not expired[0].is_shelved
    assert [a.key for a in board.active()] == ["a"] and [a.key for a in board.shelved()] == ["b"]
    assert (records[-1].state, records[-1].key, records[-1].user, records[-1].time) == (
        "unshelved",
        "a",
        None,
        60.0,
    )


async def test_the_shelf_timer_expires_shelves_by_itself():
    board, _ = _board()
    now = [0.0]
    board.raise_("a", "t", 0.0)
    board.shelve("a", "ann", 5.0, 0.0)
    timer = asyncio.create_task(board.run_shelf_timer(lambda: now[0], period=0.01))
    try:
        await asyncio.sleep(0.05)
        assert board.get("a").is_shelved
        now[0] = 5.0
        await asyncio.sleep(0.05)
        assert not board.get("a").is_shelved
    finally:
        timer.cancel()


def test_shelving_is_limited_to_eight_hours_and_must_end_in_the_future():
    board, records = _board()
    board.raise_("a", "t", 0.0)
    with pytest.raises(CommandRefused, match="at most 8 hours"):
        board.shelve("a", "ann", 100.0 + MAX_SHELVE_S + 1, 100.0)
    with pytest.raises(CommandRefused, match="must end in the future"):
        board.shelve("a", "ann", 100.0, 100.0)
    with pytest.raises(CommandRefused):
        board.shelve("a", "ann", float("nan"), 100.0)
    assert not board.get("a").is_shelved and len(records) == 1
    board.shelve("a", "ann", 100.0 + MAX_SHELVE_S, 100.0)  # exactly 8 h is allowed
    board.shelve("a", "bob", 200.0, 150.0)  # shelving again sets a new end
    assert (board.get("a").shelved_until, board.get("a").shelved_by) == (200.0, "bob")


def test_a_shelved_alarm_that_clears_unacknowledged_returns_on_the_board_when_unshelved():
    board, _ = _board()
    board.raise_("a", "t", 1.0)
    board.shelve("a", "ann", 50.0, 2.0)
    board.clear("a", 3.0)
    alarm = board.shelved()[0]
    assert alarm.state is AlarmState.RTN_UNACK and board.active() == []
    board.expire_shelves(50.0)
    assert board.active()[0].state is AlarmState.RTN_UNACK


def test_acknowledged_shelved_alarm_that_clears_leaves_the_board():
    board, _ = _board()
    board.raise_("a", "t", 1.0)
    board.acknowledge("a", "ann", 1.5)
    board.shelve("a", "ann", 50.0, 2.0)
    board.clear("a", 3.0)
    assert board.get("a") is None and board.shelved() == []


def test_unacknowledged_critical_lists_the_banner_alarms_oldest_first():
    board, _ = _board()
    board.raise_("c2", "t", 2.0, severity=Severity.CRITICAL)
    board.raise_("c1", "t", 1.0, severity=Severity.CRITICAL)
    board.raise_("w", "t", 0.5, severity=Severity.WARNING)
    board.raise_("c3", "t", 3.0, severity=Severity.CRITICAL)
    board.acknowledge("c3", "ann", 4.0)
    board.clear("c2", 5.0)  # returned, not acknowledged: still on the banner
    banner = board.unacknowledged_critical()
    assert [(a.key, a.state) for a in banner] == [
        ("c1", AlarmState.UNACK),
        ("c2", AlarmState.RTN_UNACK),
    ]
    assert [a.key for a in board.active()] == ["w", "c1", "c2", "c3"]


async def test_every_transition_is_a_journal_row_with_the_user(tmp_path):
    journal = Journal(tmp_path / "j.sqlite", "line", clock=lambda: 100.0)
    await journal.open()
    board = AlarmBoard(journal.append)
    try:
        board.raise_("link:sorter", "down", 100.0, device="sorter", severity=Severity.CRITICAL)
        board.acknowledge("link:sorter", "ann", 101.0)
        board.shelve("link:sorter", "bob", 200.0, 102.0, "maintenance")
        board.unshelve("link:sorter", "carl", 103.0)
        board.clear("link:sorter", 104.0)
        await journal.barrier()
    finally:
        await journal.close()
    conn = sqlite3.connect(journal.path)
    rows = conn.execute(
        "SELECT time, key, device, severity, state, user FROM alarms ORDER BY id"
    ).fetchall()
    conn.close()
    assert [(r[4], r[5]) for r in rows] == [
        ("raised", None),
        ("acknowledged", "ann"),
        ("shelved", "bob"),
        ("unshelved", "carl"),
        ("cleared", None),
    ]
    assert {(r[1], r[2], r[3]) for r in rows} == {("link:sorter", "sorter", "critical")}
    offset = journal.wall_offset
    assert [round(r[0] - offset, 6) for r in rows] == [100.0, 101.0, 102.0, 103.0, 104.0]


async def test_an_older_journal_gets_the_user_column_on_open(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE alarms(id INTEGER PRIMARY KEY, session INTEGER NOT NULL, time REAL NOT NULL,"
        " key TEXT NOT NULL, device TEXT, severity TEXT NOT NULL, state TEXT NOT NULL,"
        " text TEXT NOT NULL)"
    )
    conn.execute("INSERT INTO alarms VALUES(1, 1, 5.0, 'old', NULL, 'info', 'raised', 'then')")
    conn.commit()
    conn.close()
    journal = Journal(path, "line")
    await journal.open()
    board = AlarmBoard(journal.append)
    board.raise_("new", "now", 1.0)
    board.acknowledge("new", "ann", 2.0)
    await journal.barrier()
    await journal.close()
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT key, state, user FROM alarms ORDER BY id").fetchall()
    indexes = {r[1] for r in conn.execute("PRAGMA index_list(alarms)")}
    conn.close()
    assert rows == [
        ("old", "raised", None),
        ("new", "raised", None),
        ("new", "acknowledged", "ann"),
    ]
    assert "alarms_by_time" in indexes

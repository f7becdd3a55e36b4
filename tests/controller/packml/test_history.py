"""The line-state history: causes, de-duplication, the journal rows and the live line."""

from __future__ import annotations

import sqlite3

from controller.journal.writer import Journal
from controller.line.controller import LineController
from controller.packml.history import (
    ALIVE_EVERY_S,
    COMMAND_WINDOW_S,
    SCHEMA,
    Alive,
    LineStateChange,
    LineStates,
    fault_names,
)
from plc_configs.contract import PackMLState, PlcFault
from tests.controller.line.helpers import (
    finished,
    line_config,
    pointed_at,
    running,
    simulated_line,
    until,
)

S = PackMLState


def _tracker() -> tuple[LineStates, list[object]]:
    out: list[object] = []
    return LineStates(out.append, lambda: 0.0), out


def _rows(out: list[object]) -> list[tuple[float, str, str]]:
    return [(r.time, r.state, r.cause) for r in out if isinstance(r, LineStateChange)]


def test_a_change_soon_after_a_command_names_the_command_and_user():
    states, out = _tracker()
    states.on_plc_state(S.EXECUTE, 0, 1.0)
    states.on_command("stop", "alice", 100.0)
    states.on_plc_state(S.STOPPING, 0, 100.2)
    states.on_plc_state(S.STOPPED, 0, 100.0 + COMMAND_WINDOW_S)
    states.on_plc_state(S.RESETTING, 0, 100.0 + COMMAND_WINDOW_S + 0.1)
    assert _rows(out) == [
        (1.0, "Execute", "PLC"),
        (100.2, "Stopping", "stop by alice"),
        (100.0 + COMMAND_WINDOW_S, "Stopped", "stop by alice"),
        (100.0 + COMMAND_WINDOW_S + 0.1, "Resetting", "PLC"),
    ]


def test_an_unchanged_state_writes_nothing():
    states, out = _tracker()
    for t in range(5):
        states.on_plc_state(S.EXECUTE, 0, float(t))
    assert _rows(out) == [(0.0, "Execute", "PLC")]
    assert states.last == LineStateChange(0.0, "Execute", "PLC")


def test_faults_name_the_cause_unless_the_operator_stopped_the_line():
    states, out = _tracker()
    word = 1 << PlcFault.ESTOP | 1 << PlcFault.JAM
    states.on_command("start", "bob", 0.0)
    states.on_plc_state(S.ABORTING, word, 1.0)
    states.on_plc_state(S.ABORTED, word, 2.0)
    states.on_plc_state(S.CLEARING, word, 3.0)
    assert _rows(out) == [
        (1.0, "Aborting", "ESTOP + JAM"),
        (2.0, "Aborted", "ESTOP + JAM"),
        (3.0, "Clearing", "start by bob"),
    ]
    states.on_command("stop", "alice", 10.0)
    states.on_plc_state(S.STOPPED, 1 << PlcFault.HOST_HEARTBEAT_LOST, 11.0)
    assert _rows(out)[-1] == (11.0, "Stopped", "stop by alice")
    assert fault_names(1 << 9 | 1 << PlcFault.HOST_HEARTBEAT_LOST) == (
        "HOST_HEARTBEAT_LOST + fault bit 9"
    )


def test_a_link_loss_is_one_row_with_the_error_and_the_return_records_the_plc_state():
    states, out = _tracker()
    states.started(0.0)
    states.on_plc_state(S.EXECUTE, 0, 1.0)
    states.on_link_down("connection reset by peer", 2.0)
    states.on_link_down("cannot connect: refused", 3.0)
    states.on_plc_state(S.EXECUTE, 0, 4.0)
    states.stopped(5.0)
    assert _rows(out) == [
        (0.0, "Controller started", "controller started"),
        (1.0, "Execute", "PLC"),
        (2.0, "PLC link down", "connection reset by peer"),
        (4.0, "Execute", "PLC"),
        (5.0, "Controller stopped", "controller stopped"),
    ]


def test_tick_marks_the_session_alive_at_most_every_interval():
    states, out = _tracker()
    states.started(0.0)
    states.tick(ALIVE_EVERY_S - 1)
    states.tick(ALIVE_EVERY_S)
    states.tick(ALIVE_EVERY_S + 1)
    assert [r for r in out if isinstance(r, Alive)] == [Alive(ALIVE_EVERY_S)]


async def test_rows_reach_the_journal_in_wall_clock_time_with_the_last_seen_time(tmp_path):
    journal = Journal(tmp_path / "j.sqlite", "line", clock=lambda: 50.0)
    journal.add_schema(SCHEMA)
    await journal.open()
    states = LineStates(journal.append, journal.clock)
    states.started(50.0)
    states.on_command("stop", "alice", 60.0)
    states.on_plc_state(S.STOPPED, 0, 61.0)
    states.tick(100.0)
    await journal.close()
    conn = sqlite3.connect(journal.path)
    try:
        rows = conn.execute("SELECT session, time, state, cause FROM line_states").fetchall()
        alive = conn.execute("SELECT session, time FROM line_alive").fetchall()
    finally:
        conn.close()
    offset = journal.wall_offset
    assert [(s, round(t - offset, 6), st, c) for s, t, st, c in rows] == [
        (journal.session, 50.0, "Controller started", "controller started"),
        (journal.session, 61.0, "Stopped", "stop by alice"),
    ]
    assert [(s, round(t - offset, 6)) for s, t in alive] == [(journal.session, 100.0)]


def _history(path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT state, cause FROM line_states ORDER BY id").fetchall()
    finally:
        conn.close()


async def test_the_running_line_records_start_link_loss_return_and_stop(tmp_path):
    config = line_config(simulation={"parcels": 3})
    async with simulated_line(config, tmp_path) as sim:
        line = LineController(pointed_at(config, sim), tmp_path)
        async with running(line):
            await until(lambda: finished(line) == 3)
            assert line.line_states.last.state == "Execute"
            assert sim.plc.disconnect_clients() == 1
            await until(lambda: not line.plc.link.up, within=2)
            error = line.plc.link.last_error
            await until(lambda: line.plc.link.up and line.line_states.last.state == "Execute")
    history = _history(tmp_path / "journal.sqlite")
    assert history[0] == ("Controller started", "controller started")
    assert history[-1] == ("Controller stopped", "controller stopped")
    down = history.index(next(row for row in history if row[0] == "PLC link down"))
    assert error and history[down] == ("PLC link down", error)
    assert history[down - 1][0] == "Execute" and history[down + 1] == ("Execute", "PLC")

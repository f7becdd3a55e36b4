"""The line-state history: every PackML state change, PLC link loss and controller start/stop.

Each change is one row of the journal's ``line_states`` table with its cause:

* the PLC's fault names (``"ESTOP + JAM"``) when the line stops, holds or aborts with
  fault bits set, unless an operator asked for that just before (stop, abort, hold …);
* ``"<command> by <user>"`` for a change within :data:`COMMAND_WINDOW_S` of an operator
  command (``"stop by alice"``);
* the link's last error for ``"PLC link down"``;
* ``"PLC"`` otherwise (the PLC changed state on its own).

The tracker only puts records on the journal's queue: every method is O(1) and safe
to call from the PLC poll loop. ``line_alive`` holds, per session, the last time the
controller was known to run (refreshed every :data:`ALIVE_EVERY_S`), so a shift report
can tell when a crashed controller stopped.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from controller.packml.commands import state_name
from plc_configs.contract import PackMLState, PlcFault

SCHEMA = """
CREATE TABLE IF NOT EXISTS line_states(
    id INTEGER PRIMARY KEY, session INTEGER NOT NULL, time REAL NOT NULL,
    state TEXT NOT NULL, cause TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS line_states_by_time ON line_states(time);
CREATE TABLE IF NOT EXISTS line_alive(session INTEGER PRIMARY KEY, time REAL NOT NULL);
"""

EXECUTE = state_name(PackMLState.EXECUTE)
LINK_DOWN = "PLC link down"
CONTROLLER_STARTED = "Controller started"
CONTROLLER_STOPPED = "Controller stopped"
COMMAND_WINDOW_S = 10.0
ALIVE_EVERY_S = 30.0

_FAULT_STATES = frozenset(
    {
        PackMLState.STOPPING,
        PackMLState.STOPPED,
        PackMLState.HOLDING,
        PackMLState.HELD,
        PackMLState.ABORTING,
        PackMLState.ABORTED,
    }
)


#: Commands that stop, hold or abort the line themselves: their states are not the faults'.
_STOPS = frozenset({"stop", "abort", "hold", "suspend", "clear"})


def fault_names(fault_word: int) -> str:
    """The names of the set fault bits (``"ESTOP + JAM"``), unknown bits as ``"fault bit N"``."""
    names = []
    for bit in range(fault_word.bit_length()):
        if fault_word & (1 << bit):
            try:
                names.append(PlcFault(bit).name)
            except ValueError:
                names.append(f"fault bit {bit}")
    return " + ".join(names)


def _alive(conn: sqlite3.Connection, session: int, wall: float) -> None:
    conn.execute(
        "INSERT INTO line_alive(session, time) VALUES(?, ?) ON CONFLICT(session) DO UPDATE"
        " SET time = max(time, excluded.time)",
        (session, wall),
    )


@dataclass(frozen=True, slots=True)
class LineStateChange:
    """The line entered ``state`` at ``time`` (controller clock) because of ``cause``."""

    time: float
    state: str
    cause: str

    def write_to(self, conn: sqlite3.Connection, session: int, wall_offset: float) -> bool:
        """Insert the row (journal writer thread); never adds upstream events."""
        wall = self.time + wall_offset
        conn.execute(
            "INSERT INTO line_states(session, time, state, cause) VALUES(?, ?, ?, ?)",
            (session, wall, self.state, self.cause),
        )
        _alive(conn, session, wall)
        return False


@dataclass(frozen=True, slots=True)
class Alive:
    """The controller still runs at ``time`` (controller clock)."""

    time: float

    def write_to(self, conn: sqlite3.Connection, session: int, wall_offset: float) -> bool:
        """Move the session's last-seen time forward; never adds upstream events."""
        _alive(conn, session, self.time + wall_offset)
        return False


class LineStates:
    """Turns PLC status, link changes and operator commands into line-state rows."""

    def __init__(
        self, append: Callable[[LineStateChange | Alive], None], clock: Callable[[], float]
    ):
        self._append = append
        self.clock = clock
        self.last: LineStateChange | None = None
        """The latest change recorded (the line's state as the history shows it)."""
        self._command: tuple[str, str, float] | None = None
        self._alive_at = float("-inf")

    def _record(self, state: str, cause: str, now: float) -> None:
        self.last = LineStateChange(now, state, cause)
        self._append(self.last)
        self._alive_at = now

    def on_command(self, command: str, user: str, now: float) -> None:
        """An operator command was sent: state changes in the next seconds are its doing."""
        self._command = (command, user, now)

    def on_plc_state(self, state: PackMLState, fault_word: int, now: float) -> None:
        """The PLC's status (every poll): records a row when the state differs from the last."""
        name = state_name(state)
        if self.last is not None and self.last.state == name:
            return
        command = self._command
        if command is not None and now - command[2] > COMMAND_WINDOW_S:
            command = None
        if fault_word and state in _FAULT_STATES and not (command and command[0] in _STOPS):
            cause = fault_names(fault_word)
        elif command is not None:
            cause = f"{command[0]} by {command[1]}"
        else:
            cause = "PLC"
        self._record(name, cause, now)

    def on_link_down(self, error: str | None, now: float) -> None:
        """The PLC link failed (or could not connect); the next status records the return."""
        if self.last is None or self.last.state != LINK_DOWN:
            self._record(LINK_DOWN, error or "link lost", now)

    def started(self, now: float) -> None:
        """The controller started (a new journal session)."""
        self._record(CONTROLLER_STARTED, "controller started", now)

    def stopped(self, now: float) -> None:
        """The controller stops cleanly."""
        self._record(CONTROLLER_STOPPED, "controller stopped", now)

    def tick(self, now: float) -> None:
        """Refresh the session's last-seen time when it is older than :data:`ALIVE_EVERY_S`."""
        if now - self._alive_at >= ALIVE_EVERY_S:
            self._alive_at = now
            self._append(Alive(now))

    async def run(self) -> None:
        """Call :meth:`tick` until cancelled."""
        while True:
            await asyncio.sleep(ALIVE_EVERY_S / 3)
            self.tick(self.clock())

"""The simulated PLC's PackML state machine (ISA-TR88 numbers from ``plc_configs.contract``).

Pure: the caller passes the time. Supported commands (others are invalid and ignored):

* Reset: Stopped/Complete -> Resetting -> Idle
* Start: Idle -> Starting -> Execute
* Stop: Idle/Execute/Held/Suspended/Starting/Resetting -> Stopping -> Stopped
* Abort: any -> Aborting -> Aborted
* Clear: Aborted -> Clearing -> Stopped
* Hold: Execute -> Holding -> Held; Unhold: Held -> Unholding -> Execute

Transitional states last ``transition_s``.
"""

from __future__ import annotations

import math

from plc_configs.contract import PackMLCommand, PackMLState

S = PackMLState
C = PackMLCommand

#: command -> (states it is valid in, transitional state, final state)
TRANSITIONS: dict[PackMLCommand, tuple[frozenset[PackMLState], PackMLState, PackMLState]] = {
    C.RESET: (frozenset({S.STOPPED, S.COMPLETE}), S.RESETTING, S.IDLE),
    C.START: (frozenset({S.IDLE}), S.STARTING, S.EXECUTE),
    C.STOP: (
        frozenset({S.IDLE, S.EXECUTE, S.HELD, S.SUSPENDED, S.STARTING, S.RESETTING}),
        S.STOPPING,
        S.STOPPED,
    ),
    C.ABORT: (frozenset(S) - {S.ABORTING, S.ABORTED}, S.ABORTING, S.ABORTED),
    C.CLEAR: (frozenset({S.ABORTED}), S.CLEARING, S.STOPPED),
    C.HOLD: (frozenset({S.EXECUTE}), S.HOLDING, S.HELD),
    C.UNHOLD: (frozenset({S.HELD}), S.UNHOLDING, S.EXECUTE),
}

START_STATES = {"stopped": S.STOPPED, "idle": S.IDLE, "execute": S.EXECUTE}


class PackMLMachine:
    """State, pending transition and a counter of refused commands."""

    def __init__(self, start: PackMLState, transition_s: float):
        self.state = start
        self.transition_s = transition_s
        self._final: PackMLState | None = None
        self._done_at = 0.0
        self.invalid_commands = 0

    def command(self, code: int, now_s: float) -> bool:
        """Apply a ``CntrlCmd`` code; return False (and count it) if it is not valid now."""
        try:
            cmd = PackMLCommand(code)
        except ValueError:
            self.invalid_commands += 1
            return False
        rule = TRANSITIONS.get(cmd)
        if rule is None or self.state not in rule[0]:
            self.invalid_commands += 1
            return False
        _, transitional, final = rule
        self.state = transitional
        self._final = final
        self._done_at = now_s + self.transition_s
        return True

    def step(self, now_s: float) -> PackMLState:
        """Finish a transitional state whose time is up; return the current state."""
        if self._final is not None and now_s >= self._done_at:
            self.state = self._final
            self._final = None
        return self.state

    @property
    def due_s(self) -> float:
        """When the pending transition ends (``inf`` when none is pending)."""
        return self._done_at if self._final is not None else math.inf

    @property
    def executing(self) -> bool:
        """True in Execute: the conveyor runs and parcels are inducted."""
        return self.state is PackMLState.EXECUTE

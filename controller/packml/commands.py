"""PackML on the controller side: which commands make sense in which state.

The PLC runs the state machine; the controller only refuses a command that the
PLC would ignore, with a message that says what to do instead.
"""

from __future__ import annotations

from plc_configs.contract import PackMLCommand, PackMLState

S, C = PackMLState, PackMLCommand

ALLOWED: dict[PackMLCommand, frozenset[PackMLState]] = {
    C.RESET: frozenset({S.STOPPED, S.COMPLETE}),
    C.START: frozenset({S.IDLE}),
    C.STOP: frozenset(
        {
            S.IDLE,
            S.STARTING,
            S.EXECUTE,
            S.RESETTING,
            S.HELD,
            S.HOLDING,
            S.UNHOLDING,
            S.SUSPENDED,
            S.SUSPENDING,
            S.UNSUSPENDING,
            S.COMPLETING,
            S.COMPLETE,
        }
    ),
    C.HOLD: frozenset({S.EXECUTE}),
    C.UNHOLD: frozenset({S.HELD}),
    C.SUSPEND: frozenset({S.EXECUTE}),
    C.UNSUSPEND: frozenset({S.SUSPENDED}),
    C.ABORT: frozenset(s for s in S if s not in {S.ABORTING, S.ABORTED}),
    C.CLEAR: frozenset({S.ABORTED}),
    C.COMPLETE: frozenset({S.EXECUTE}),
}

HINTS = {
    C.START: "Start needs Idle: send Reset first if the line is Stopped",
    C.RESET: "Reset needs Stopped: send Stop first, or Clear if Aborted",
    C.CLEAR: "Clear is for an Aborted line",
}


def check_command(command: PackMLCommand, state: PackMLState) -> str | None:
    """None if ``command`` is allowed in ``state``, else why not (in plain words)."""
    if state in ALLOWED[command]:
        return None
    hint = HINTS.get(command, "")
    why = f"{command.name.title()} is not possible while the line is {state.name.title()}"
    return f"{why}. {hint}".strip() if hint else why


def state_name(state: PackMLState) -> str:
    """Display name of a PackML state (``Execute``)."""
    return state.name.title()

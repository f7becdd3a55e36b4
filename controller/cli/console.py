"""The operator console of ``lanesort run``: line commands typed on standard input.

Until the web HMI and the REST API exist, this is how an integrator commissioning a
line starts, stops and resets it and takes a chute out of service::

    start | stop | reset | abort | clear      PackML commands to the PLC
    disable N | enable N                      take chute N out of service / back
    status                                    one line: state, counters, alarms
    alarms                                    the active alarms
    help

Each answer is one line on standard output; a refused command says why.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import Callable

from controller.errors import CommandRefused
from controller.line import LineController
from plc_configs.contract import PackMLCommand

_PACKML = {
    "start": PackMLCommand.START,
    "stop": PackMLCommand.STOP,
    "reset": PackMLCommand.RESET,
    "abort": PackMLCommand.ABORT,
    "clear": PackMLCommand.CLEAR,
}
HELP = "commands: start, stop, reset, abort, clear, disable N, enable N, status, alarms, help"


def status_line(line: LineController) -> str:
    """State, counters and alarm count in one line."""
    snap = line.snapshot()
    c = snap.counts
    state = snap.packml_state.name if snap.packml_state else "unknown (PLC not connected)"
    return (
        f"state {state}; inducted {c['inducted']} sorted {c['sorted']} rejected "
        f"{c['rejected']} lost {c['lost']}; on belt {snap.on_belt}; "
        f"disabled chutes {sorted(snap.chute_disabled) or '-'}; alarms {len(snap.alarms)}"
    )


def execute(line: LineController, text: str) -> str:
    """Run one console command and return the answer line."""
    words = text.strip().lower().split()
    if not words:
        return ""
    verb, args = words[0], words[1:]
    try:
        if verb in _PACKML and not args:
            line.command(_PACKML[verb])
            return f"ok: {verb} sent to the PLC"
        if verb in ("disable", "enable") and len(args) == 1:
            if not args[0].isdigit():
                return f"refused: {verb} needs a chute number, got {args[0]!r}"
            line.set_chute_enabled(int(args[0]), enabled=verb == "enable")
            return f"ok: chute {args[0]} {verb}d"
        if verb == "status":
            return status_line(line)
        if verb == "alarms":
            alarms = line.alarms.active()
            if not alarms:
                return "no active alarms"
            return " | ".join(f"{a.severity.value}: {a.text} (x{a.count})" for a in alarms)
        if verb == "help":
            return HELP
    except CommandRefused as err:
        return f"refused: {err}"
    return f"unknown command {text.strip()!r}; {HELP}"


def _stdin_is_interactive() -> bool:
    """True for a terminal, a pipe or a socket on standard input.

    uvloop aborts the process when asked to read /dev/null as a pipe, so anything
    else (a service's /dev/null, a file) gets no console.
    """
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return sys.stdin.isatty() or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _print(text: str) -> None:
    print(text, flush=True)


async def run_console(line: LineController, write: Callable[[str], None] = _print) -> None:
    """Read commands from standard input until end of file or until cancelled (a stop).

    The loop reads a duplicate of the descriptor, made non-blocking; closing it leaves
    standard input open, and its blocking mode is put back (a terminal shared with the
    shell would otherwise stay non-blocking after the controller exits).
    """
    if not _stdin_is_interactive():
        return  # /dev/null or a file (a service): no console
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    try:
        fd = sys.stdin.fileno()
        was_blocking = os.get_blocking(fd)
        pipe = os.fdopen(os.dup(fd), "rb", buffering=0)
    except (OSError, ValueError):
        return  # no usable standard input (a daemon): no console
    try:
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), pipe
        )
    except (OSError, ValueError):
        pipe.close()
        os.set_blocking(fd, was_blocking)
        return
    try:
        write(HELP)
        while raw := await reader.readline():
            answer = execute(line, raw.decode(errors="replace"))
            if answer:
                write(answer)
    finally:
        transport.close()
        os.set_blocking(fd, was_blocking)

"""A child process of the demo: started, awaited until it prints its JSON ready line, stopped.

The simulators print ``{"event": "ready", ...}`` on stdout once they listen; their
logs go to a file, whose tail is shown if they fail to start.

A child never outlives the demo: it is started with ``--parent-pid <this pid>`` and then
asks the kernel for SIGTERM when this process dies, even by SIGKILL (Linux
``PR_SET_PDEATHSIG``), and also stops when its parent changes (``simulators.parent``).
The death signal follows the thread that started the child: children are started from
the event loop's thread, which lives as long as the process.

The stand-ins for the world upstream (the TMS, the vehicles) run at
:data:`STAND_IN_NICE` (through ``nice``, so their pid is the one started): they never take
the CPU from a controller while it answers its PLC. The device simulator runs at the
demo's own niceness: it *is* the PLC of that answer (the answer counts as written when
the PLC has acknowledged the write), and a real PLC does not wait for the host's CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from pathlib import Path
from typing import Any

from controller.errors import ControllerError

STAND_IN_NICE = 10
"""The niceness of the demo's TMS and vehicle simulators: the kernel gives a controller
at 0 about nine times their share of a busy core, and a controller that wakes takes the
core from them at once."""


def niced(args: list[str], nice: int) -> list[str]:
    """``args`` run at niceness ``nice`` through ``nice`` (which execs them: same pid)."""
    return ["nice", "-n", str(nice), *args] if nice else list(args)


class ChildProcess:
    """One child process with its log file."""

    def __init__(self, name: str, log_path: Path, nice: int = STAND_IN_NICE):
        """``nice``: the child's niceness (0: the demo's own)."""
        self.name = name
        self.log_path = log_path
        self.nice = nice
        self.proc: asyncio.subprocess.Process | None = None

    async def start(
        self, args: list[str], timeout_s: float = 60.0, env: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Start ``args`` (with ``--parent-pid``) and return its ready message; ControllerError
        with its log if not. Cancelled while it starts, the child is stopped first."""
        with self.log_path.open("wb") as log_file:
            self.proc = await asyncio.create_subprocess_exec(
                *niced(args, self.nice),
                "--parent-pid",
                str(os.getpid()),
                stdout=asyncio.subprocess.PIPE,
                stderr=log_file,
                stdin=asyncio.subprocess.DEVNULL,
                env=env,
            )
        assert self.proc.stdout is not None
        try:
            async with asyncio.timeout(timeout_s):
                line = await self.proc.stdout.readline()
            message = json.loads(line) if line else {}
        except (TimeoutError, json.JSONDecodeError):
            message = {}
        except asyncio.CancelledError:
            await self.stop()
            raise
        if not isinstance(message, dict) or message.get("event") != "ready":
            await self.stop()
            tail = self.log_path.read_text(errors="replace").strip().splitlines()[-8:]
            raise ControllerError(
                f"the {self.name} did not start (see {self.log_path}):\n  " + "\n  ".join(tail)
            )
        return message

    async def lines(self) -> Any:
        """The process's further stdout lines, as JSON objects (others are skipped)."""
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            with contextlib.suppress(json.JSONDecodeError):
                yield json.loads(line)

    async def stop(self, grace_s: float = 10.0) -> int | None:
        """SIGTERM, then wait; kill after ``grace_s``. The exit code (None if never started)."""
        proc = self.proc
        if proc is None:
            return None
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(grace_s):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
        return proc.returncode

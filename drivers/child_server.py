"""A server program of our own (Mosquitto, PostgreSQL) run as a child process.

What the demo's, the tests' and the benchmarks' servers share: a temporary directory, a
child that never outlives us (the kernel sends it SIGTERM when the thread that started it
dies, even by SIGKILL: Linux ``PR_SET_PDEATHSIG``, set between fork and exec), and the
same stop, kill, restart and close. Subclasses write their config and :meth:`start`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Self

PR_SET_PDEATHSIG = 1
"""``<linux/prctl.h>``: the signal a process gets when the thread that started it ends."""


def die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Between fork and exec: SIGTERM when the parent (thread) dies. Call it after any
    change of user (``setuid`` clears the death signal)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGTERM), 0, 0, 0)


class ChildServer:
    """One server process in a temporary directory; :meth:`start` is the subclass's."""

    stop_signal: signal.Signals = signal.SIGTERM
    """What :meth:`stop` sends first (its clean shutdown)."""
    nice: int = 0
    """The server's niceness (the site demo runs its store and broker below the lines)."""

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def _child_setup(self) -> None:  # pragma: no cover - runs in the child before exec
        """Between fork and exec: die with the parent, at :attr:`nice`."""
        die_with_parent()
        if self.nice:
            os.nice(self.nice)

    @property
    def directory(self) -> Path | None:
        """The temporary directory (config, data, logs); None before the first start."""
        return self._dir

    @property
    def running(self) -> bool:
        """True while the process runs."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The process id while it runs."""
        return self._proc.pid if self.running and self._proc else None

    def start(self) -> None:
        """Start the server and wait until it serves."""
        raise NotImplementedError

    def stop(self, timeout_s: float = 5.0) -> None:
        """Its clean shutdown (:attr:`stop_signal`) and wait; SIGKILL after ``timeout_s``."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(self.stop_signal)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL, as a crash would (for fault tests)."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)

    def restart(self) -> None:
        """Stop and start again on the same directory and port."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop and remove the directory."""
        self.stop()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

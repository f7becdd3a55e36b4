"""A command run as a child process whose output a test waits on, line by line.

A thread per stream collects stdout and stderr as they come, so a test waits for what
the process says (its ready line, a log line) instead of sleeping a fixed time, and
never blocks on a full pipe. :class:`Processes` kills whatever a test started and left
running (a failed test leaves nothing behind). Also: the pids of a process's children
and whether a pid still runs, from ``/proc`` (Linux).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any


class WatchedProcess:
    """``argv`` as a child process; its stdout (``out``) and stderr (``err``) collected."""

    def __init__(
        self,
        argv: Sequence[str],
        cwd: Path,
        stdin: int | None = subprocess.DEVNULL,
        env: dict[str, str] | None = None,
    ):
        self.proc = subprocess.Popen(
            list(argv),
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env=env,
        )
        self._text = {"out": "", "err": ""}
        self._open = 2
        self._changed = threading.Condition()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [
            threading.Thread(target=self._collect, args=(name, stream), daemon=True)
            for name, stream in (("out", self.proc.stdout), ("err", self.proc.stderr))
        ]
        for reader in self._readers:
            reader.start()

    def _collect(self, name: str, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self._text[name] += line
                self._changed.notify_all()
        with self._changed:
            self._open -= 1
            self._changed.notify_all()

    @property
    def out(self) -> str:
        """Standard output so far."""
        with self._changed:
            return self._text["out"]

    @property
    def err(self) -> str:
        """Standard error so far."""
        with self._changed:
            return self._text["err"]

    def wait_for(
        self, ready: Callable[[WatchedProcess], bool], what: str, timeout_s: float = 90
    ) -> None:
        """Wait until ``ready(self)`` (checked on every new line); fail naming ``what`` when the
        process closed its output first or ``timeout_s`` passed."""
        with self._changed:
            self._changed.wait_for(lambda: self._open == 0 or ready(self), timeout_s)
            if ready(self):
                return
        state = "closed its output" if self._open == 0 else f"not within {timeout_s} s"
        raise AssertionError(
            f"waiting for {what}: {state}\n--- stdout\n{self.out[-3000:]}\n"
            f"--- stderr\n{self.err[-3000:]}"
        )

    def wait_for_line(self, pattern: str, stream: str = "out", timeout_s: float = 90) -> re.Match:
        """The first match of ``pattern`` in ``stream`` (``out`` or ``err``), once it is there."""
        self.wait_for(
            lambda p: re.search(pattern, getattr(p, stream)) is not None, pattern, timeout_s
        )
        match = re.search(pattern, getattr(self, stream))
        assert match is not None
        return match

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 60) -> int:
        """Send ``sig``, wait for the exit (SIGKILL after ``timeout_s``); the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout_s)

    def wait(self, timeout_s: float = 60) -> int:
        """Wait for the exit and the end of its output (SIGKILL after ``timeout_s``)."""
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise
        finally:
            for reader in self._readers:
                reader.join(10)
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        return self.proc.returncode


class Processes:
    """The processes one test started, and the pids it saw them start; :meth:`close` kills
    every one still running."""

    def __init__(self) -> None:
        self._started: list[WatchedProcess] = []
        self._pids: set[int] = set()

    def start(
        self, argv: Sequence[str], cwd: Path, stdin: int | None = subprocess.DEVNULL
    ) -> WatchedProcess:
        """Start ``argv`` as a :class:`WatchedProcess`."""
        process = WatchedProcess(argv, cwd, stdin)
        self._started.append(process)
        return process

    def track(self, pids: Iterable[int]) -> None:
        """Kill these too if they still run at the end (children that may outlive their parent)."""
        self._pids.update(pids)

    def close(self) -> None:
        """SIGKILL to every process still running (children first)."""
        for process in self._started:
            if process.proc.poll() is None:
                self._pids.update(children(process.proc.pid))
        for pid in self._pids:
            if running(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        for process in self._started:
            if process.proc.poll() is None:
                process.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)


def children(pid: int) -> dict[int, str]:
    """The running children of ``pid``: pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry.name)] = cmdline.strip()
    return found


def running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (an exited child nobody reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def until(predicate: Callable[[], Any], what: str, timeout_s: float = 30) -> float:
    """Poll ``predicate`` (every 20 ms) until true; the seconds it took. Fails naming ``what``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - started


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when a server can listen on ``port`` (as the simulators and the API do, with
    SO_REUSEADDR): nothing listens there any more."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            sock.listen(1)
        except OSError:
            return False
    return True

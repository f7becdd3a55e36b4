"""A pseudo-terminal standing in for a serial port, reachable at a symlink.

The master side stays with the simulator (raw mode, non-blocking, read by the event
loop); the slave's name (``/dev/pts/N``) is published as a symlink at the configured
path, so a driver opens the path as if it were ``/dev/ttyUSB0``. A stale symlink at the
path is replaced; anything else there (a real device, a file) is left alone and is an
error. The symlink is removed on close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import termios
import time
import tty
from pathlib import Path

log = logging.getLogger(__name__)


class PtyPort:
    """The master end of a pty, with the slave published at ``path``."""

    def __init__(self, path: Path, *, blackout_s: float = 1.0):
        self.path = path
        self.blackout_s = blackout_s
        self.master: int | None = None
        self.slave: int | None = None
        self.slave_name = ""
        self.reader = asyncio.StreamReader()
        self._muted_until = 0.0
        self.dropped_bytes = 0

    def open(self) -> None:
        """Create the pty, publish the symlink and start reading (needs a running loop)."""
        if self.path.exists() and not self.path.is_symlink():
            raise FileExistsError(f"{self.path} exists and is not a symlink: not replacing it")
        master, slave = os.openpty()
        # Keep our own slave fd open: the pty lives on while clients come and go.
        tty.setraw(master)
        tty.setraw(slave)
        os.set_blocking(master, False)
        self.master, self.slave = master, slave
        self.slave_name = os.ttyname(slave)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(self.slave_name)
        os.replace(tmp, self.path)
        asyncio.get_running_loop().add_reader(master, self._readable)
        log.info("pty %s -> %s", self.path, self.slave_name)

    def _readable(self) -> None:
        assert self.master is not None
        try:
            data = os.read(self.master, 4096)
        except BlockingIOError:
            return
        except OSError as err:
            log.debug("pty %s read: %s", self.path, err)
            return
        if data and not self.muted():
            self.reader.feed_data(data)

    def muted(self) -> bool:
        """True while the device plays dead after a ``disconnect`` fault."""
        return time.monotonic() < self._muted_until

    def write(self, data: bytes) -> None:
        """Write to the host; while muted nothing goes out. A full buffer drops stale input."""
        if self.master is None or self.muted():
            return
        view = memoryview(data)
        flushed = False
        while view:
            try:
                view = view[os.write(self.master, view) :]
            except BlockingIOError:
                if flushed or self.slave is None:
                    self.dropped_bytes += len(view)
                    return
                # Nobody reads the port: throw away what piled up, as a UART overrun would.
                termios.tcflush(self.slave, termios.TCIFLUSH)
                flushed = True
            except OSError as err:
                log.debug("pty %s write: %s", self.path, err)
                return

    async def drain(self) -> None:
        """Nothing to wait for: writes are immediate (or dropped)."""

    def drop(self) -> None:
        """A pty cannot be unplugged: stop answering for ``blackout_s``."""
        self._muted_until = time.monotonic() + self.blackout_s

    def close(self) -> None:
        """Stop reading, close the pty and remove the symlink (if it is still ours)."""
        if self.master is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self.master)
            os.close(self.master)
            self.master = None
        if self.slave is not None:
            os.close(self.slave)
            self.slave = None
        with contextlib.suppress(OSError):
            if self.path.is_symlink() and os.readlink(self.path) == self.slave_name:
                self.path.unlink()
        self.reader.feed_eof()

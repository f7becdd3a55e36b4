"""The deliverer's database access: one SQLite connection used by one worker thread.

Every query runs off the event loop, one at a time, in the order it was asked
for; a caller that is cancelled never leaves a query running on a connection
that is being closed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from controller.upstream import outbox
from drivers.os_thread import name_os_thread

T = TypeVar("T")


class _Worker:
    """One SQLite connection and the one thread that uses it."""

    def __init__(self, path: Path):
        self.path = path
        self.executor = ThreadPoolExecutor(
            1, thread_name_prefix="upstream-db", initializer=name_os_thread
        )
        self.conn: sqlite3.Connection | None = None

    def run(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        if self.conn is None:
            self.conn = outbox.connect(self.path)
        return fn(self.conn, *args)

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()


class OutboxStore:
    """The deliverer's database access: every query in one worker thread, off the loop.

    The connection opens on first use; :meth:`close` closes it after every query
    queued before it has finished (a cancelled caller never leaves a query running
    against a closed connection).
    """

    def __init__(self, path: Path):
        self.path = path
        self._worker: _Worker | None = None

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(connection, *args)`` in the worker thread."""
        if self._worker is None:
            self._worker = _Worker(self.path)
        worker = self._worker
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(worker.executor, worker.run, fn, args)

    async def close(self) -> None:
        """Close the connection and stop the worker thread."""
        worker, self._worker = self._worker, None
        if worker is None:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(worker.executor, worker.close)
        finally:
            worker.executor.shutdown(wait=False)

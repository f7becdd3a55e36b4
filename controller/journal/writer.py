"""The journal: every parcel event and alarm in SQLite (WAL), written off the event loop.

The event loop only gathers records (:meth:`Journal.append`): what it appends within
``COMMIT_WINDOW_S`` goes to the writer thread as one batch, which commits it in one
transaction. The thread wakes once a window, not once a record: a wake-up per record
cost a thread switch and a hand-over of the interpreter lock each (futex storms), and
took the lock from the loop while it was answering a request. :meth:`Journal.barrier`
resolves once everything appended before it is committed. The PLC link, which reads
the PLC anyway, asks instead whether a :meth:`Journal.mark` is committed
(:meth:`Journal.is_committed`) and acknowledges ring entries only then, so a crash never
loses a confirmation the PLC considers delivered. A mark costs the loop nothing: each
barrier's release is a call into the loop from the writer thread (1.9 a parcel at
150,000/h when the acknowledgements used them), a wake-up whenever the loop is idle.

A partial unique index makes the database itself refuse a second terminal
event for a parcel. If the disk fails, the batch is kept and retried.

Tables: ``sessions`` (one row per controller start), ``events`` (every parcel
event), ``parcels`` (latest state per parcel), ``alarms``, and ``outbox`` (the
upstream events, see :mod:`controller.upstream.outbox`), whose rows commit in the
same transaction as the parcel events they report. Times are stored as
wall-clock seconds since the epoch: the controller's (monotonic) clock plus the
offset measured when the journal opened.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from controller.errors import JournalError
from controller.journal.schema import (
    UPSERT_MEASURED_PARCEL,
    UPSERT_PARCEL,
    create_or_migrate,
)
from controller.parcels.state import ParcelEvent
from controller.upstream import outbox
from drivers.os_thread import name_os_thread
from plc_configs.integration import EVENT_TYPES

log = logging.getLogger(__name__)

COMMIT_WINDOW_S = 0.04
"""Records appended this long after the first of a batch commit with it: at most about
25 commits a second, whatever the rate. A commit's cost is mostly per commit, not per
record (the pages it touched go to the WAL whole, and the thread wakes once): replaying
a demo's 150,000/h journal (``benchmarks/journal_writer.py``), the writer used 0.32 ms of
CPU a parcel with this window and 0.41 ms with 20 ms; in the running line, 0.50-0.56 ms
against 0.67-0.70 ms. Events reach the webhooks, MQTT and the site store up to this much
later. A :meth:`Journal.mark` (the PLC's ring acknowledgements) is committed with its
window: the rings hold 16 entries, hundreds of ms at any rate the belt carries; a barrier
(someone reads what was just written) ends the window at once."""


@runtime_checkable
class JournalRecord(Protocol):
    """A record of another module's table (containers, audit, line states …).

    The module owns its table: it passes its ``CREATE`` statements to
    :meth:`Journal.add_schema` before the journal opens and writes its row itself,
    inside the writer's transaction.
    """

    def write_to(self, conn: sqlite3.Connection, session: int, wall_offset: float) -> bool:
        """Insert the record; True when it added outbox rows (upstream events)."""
        ...


@dataclass(frozen=True, slots=True)
class AlarmRecord:
    """An alarm raised, cleared, acknowledged, shelved or unshelved (``user``: who did it)."""

    time: float
    key: str
    device: str | None
    severity: str
    state: str
    text: str
    user: str | None = None


class _Barrier:
    __slots__ = ("future", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]):
        self.loop = loop
        self.future = future

    def release(self) -> None:
        def _set() -> None:
            if not self.future.done():
                self.future.set_result(None)

        self.loop.call_soon_threadsafe(_set)


_STOP = object()


class Journal:
    """Append-only journal in one SQLite file, with a writer thread."""

    def __init__(
        self,
        path: str | Path,
        line_name: str,
        config_text: str = "",
        clock: Callable[[], float] = time.monotonic,
        upstream_events: Collection[str] = EVENT_TYPES,
        on_commit: Callable[[], None] | None = None,
    ):
        """``upstream_events``: the event types put in the outbox; ``on_commit`` is called
        from the writer thread after a commit that added outbox rows."""
        self.path = Path(path)
        self.clock = clock
        self.wall_offset = 0.0
        """Added to the controller clock's times to give the wall-clock time (epoch s)."""
        self.line_name = line_name
        self.config_text = config_text
        self.session = 0
        self.upstream_events = frozenset(upstream_events)
        self.on_commit = on_commit
        self.commit_listeners: list[Callable[[], None]] = []
        """Called from the writer thread after every committed batch (once per batch, not
        per record): the site relay's wake-up. Each must be quick and must not block."""
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        """To the writer: records from other threads one by one, the loop's as lists."""
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._gathered: list[object] = []
        """Records the loop appended in the current window (handed over by _hand_over)."""
        self._hand_over_at: asyncio.TimerHandle | None = None
        self._handed_over = 0
        """Batches the loop handed to the writer so far (numbered 1, 2, …)."""
        self._committed_batches = 0
        """Of those, how many are committed (written by the writer thread only)."""
        self.written = 0
        self.duplicate_terminals = 0
        self.last_error: str | None = None
        self._schemas: list[str] = []
        self._memo = outbox.OutboxMemo()
        """The writer's knowledge of the outbox (its thread only)."""

    def add_schema(self, sql: str) -> None:
        """Another module's ``CREATE … IF NOT EXISTS`` statements, run when the journal opens."""
        if self._thread is not None:
            raise RuntimeError("add_schema() must be called before open()")
        self._schemas.append(sql)

    async def open(self) -> None:
        """Create the file and schema (in a thread), start a session and the writer."""
        try:
            conn = await asyncio.to_thread(self._connect)
        except (sqlite3.Error, OSError) as err:
            raise JournalError(f"{self.path}: cannot open the journal: {err}") from err
        self._loop, self._loop_thread = asyncio.get_running_loop(), threading.get_ident()
        self._thread = threading.Thread(
            target=self._run, args=(conn,), name="journal-writer", daemon=True
        )
        self._thread.start()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        create_or_migrate(conn, [outbox.SCHEMA, *self._schemas])
        cur = conn.execute(
            "INSERT INTO sessions(started, line, config) VALUES(?, ?, ?)",
            (time.time(), self.line_name, self.config_text),
        )
        self.session = int(cur.lastrowid or 0)
        self.wall_offset = time.time() - self.clock()
        return conn

    def append(self, record: ParcelEvent | AlarmRecord | JournalRecord) -> None:
        """Queue a record; never blocks.

        On the journal's event loop the record joins the current window's batch; from
        another thread (or before :meth:`open`) it goes to the writer at once.
        """
        if self._loop_thread == threading.get_ident():
            self._gather(record)
        else:
            self._queue.put(record)

    def extend(self, records: list[ParcelEvent]) -> None:
        """Queue several records; never blocks."""
        if not records:
            return
        if self._loop_thread == threading.get_ident():
            self._gather(*records)
        else:
            for record in records:
                self._queue.put(record)

    def barrier(self) -> asyncio.Future[None]:
        """A future that resolves when everything queued so far is committed.

        The window's batch is handed over at once (someone is about to read it).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        barrier = _Barrier(loop, future)
        if self._loop is loop and self._loop_thread == threading.get_ident():
            self._gather(barrier)
            self._hand_over()
        else:
            self._queue.put(barrier)
        return future

    def mark(self) -> int:
        """A mark of what the loop appended so far, for :meth:`is_committed` (loop only).

        Unlike a barrier it ends no window and wakes nothing: it is committed with the
        window's batch, at most ``COMMIT_WINDOW_S`` later, and whoever holds it asks.
        """
        if self._loop_thread != threading.get_ident():
            raise RuntimeError("Journal.mark() is for the journal's event loop, once open")
        return self._handed_over + (1 if self._gathered else 0)

    def is_committed(self, mark: int) -> bool:
        """True once everything appended before :meth:`mark` gave ``mark`` is committed."""
        return self._committed_batches >= mark

    def _gather(self, *records: object) -> None:
        self._gathered.extend(records)
        if self._hand_over_at is None and self._loop is not None:
            self._hand_over_at = self._loop.call_later(COMMIT_WINDOW_S, self._hand_over)

    def _hand_over(self) -> None:
        """Give the window's batch to the writer (one wake-up of its thread)."""
        if self._hand_over_at is not None:
            self._hand_over_at.cancel()
            self._hand_over_at = None
        if self._gathered:
            batch, self._gathered = self._gathered, []
            self._handed_over += 1
            self._queue.put(batch)

    async def committed(self) -> None:
        """Return once everything queued so far is committed (at once when not open)."""
        if self._thread is not None:
            await self.barrier()

    @property
    def is_open(self) -> bool:
        """True between :meth:`open` and :meth:`close`."""
        return self._thread is not None

    async def close(self) -> None:
        """Commit what is queued and stop the writer."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._hand_over()
        self._loop = self._loop_thread = None
        self._queue.put(_STOP)
        await asyncio.to_thread(thread.join)

    # -- writer thread ---------------------------------------------------------------------

    def _run(self, conn: sqlite3.Connection) -> None:
        name_os_thread()
        stop = False
        pending: list[object] = []
        batches = 0  # of the loop's, in pending
        while not stop:
            if not pending:
                batches += self._take(pending, self._queue.get())
            # everything handed over since goes in the same transaction
            while len(pending) < 5000 and pending[-1] is not _STOP:
                try:
                    batches += self._take(pending, self._queue.get_nowait())
                except queue.Empty:
                    break
            if _STOP in pending:
                stop = True
                pending = [p for p in pending if p is not _STOP]
            try:
                queued_upstream = self._write(conn, pending)
            except sqlite3.Error as err:
                self.last_error = f"{self.path}: {err}"
                log.error("journal write failed, retrying in 1 s: %s", err)
                if stop:
                    break
                time.sleep(1.0)
                continue
            self.last_error = None
            self._committed_batches += batches  # this thread alone writes it
            batches = 0
            for listener in self.commit_listeners:
                try:
                    listener()
                except Exception:
                    log.exception("journal commit listener failed")
            if queued_upstream and self.on_commit is not None:
                try:
                    self.on_commit()
                except Exception:
                    log.exception("journal on_commit callback failed")
            for item in pending:
                if isinstance(item, _Barrier):
                    item.release()
            pending = []
        for item in pending:
            if isinstance(item, _Barrier):
                item.release()
        conn.close()

    @staticmethod
    def _take(pending: list[object], item: object) -> int:
        """Add ``item`` (a loop's batch or one record) to ``pending``; 1 for a batch."""
        if type(item) is list:
            pending.extend(item)
            return 1
        pending.append(item)
        return 0

    def _write(self, conn: sqlite3.Connection, items: list[object]) -> bool:
        """Commit ``items`` in one transaction; True when outbox rows were added."""
        session = self.session
        queued_upstream = False
        conn.execute("BEGIN")
        try:
            for item in items:
                if isinstance(item, ParcelEvent):
                    queued_upstream |= self._write_event(conn, session, item)
                elif isinstance(item, AlarmRecord):
                    conn.execute(
                        "INSERT INTO alarms(session, time, key, device, severity, state, text,"
                        " user) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            session,
                            item.time + self.wall_offset,
                            item.key,
                            item.device,
                            item.severity,
                            item.state,
                            item.text,
                            item.user,
                        ),
                    )
                elif (write_to := getattr(item, "write_to", None)) is not None:
                    # a JournalRecord (isinstance on the runtime Protocol cost ~0.1 ms a record)
                    queued_upstream |= write_to(conn, session, self.wall_offset)
            conn.execute("COMMIT")
        except BaseException:
            self._memo.forget()  # it learnt from rows that are gone
            conn.execute("ROLLBACK")
            raise
        return queued_upstream

    def _write_event(self, conn: sqlite3.Connection, current: int, e: ParcelEvent) -> bool:
        session = current if e.session is None else e.session  # a resumed parcel: its own
        detail = json.dumps(e.detail, separators=(",", ":")) if e.detail else None
        try:
            conn.execute(
                "INSERT INTO events(session, time, uid, tracking_id, kind, state, barcode, route,"
                " chute, reason, detail) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session,
                    e.time + self.wall_offset,
                    e.uid,
                    e.tracking_id,
                    e.kind,
                    e.state.value,
                    e.barcode,
                    e.route,
                    e.chute,
                    e.reason,
                    detail,
                ),
            )
        except sqlite3.IntegrityError:
            # only a second terminal event can be refused; the failed INSERT alone is
            # undone (SQLite's default ABORT), the batch's transaction goes on
            if e.kind != "terminal":
                raise
            self.duplicate_terminals += 1
            log.error("journal refused a second terminal event for parcel %s", e.uid)
            return False
        wall = e.time + self.wall_offset
        answer_ms = e.detail.get("answer_ms") if e.kind == "assigned" else None
        row = (
            session,
            e.uid,
            e.tracking_id,
            e.barcode,
            e.route,
            e.state.value,
            e.chute,
            e.reason,
            wall,
            wall,
            answer_ms,
        )
        if e.kind == "measured":
            weight = e.detail.get("weight") or {}
            dims = e.detail.get("dimensions") or {}
            measured = (
                weight.get("kg"),
                dims.get("length_mm"),
                dims.get("width_mm"),
                dims.get("height_mm"),
                e.detail.get("volumetric_kg"),
            )
            conn.execute(UPSERT_MEASURED_PARCEL, row + measured)
        else:
            conn.execute(UPSERT_PARCEL, row)
        self.written += 1
        return outbox.record(
            conn, session, e, wall, self.line_name, self.upstream_events, self._memo
        )

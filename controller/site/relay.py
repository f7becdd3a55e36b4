"""The site relay: the line's journal copied to the site's PostgreSQL store, in the background.

:class:`SiteRelay` runs in a thread of its own, with its own read-only SQLite connection
to the journal (:mod:`.relay_journal`) and its own psycopg connection to the site
(:mod:`.relay_store`), so nothing of it runs on the control loop. Each cycle reads, per
stream (:data:`~controller.site.streams.STREAM_DEFS`), at most ``batch_rows`` rows after
the position the site holds for ``(line, stream)`` in ``relay_positions``, and writes
them in ONE PostgreSQL transaction with the positions. The positions commit with the
rows, so a relay killed at any point (mid-transaction, or after the commit but before it
noted anything) resumes from what the site holds: nothing is lost and nothing is
duplicated. Its counters are in :mod:`.relay_stats`.

Wake-ups: the journal's writer calls :meth:`SiteRelay.wake` after each committed batch
(once per batch, never a ``NOTIFY`` per parcel); without one the relay looks every
``interval_s``, and never sooner than ``min_gap_s`` after the last (a commit, with its
WAL flush, costs PostgreSQL more than the rows in it). A full batch is followed at once
by the next.

Site down (refused, restarted, killed mid-transaction, a login refused): the relay
logs it once, raises the ``site-store`` alarm (through ``alarms``, on the event loop, as
the webhook deliverer does), waits (doubling up to ``reconnect_max_s``), reconnects and
re-reads its positions; the alarm clears when a cycle commits again.

A journal behind the site: when the site holds a higher position for a stream than the
journal's highest row id (the journal file was replaced, or restored from an older copy,
under the same line name), the rows up to the site's position would be skipped without a
word. The relay logs a warning and raises the ``site-relay-journal`` alarm naming the
streams, positions and journal (cleared once the journal is past them again), and goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from controller.alarms.board import AlarmBoard
from controller.site.relay_journal import JournalReader
from controller.site.relay_stats import LAG_BUCKETS_S, RelayCounters, RelayStats
from controller.site.relay_store import LineIdentity, connect, write_batch
from controller.site.streams import STREAM_DEFS, Row
from drivers.os_thread import name_os_thread

__all__ = ["ALARM_JOURNAL_BEHIND", "ALARM_SITE_STORE", "LAG_BUCKETS_S", "RelayStats", "SiteRelay"]

log = logging.getLogger(__name__)

#: Alarm key while the site store cannot be reached.
ALARM_SITE_STORE = "site-store"
#: Alarm key while the site holds positions beyond the journal's last rows.
ALARM_JOURNAL_BEHIND = "site-relay-journal"

_HEARTBEAT_S = 5.0
_RECONNECT_MIN_S = 0.25
_SQLITE_PAUSE_S = 1.0
_EVENT_TIME = next(s.time_column for s in STREAM_DEFS if s.name == "events")

StateCallback = Callable[[bool, str | None], None]
"""Called in the relay's thread with ``(True, None)`` when the site store is reachable
again, ``(False, error)`` when it is lost."""


class SiteRelay:
    """Relays one line's journal to the site store (see the module docstring).

    ``conninfo`` is a libpq URL or keyword string without the password; ``password``
    comes from the environment (the caller reads it). ``alarms``/``clock``: the line's
    alarm board and controller clock; the alarm is raised on the loop :meth:`run` runs on.
    ``on_state`` is called in the relay's thread on every up/down change (tests, metrics).
    """

    def __init__(
        self,
        line: str,
        site: str,
        journal_path: str | Path,
        conninfo: str,
        *,
        password: str | None = None,
        batch_rows: int = 500,
        interval_s: float = 0.2,
        min_gap_s: float = 0.0,
        connect_timeout_s: float = 5.0,
        reconnect_max_s: float = 10.0,
        hmi_url: str | None = None,
        api_url: str | None = None,
        alarms: AlarmBoard | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_state: StateCallback | None = None,
    ):
        self.line = line
        self.site = site
        self.journal_path = Path(journal_path)
        self.conninfo = conninfo
        self.batch_rows = batch_rows
        self.interval_s = interval_s
        self.min_gap_s = min_gap_s
        self.connect_timeout_s = connect_timeout_s
        self.reconnect_max_s = reconnect_max_s
        self.hmi_url = hmi_url
        self.api_url = api_url
        self.alarms = alarms
        self.clock = clock
        self.on_state = on_state
        self._password = password
        self._identity = LineIdentity(line, site, hmi_url, api_url)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pg: psycopg.Connection[Any] | None = None
        self._journal = JournalReader(self.journal_path, line, batch_rows)
        self._positions: dict[str, int] = {}
        self._counters = RelayCounters([s.name for s in STREAM_DEFS])
        self._connected = False
        self._down_since: float | None = None
        self._logged: str | None = None
        self._behind: str | None = None
        self._last_beat = 0.0

    # -- public ----------------------------------------------------------------------------

    @property
    def last_error(self) -> str | None:
        """The last error of the site store or the journal."""
        return self._counters.last_error

    def wake(self) -> None:
        """New rows were committed to the journal: look now (any thread; never blocks)."""
        self._wake.set()

    def start(self) -> None:
        """Start the relay's thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"site-relay-{self.line}")
        self._thread.daemon = True
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the thread (after the transaction in progress) and close its connections."""
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)

    async def run(self) -> None:
        """Run until cancelled (for the line's TaskGroup): start, then stop in a thread."""
        self._loop = asyncio.get_running_loop()
        self.start()
        try:
            await asyncio.Event().wait()
        finally:
            self._loop = None
            await asyncio.shield(asyncio.to_thread(self.stop))

    def stats(self) -> RelayStats:
        """The counters now (no database access)."""
        return self._counters.snapshot()

    # -- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        name_os_thread()
        delay = _RECONNECT_MIN_S
        try:
            while not self._stop.is_set():
                try:
                    if self._pg is None:
                        self._pg, self._positions = connect(
                            self.conninfo, self._password, self.line, self.connect_timeout_s
                        )
                        self._last_beat = 0.0
                    self._wake.clear()
                    full = self._cycle()
                    self._up()
                    delay = _RECONNECT_MIN_S
                    if not full:
                        started = time.monotonic()
                        self._wake.wait(self.interval_s)
                        # at most one transaction per min_gap_s while it keeps up (PostgreSQL
                        # pays per commit, not per row); a full batch goes on at once
                        self._stop.wait(self.min_gap_s - (time.monotonic() - started))
                except psycopg.Error as err:
                    self._close_pg()
                    self._down(_describe(err))
                    with contextlib.suppress(sqlite3.Error):
                        if self._positions:  # the backlog while the site is away
                            self._counters.set_backlog(self._journal.tops(), self._positions)
                    self._stop.wait(delay)
                    delay = min(delay * 2, self.reconnect_max_s)
                except sqlite3.Error as err:
                    self._journal.close()
                    error = f"journal {self.journal_path}: {err}"
                    self._counters.set_error(error)
                    log.error("site relay: %s", error)
                    self._stop.wait(_SQLITE_PAUSE_S)
        finally:
            self._close_pg()
            self._journal.close()
            self._counters.set_state(False)

    def _cycle(self) -> bool:
        """Relay one batch of every stream; True when a stream's batch was full."""
        batch = self._journal.read(self._positions)
        self._check_behind(batch.tops)
        moved = {name: rows for name, rows in batch.rows.items() if rows}
        now = time.time()
        if moved or batch.wall_states or now - self._last_beat >= _HEARTBEAT_S:
            self._commit(moved, batch.wall_states, now)
        self._counters.set_backlog(batch.tops, self._positions)
        return any(len(rows) >= self.batch_rows for rows in moved.values())

    def _commit(self, moved: dict[str, list[Row]], wall_states: list[Row], now: float) -> None:
        """Write the batch in one transaction; count it once the commit returned."""
        pg = self._pg
        assert pg is not None
        self._positions = write_batch(
            pg, self._identity, moved, wall_states, self._positions, now, self._before_commit
        )
        committed = time.time()  # the lag ends when the commit has returned
        self._last_beat = committed
        events = moved.get("events", ())
        self._counters.committed(
            committed,
            {name: len(rows) for name, rows in moved.items()},
            (float(r[_EVENT_TIME]) for r in events),
        )

    def _before_commit(self, conn: psycopg.Connection[Any]) -> None:
        """Called inside the transaction just before it commits (a seam for fault tests)."""

    def _check_behind(self, tops: dict[str, int]) -> None:
        """Warn (log and alarm) while the site holds positions beyond the journal's rows."""
        ahead = {
            name: (self._positions.get(name, 0), top)
            for name, top in tops.items()
            if self._positions.get(name, 0) > top
        }
        warning = None
        if ahead:
            streams = ", ".join(
                f"{name} at {position} (journal ends at {top})"
                for name, (position, top) in ahead.items()
            )
            warning = (
                f"the site store holds positions beyond the journal {self.journal_path} for "
                f"line {self.line}: {streams}; was the journal replaced under the same line "
                "name? Its rows up to those positions are not relayed (give the new journal "
                "a new line name, or remove the line's rows and relay_positions at the site)"
            )
        if warning == self._behind:
            return
        self._behind = warning
        self._counters.set_behind(warning)
        if warning is not None:
            log.warning("site relay %s: %s", self.line, warning)
        else:
            log.info("site relay %s: the journal is past the site's positions again", self.line)
        self._post_alarm(ALARM_JOURNAL_BEHIND, warning)

    # -- state -----------------------------------------------------------------------------

    def _up(self) -> None:
        if self._connected:
            return
        self._connected = True
        self._counters.set_state(True)
        if self._down_since is not None:
            log.info(
                "site relay %s: the site store is reachable again (%s); resumed at %s",
                self.line,
                self.conninfo,
                self._positions,
            )
        self._down_since = None
        self._logged = None
        self._notify(True, None)

    def _down(self, error: str) -> None:
        self._connected = False
        self._counters.set_state(False, error)
        if error != self._logged:
            log.warning("site relay %s: %s; retrying (the line sorts on)", self.line, error)
            self._logged = error
        if self._down_since is None:
            self._down_since = time.time()
            self._notify(False, error)

    def _notify(self, up: bool, error: str | None) -> None:
        if self.on_state is not None:
            try:
                self.on_state(up, error)
            except Exception:
                log.exception("site relay: the state callback failed")
        self._post_alarm(
            ALARM_SITE_STORE,
            None
            if up
            else f"site store {self.conninfo} unreachable: {error}; the journal is kept "
            "and relayed when it is back",
        )

    def _post_alarm(self, key: str, text: str | None) -> None:
        """Raise (``text``) or clear (None) an alarm on the loop :meth:`run` runs on."""
        alarms, loop = self.alarms, self._loop
        if alarms is None or loop is None:
            return

        def apply() -> None:
            if text is None:
                alarms.clear(key, self.clock())
            else:
                alarms.raise_(key, text, self.clock(), device="site")

        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(apply)

    def _close_pg(self) -> None:
        conn, self._pg = self._pg, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


def _describe(err: psycopg.Error) -> str:
    """A one-line reason for ``err`` (psycopg's messages span lines)."""
    text = " ".join(str(err).split()) or type(err).__name__
    return f"{type(err).__name__}: {text}"[:400]

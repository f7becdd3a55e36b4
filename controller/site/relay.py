"""The site relay: the line's journal copied to the site's PostgreSQL store, in the background.

:class:`SiteRelay` runs in a thread of its own, with its own read-only SQLite connection
to the journal and its own psycopg connection to the site, so nothing of it runs on the
control loop. Each cycle reads, per stream (:data:`~controller.site.streams.STREAM_DEFS`),
at most ``batch_rows`` rows after the position the site holds for ``(line, stream)`` in
``relay_positions``, and in ONE PostgreSQL transaction inserts them
(``ON CONFLICT DO NOTHING``, in pipelined ``executemany`` batches), moves ``parcels``
forward from the events, notes the line in ``site_lines`` and sets the positions. The
positions commit with the rows, so a relay killed at any point (mid-transaction, or after
the commit but before it noted anything) resumes from what the site holds: nothing is
lost and nothing is duplicated.

Wake-ups: the journal's writer calls :meth:`SiteRelay.wake` after each committed batch
(once per batch, never a ``NOTIFY`` per parcel); without one the relay looks every
``interval_s``. A full batch is followed at once by the next.

Site down (refused, restarted, killed mid-transaction, a login refused): the relay
logs it once, raises the ``site-store`` alarm (through ``alarms``, on the event loop, as
the webhook deliverer does), waits (doubling up to ``reconnect_max_s``), reconnects and
re-reads its positions; the alarm clears when a cycle commits again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from controller.alarms.board import AlarmBoard
from controller.histogram import Histogram, percentiles
from controller.site.schema import SCHEMA, SCHEMA_VERSION
from controller.site.streams import STREAM_DEFS, UPSERT_PARCEL, Stream, fold_parcels

log = logging.getLogger(__name__)

#: Alarm key while the site store cannot be reached.
ALARM_SITE_STORE = "site-store"

#: Relay lag buckets in seconds (journal event time to the row's commit in PostgreSQL).
LAG_BUCKETS_S = (
    0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
)  # fmt: skip

_HEARTBEAT_S = 5.0
_RECONNECT_MIN_S = 0.25
_SQLITE_PAUSE_S = 1.0
_SCHEMA_LOCK = 0x4C414E45  # pg_advisory_xact_lock key: one schema creator at a time

StateCallback = Callable[[bool, str | None], None]
"""Called in the relay's thread with ``(True, None)`` when the site store is reachable
again, ``(False, error)`` when it is lost."""


@dataclass(frozen=True)
class RelayStats:
    """A snapshot of the relay (see :meth:`SiteRelay.stats`)."""

    connected: bool
    rows: dict[str, int]
    """Rows relayed per stream by this process (committed, including ones already there)."""
    backlog: dict[str, int]
    """Journal rows not yet in the site store, per stream, at the last look."""
    batches: int
    lag_p50_s: float | None
    lag_p99_s: float | None
    """Over the last 10,000 events: journal event time to their commit in PostgreSQL."""
    last_error: str | None
    last_commit: float | None
    """Wall-clock time (epoch s) of the last committed batch."""
    lag_histogram: list[tuple[float, int]] = field(default_factory=list)


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
        self.connect_timeout_s = connect_timeout_s
        self.reconnect_max_s = reconnect_max_s
        self.hmi_url = hmi_url
        self.api_url = api_url
        self.alarms = alarms
        self.clock = clock
        self.on_state = on_state
        self._password = password
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._pg: psycopg.Connection[Any] | None = None
        self._sqlite: sqlite3.Connection | None = None
        self._positions: dict[str, int] = {}
        self._rows = dict.fromkeys((s.name for s in STREAM_DEFS), 0)
        self._backlog = dict.fromkeys((s.name for s in STREAM_DEFS), 0)
        self._batches = 0
        self._lags: deque[float] = deque(maxlen=10_000)
        self._histogram = Histogram(LAG_BUCKETS_S)
        self._connected = False
        self._down_since: float | None = None
        self._logged: str | None = None
        self.last_error: str | None = None
        self._last_commit: float | None = None
        self._last_beat = 0.0

    # -- public ----------------------------------------------------------------------------

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
        with self._lock:
            p50, p99 = percentiles(list(self._lags), (50, 99))
            return RelayStats(
                connected=self._connected,
                rows=dict(self._rows),
                backlog=dict(self._backlog),
                batches=self._batches,
                lag_p50_s=p50,
                lag_p99_s=p99,
                last_error=self.last_error,
                last_commit=self._last_commit,
                lag_histogram=self._histogram.cumulative(),
            )

    # -- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        delay = _RECONNECT_MIN_S
        try:
            while not self._stop.is_set():
                try:
                    if self._pg is None:
                        self._connect()
                    self._wake.clear()
                    full = self._cycle()
                    self._up()
                    delay = _RECONNECT_MIN_S
                    if not full:
                        self._wake.wait(self.interval_s)
                except psycopg.Error as err:
                    self._close_pg()
                    self._down(_describe(err, self.conninfo))
                    with contextlib.suppress(sqlite3.Error):
                        self._measure_backlog()
                    self._stop.wait(delay)
                    delay = min(delay * 2, self.reconnect_max_s)
                except sqlite3.Error as err:
                    self._close_sqlite()
                    self.last_error = f"journal {self.journal_path}: {err}"
                    log.error("site relay: %s", self.last_error)
                    self._stop.wait(_SQLITE_PAUSE_S)
        finally:
            self._close_pg()
            self._close_sqlite()
            with self._lock:
                self._connected = False

    def _connect(self) -> None:
        """Connect, create the schema if missing, and read this line's positions."""
        conn = psycopg.connect(
            self.conninfo,
            password=self._password,
            autocommit=True,
            connect_timeout=max(1, round(self.connect_timeout_s)),
            application_name=f"lanesort-relay-{self.line}"[:63],
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=3,
            tcp_user_timeout=int(self.connect_timeout_s * 2000),
        )
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                conn.execute(SCHEMA)
                conn.execute(
                    "INSERT INTO site_schema(version) SELECT %s"
                    " WHERE NOT EXISTS (SELECT 1 FROM site_schema)",
                    (SCHEMA_VERSION,),
                )
            rows = conn.execute(
                "SELECT stream, position FROM relay_positions WHERE line = %s", (self.line,)
            ).fetchall()
        except BaseException:
            conn.close()
            raise
        self._positions = {s.name: 0 for s in STREAM_DEFS} | {s: int(p) for s, p in rows}
        self._pg = conn
        self._last_beat = 0.0

    def _journal(self) -> sqlite3.Connection:
        if self._sqlite is None:
            if not self.journal_path.exists():
                raise sqlite3.OperationalError(f"{self.journal_path} does not exist (yet)")
            conn = sqlite3.connect(
                f"file:{self.journal_path}?mode=ro", uri=True, timeout=10, isolation_level=None
            )
            conn.execute("PRAGMA busy_timeout=10000")
            self._sqlite = conn
        return self._sqlite

    def _read(self) -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, int]]:
        """Each stream's next batch and the journal's highest row id per stream, from one
        snapshot of the journal."""
        db = self._journal()
        batches: dict[str, list[tuple[Any, ...]]] = {}
        tops: dict[str, int] = {}
        db.execute("BEGIN")
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            for stream in STREAM_DEFS:
                if stream.table not in tables:
                    batches[stream.name], tops[stream.name] = [], 0
                    continue
                after = self._positions[stream.name]
                batches[stream.name] = db.execute(
                    stream.select, (after, self.batch_rows)
                ).fetchall()
                (tops[stream.name],) = db.execute(
                    f"SELECT coalesce(max(rowid), 0) FROM {stream.table}"
                ).fetchone()
        finally:
            db.execute("COMMIT")
        return batches, tops

    def _measure_backlog(self) -> None:
        """The backlog while the site is away (positions as last known)."""
        if not self._positions:
            return
        db = self._journal()
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        with self._lock:
            for stream in STREAM_DEFS:
                if stream.table in tables:
                    (top,) = db.execute(
                        f"SELECT coalesce(max(rowid), 0) FROM {stream.table}"
                    ).fetchone()
                    self._backlog[stream.name] = max(0, top - self._positions[stream.name])

    def _cycle(self) -> bool:
        """Relay one batch of every stream; True when a stream's batch was full."""
        batches, tops = self._read()
        moved = {name: rows for name, rows in batches.items() if rows}
        now = time.time()
        if moved or now - self._last_beat >= _HEARTBEAT_S:
            self._commit(moved, now)
        with self._lock:
            for stream in STREAM_DEFS:
                self._backlog[stream.name] = max(
                    0, tops[stream.name] - self._positions[stream.name]
                )
        return any(len(rows) >= self.batch_rows for rows in moved.values())

    def _commit(self, moved: dict[str, list[tuple[Any, ...]]], relayed: float) -> None:
        """One transaction: the rows, the parcels, the line, the positions."""
        pg = self._pg
        assert pg is not None
        positions = dict(self._positions)
        streams = {s.name: s for s in STREAM_DEFS}
        with pg.transaction(), pg.cursor() as cur:
            for name, rows in moved.items():
                stream: Stream = streams[name]
                cur.executemany(
                    stream.insert, [stream.convert(self.line, r, relayed) for r in rows]
                )
                if name == "events":
                    cur.executemany(UPSERT_PARCEL, fold_parcels(self.line, rows))
                positions[name] = int(rows[-1][0])
            cur.execute(
                "INSERT INTO site_lines(line, site, hmi_url, api_url, first_seen, last_seen)"
                " VALUES(%s, %s, %s, %s, %s, %s) ON CONFLICT(line) DO UPDATE SET"
                " site = excluded.site, hmi_url = coalesce(excluded.hmi_url, site_lines.hmi_url),"
                " api_url = coalesce(excluded.api_url, site_lines.api_url),"
                " last_seen = excluded.last_seen",
                (self.line, self.site, self.hmi_url, self.api_url, relayed, relayed),
            )
            if moved:
                cur.executemany(
                    "INSERT INTO relay_positions(line, stream, position, rows, updated)"
                    " VALUES(%s, %s, %s, %s, %s) ON CONFLICT(line, stream) DO UPDATE SET"
                    " position = excluded.position,"
                    " rows = relay_positions.rows + excluded.rows, updated = excluded.updated",
                    [
                        (self.line, name, positions[name], len(rows), relayed)
                        for name, rows in moved.items()
                    ],
                )
            self._before_commit(pg)
        committed = time.time()
        self._positions = positions
        self._last_beat = committed
        events = moved.get("events", ())
        with self._lock:
            self._batches += 1
            self._last_commit = committed
            for name, rows in moved.items():
                self._rows[name] += len(rows)
            index = streams["events"].time_column
            for r in events:
                lag = max(0.0, committed - float(r[index]))
                self._lags.append(lag)
                self._histogram.observe(lag)

    def _before_commit(self, conn: psycopg.Connection[Any]) -> None:
        """Called inside the transaction just before it commits (a seam for fault tests)."""

    # -- state -----------------------------------------------------------------------------

    def _up(self) -> None:
        if self._connected:
            return
        with self._lock:
            self._connected = True
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
        with self._lock:
            self._connected = False
            self.last_error = error
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
        alarms, loop = self.alarms, self._loop
        if alarms is None or loop is None:
            return

        def apply() -> None:
            if up:
                alarms.clear(ALARM_SITE_STORE, self.clock())
            else:
                alarms.raise_(
                    ALARM_SITE_STORE,
                    f"site store {self.conninfo} unreachable: {error}; the journal is kept "
                    "and relayed when it is back",
                    self.clock(),
                    device="site",
                )

        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(apply)

    def _close_pg(self) -> None:
        conn, self._pg = self._pg, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _close_sqlite(self) -> None:
        conn, self._sqlite = self._sqlite, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()


def _describe(err: psycopg.Error, conninfo: str) -> str:
    """A one-line reason for ``err`` (psycopg's messages span lines)."""
    text = " ".join(str(err).split()) or type(err).__name__
    return f"{type(err).__name__}: {text}"[:400]

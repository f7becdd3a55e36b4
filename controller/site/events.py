"""Durable per-parcel events on the site's MQTT broker, from the journal's outbox.

:class:`SiteEvents` publishes each outbox row (:mod:`controller.upstream.outbox`) whose
type is enabled to ``lanesort/v1/{site}/{line}/events/{type}`` at QoS 1, strictly in
outbox order, one at a time: the next is sent only once the broker acknowledged the one
before (PUBACK), so a parcel's events arrive in order. The body is the outbox's JSON,
which carries the ``event_id`` (a consumer drops an id it has seen: delivery is at least
once) and the parcel's ``sequence``. The link speaks MQTT 3.1.1 (no user properties), so
the id travels in the body only.

Its cursor is its own, independent of the webhook deliverer (which marks rows
delivered): the last published outbox id, kept in the journal's ``site_event_cursor``
table and moved only past rows the broker acknowledged. It is written at most once a
second (and when the publisher stops): a crash republishes at most that second's events.
With the broker down the cursor stays and the row is retried; nothing is lost. While
publishing fails the warning alarm ``site-events`` says since when.

Every SQLite query runs in one worker thread (:class:`~controller.upstream.store.OutboxStore`),
never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from controller.alarms.board import AlarmBoard
from controller.histogram import percentiles
from controller.upstream.payload import iso_utc
from controller.upstream.store import OutboxStore
from drivers.cancelling import start_guarded
from drivers.errors import DriverError
from drivers.mqtt.link import MqttLink
from plc_configs.mqtt import MqttSection

log = logging.getLogger(__name__)

#: Alarm key while events cannot be published.
ALARM_SITE_EVENTS = "site-events"

CURSOR_SCHEMA = """
CREATE TABLE IF NOT EXISTS site_event_cursor(
    name TEXT PRIMARY KEY, last_id INTEGER NOT NULL, updated REAL NOT NULL);
"""

_SAVE_EVERY_S = 1.0
_RETRY_S = 0.5
_CURSOR = "mqtt"


@dataclass(frozen=True, slots=True)
class EventRow:
    """One outbox row to publish."""

    id: int
    event_id: str
    type: str
    lane_key: str
    sequence: int
    created: float
    payload: str


@dataclass(frozen=True)
class EventsStats:
    """A snapshot of the publisher."""

    connected: bool
    published: int
    """Events the broker acknowledged since this process started."""
    cursor: int
    """The last outbox id acknowledged."""
    last_error: str | None
    lag_p50_s: float | None
    lag_p99_s: float | None
    """Over the last 10,000 events: outbox row created to the broker's PUBACK."""


# -- the journal (worker thread) --------------------------------------------------------------


def read_cursor(conn: sqlite3.Connection, name: str = _CURSOR) -> int:
    """The last published outbox id (0: none); creates the table if needed."""
    conn.executescript(CURSOR_SCHEMA)
    row = conn.execute("SELECT last_id FROM site_event_cursor WHERE name = ?", (name,)).fetchone()
    return int(row[0]) if row else 0


def save_cursor(conn: sqlite3.Connection, last_id: int, name: str = _CURSOR) -> None:
    """Note that every enabled outbox row up to ``last_id`` was acknowledged."""
    conn.execute(
        "INSERT INTO site_event_cursor(name, last_id, updated) VALUES(?, ?, ?)"
        " ON CONFLICT(name) DO UPDATE SET last_id = max(last_id, excluded.last_id),"
        " updated = excluded.updated",
        (name, last_id, time.time()),
    )


def fetch_after(
    conn: sqlite3.Connection, after_id: int, types: Collection[str], limit: int
) -> tuple[list[EventRow], int]:
    """Up to ``limit`` rows of ``types`` after ``after_id`` in id order, and the id up to
    which no other such row exists (the table's highest when fewer came back)."""
    marks = ",".join("?" * len(types))
    conn.execute("BEGIN")
    try:
        (top,) = conn.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()
        rows = conn.execute(
            "SELECT id, event_id, type, lane_key, sequence, created, payload FROM outbox"
            f" WHERE id > ? AND id <= ? AND type IN ({marks}) ORDER BY id LIMIT ?",
            (after_id, top, *types, limit),
        ).fetchall()
    finally:
        conn.execute("COMMIT")
    found = [EventRow(*r) for r in rows]
    return found, found[-1].id if len(found) == limit else max(top, after_id)


# -- the publisher (event loop) ---------------------------------------------------------------


class SiteEvents:
    """Publishes the outbox to the site broker until cancelled (see the module docstring)."""

    def __init__(
        self,
        site: str,
        line: str,
        section: MqttSection,
        journal_path: str | Path,
        event_types: Collection[str],
        *,
        alarms: AlarmBoard | None = None,
        clock: Callable[[], float] = time.monotonic,
        batch: int = 200,
        interval_s: float = 0.5,
        publish_timeout_s: float = 5.0,
    ):
        self.site = site
        self.line = line
        self.section = section
        self.journal_path = Path(journal_path)
        self.event_types = tuple(dict.fromkeys(event_types))
        self.alarms = alarms
        self.clock = clock
        self.batch = batch
        self.interval_s = interval_s
        self.publish_timeout_s = publish_timeout_s
        self.link = MqttLink(
            "site-events",
            section,
            client_id=section.client_id or f"lanesort-{line}-events",
        )
        self._store = OutboxStore(self.journal_path)
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._cursor = 0
        self._saved = 0
        self._published = 0
        self._lags: deque[float] = deque(maxlen=10_000)
        self._failing_since: float | None = None
        self.last_error: str | None = None

    def topic(self, type_: str) -> str:
        """The topic of an event type."""
        return f"lanesort/v1/{self.site}/{self.line}/events/{type_}"

    def notify(self) -> None:
        """New outbox rows were committed: look now. Call on the event loop."""
        self._wake.set()

    def notify_threadsafe(self) -> None:
        """:meth:`notify` from any thread (a journal commit listener); no-op when not running."""
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._wake.set)

    def stats(self) -> EventsStats:
        """The counters now (no database access)."""
        p50, p99 = percentiles(list(self._lags), (50, 99))
        return EventsStats(
            self.link.connected, self._published, self._cursor, self.last_error, p50, p99
        )

    async def run(self) -> None:
        """Connect and publish until cancelled; broker and journal errors are retried."""
        self._loop = asyncio.get_running_loop()
        try:
            async with asyncio.TaskGroup() as group:
                start_guarded(group, self.link.run(), "site-events-mqtt")
                start_guarded(group, self._publish(), "site-events")
        finally:
            self._loop = None
            try:
                await asyncio.shield(self._save(force=True))
            except (sqlite3.Error, asyncio.CancelledError) as err:
                log.error("site events: cannot save the cursor at %d: %s", self._cursor, err)
            finally:
                await self.link.close()
                await self._store.close()

    async def _publish(self) -> None:
        while True:
            try:
                self._cursor = self._saved = await self._store.call(read_cursor)
                break
            except sqlite3.Error as err:
                self._fail(f"journal {self.journal_path}: {err}")
                await asyncio.sleep(_RETRY_S * 2)
        log.info("site events: publishing outbox rows after id %d", self._cursor)
        last_save = time.monotonic()
        while True:
            try:
                self._wake.clear()
                rows, horizon = await self._store.call(
                    fetch_after, self._cursor, self.event_types, self.batch
                )
            except sqlite3.Error as err:
                self._fail(f"journal {self.journal_path}: {err}")
                await asyncio.sleep(_RETRY_S * 2)
                continue
            done = await self._send(rows)
            if done:
                self._cursor = max(self._cursor, horizon)
            if time.monotonic() - last_save >= _SAVE_EVERY_S:
                last_save = time.monotonic()
                with contextlib.suppress(sqlite3.Error):
                    await self._save()
            if not done:
                await asyncio.sleep(_RETRY_S)
            elif len(rows) < self.batch:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.interval_s):
                        await self._wake.wait()

    async def _send(self, rows: list[EventRow]) -> bool:
        """Publish ``rows`` in order, each after the last one's PUBACK; False on a failure
        (the cursor is then just before the row that failed)."""
        for row in rows:
            try:
                await self.link.publish(
                    self.topic(row.type), row.payload, qos=1, timeout_s=self.publish_timeout_s
                )
            except DriverError as err:
                self._fail(str(err))
                return False
            self._cursor = row.id
            self._published += 1
            self._lags.append(max(0.0, time.time() - row.created))
            if self._failing_since is not None:
                log.info("site events: publishing again (cursor %d)", row.id)
                self._failing_since = None
                self.last_error = None
                if self.alarms is not None:
                    self.alarms.clear(ALARM_SITE_EVENTS, self.clock())
        return True

    def _fail(self, error: str) -> None:
        if self._failing_since is None:
            self._failing_since = time.time()
            log.warning("site events: %s; retrying (events wait in the outbox)", error)
        self.last_error = error
        if self.alarms is not None:
            self.alarms.raise_(
                ALARM_SITE_EVENTS,
                f"site broker {self.section.url}: events not published since "
                f"{iso_utc(self._failing_since)} (after outbox id {self._cursor}): {error}",
                self.clock(),
                device="site",
            )

    async def _save(self, force: bool = False) -> None:
        cursor = self._cursor
        if cursor != self._saved or (force and cursor):
            await self._store.call(save_cursor, cursor)
            self._saved = cursor

"""Delivery of the outbox to the TMS webhook: in order per parcel, retried, dead-lettered.

:class:`UpstreamDelivery` runs in the controller's TaskGroup until cancelled. One
feeder reads the pending rows (one query per journal commit for all lanes) and
splits them over ``concurrency`` lanes by a stable hash of the parcel
(:func:`~controller.upstream.outbox.lane_of`); each lane posts its rows strictly in
id order, one at a time, so a parcel's events arrive in order and a failing event
holds back only its own lane (a lane holds at most ``_BATCH`` rows; the feeder goes
on feeding the others). Any 2xx answer means delivered; anything else
(another status, a connection error, a timeout) is a failed attempt, retried
after an exponential backoff with full jitter (:func:`backoff_delay`) with the
same ``Idempotency-Key``, until ``max_attempts``: then the row is dead-lettered
(critical alarm ``upstream-dead-letter``) until :meth:`UpstreamDelivery.replay`,
and its lane moves on (so a parcel's later events may reach the TMS before a
dead-lettered earlier one: ``sequence`` in the payload tells the TMS the order).
While attempts fail the warning alarm ``upstream`` says since when and how many
events wait; the next delivery clears it.

The event loop never touches SQLite: every query runs on the deliverer's own
connection in its one worker thread, and delivered rows are marked together
(``_MARK_EVERY_S``). The journal calls :meth:`UpstreamDelivery.notify_threadsafe`
after committing new rows; the feeder also polls every second, and each lane wakes
when its head row is due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from controller.alarms.board import AlarmBoard, Severity
from controller.errors import UpstreamError
from controller.upstream import outbox
from controller.upstream.outbox import OutboxCounts, OutboxRow
from controller.upstream.payload import iso_utc
from controller.upstream.store import OutboxStore
from drivers.cancelling import start_guarded
from plc_configs.integration import UpstreamSection
from plc_configs.webhook import (
    EVENT_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)

log = logging.getLogger(__name__)

#: Alarm keys.
ALARM_UNREACHABLE = "upstream"
ALARM_DEAD_LETTER = "upstream-dead-letter"

_POLL_S = 1.0
_BATCH = 200
_PURGE_EVERY_S = 3600.0
_PURGE_CHUNK = 1000
_ERROR_PAUSE_S = 1.0
_MARK_EVERY_S = 0.05
"""Delivered rows are marked in the outbox together, at most about this long after their
POST: one transaction and one hand-over to the worker thread for all the POSTs of the
window, not one each. A crash in between sends those events again with the same
``Idempotency-Key`` (delivery is at least once)."""


def backoff_delay(
    attempt: int, minimum_s: float, maximum_s: float, rng: random.Random | None = None
) -> float:
    """Full-jitter exponential backoff: uniform(0, min(maximum, minimum * 2**attempt)).

    ``attempt`` counts from 0 (the delay after the first failure).
    """
    ceiling = min(maximum_s, minimum_s * 2 ** min(max(attempt, 0), 64))
    return (rng or random).uniform(0.0, ceiling)


@dataclass(frozen=True, slots=True)
class UpstreamStats:
    """A snapshot of the outbox and the deliverer, refreshed about every second."""

    pending: int = 0
    dead: int = 0
    delivered_total: int = 0
    """Events delivered by this process since it started."""
    oldest_pending_age_s: float | None = None
    last_error: str | None = None
    """The last failed attempt's (or outbox query's) error; kept after a recovery."""
    last_delivery_time: float | None = None
    """Wall-clock time (epoch s) of the last delivery, None before the first."""


class UpstreamDelivery:
    """Posts the outbox rows to the TMS webhook until cancelled (see the module docstring).

    ``clock`` is the controller clock (the alarms' time base); ``secret`` the signing
    secret (read from the environment variable ``config.secret_env`` by the caller),
    None for unsigned posts.
    """

    def __init__(
        self,
        config: UpstreamSection,
        db_path: str | Path,
        alarms: AlarmBoard,
        clock: Callable[[], float] = time.monotonic,
        secret: str | None = None,
    ):
        self.config = config
        self.db_path = Path(db_path)
        self.alarms = alarms
        self.clock = clock
        self.secret = secret
        self._store = OutboxStore(self.db_path)
        self._rng = random.Random()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._feed_wake = asyncio.Event()
        self._lanes: list[_Lane] = []
        self._generation = 0
        self._counts = OutboxCounts(0, 0, None, None)
        self._delivered_total = 0
        self._last_error: str | None = None
        self._last_delivery: float | None = None
        self._failing_since: float | None = None
        self._dead_alarmed = 0
        self._delivered: list[tuple[int, float]] = []
        """(row id, when) delivered but not yet marked in the outbox."""
        self._delivered_waiting = asyncio.Event()

    # -- public ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Deliver until cancelled; TMS and database errors become alarms, never exceptions."""
        self._loop = asyncio.get_running_loop()
        self._lanes = [_Lane() for _ in range(self.config.concurrency)]
        client: aiohttp.ClientSession | None = None
        try:
            async with asyncio.TaskGroup() as group:
                start_guarded(group, self._housekeeping(), "upstream-housekeeping")
                start_guarded(group, self._marker(), "upstream-marker")
                if self.config.webhook_url is None:
                    log.warning("upstream.webhook_url is not set: events stay in the outbox")
                else:
                    client = self._client()
                    start_guarded(group, self._feed(), "upstream-feeder")
                    for number, lane in enumerate(self._lanes):
                        start_guarded(
                            group, self._post_lane(lane, client), f"upstream-lane-{number}"
                        )
        finally:
            self._loop = None
            try:
                if client is not None:
                    await client.close()
                await self._mark_delivered()
            finally:
                await self._store.close()

    def notify(self) -> None:
        """New rows were committed: wake the feeder. Call on the event loop."""
        self._feed_wake.set()

    def notify_threadsafe(self) -> None:
        """:meth:`notify` from any thread (the journal's ``on_commit``); no-op when not running."""
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self.notify)

    def stats(self) -> UpstreamStats:
        """The latest snapshot (no database access: cheap enough for every metrics scrape)."""
        counts = self._counts
        oldest = counts.oldest_pending_created
        return UpstreamStats(
            pending=counts.pending,
            dead=counts.dead,
            delivered_total=self._delivered_total,
            oldest_pending_age_s=max(0.0, time.time() - oldest) if oldest is not None else None,
            last_error=self._last_error,
            last_delivery_time=self._last_delivery,
        )

    async def replay(self, event_ids: Sequence[str] | None = None, state: str = "dead") -> int:
        """Send events again: set them back to pending (attempts 0, due now); how many.

        With ``event_ids``: exactly those events, whatever their state (UpstreamError
        naming any unknown id, and nothing changes); without: every event in ``state``
        (``dead``, ``pending`` or ``delivered``).
        """
        try:
            await self._mark_delivered()  # what was delivered is not pending any more
            changed = await self._store.call(outbox.replay, event_ids, state, time.time())
        except sqlite3.Error as err:
            raise UpstreamError(f"{self.db_path}: cannot replay upstream events: {err}") from err
        self._generation += 1
        self.notify()
        with contextlib.suppress(sqlite3.Error):
            await self._refresh()
        log.info("replaying %d upstream event(s)", changed)
        return changed

    async def list_events(
        self, state: str | None = None, limit: int = 100, after_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Outbox rows (in ``state``, or all) with an id above ``after_id`` (None: from the
        start), oldest first, at most ``limit`` (1..10000).

        Each row: ``id, event_id, type, parcel_id, sequence, barcode, state, attempts,
        last_error, created, next_attempt, delivered`` (times in wall-clock epoch s).
        """
        if not 1 <= limit <= 10_000:
            raise UpstreamError(f"limit must be 1..10000, got {limit}")
        try:
            await self._mark_delivered()  # the rows show what was delivered so far
            return await self._store.call(outbox.list_events, state, limit, after_id or 0)
        except sqlite3.Error as err:
            raise UpstreamError(f"{self.db_path}: cannot read the outbox: {err}") from err

    async def aclose(self) -> None:
        """Release the database connection that :meth:`replay` or :meth:`list_events`
        opened while :meth:`run` was not running (:meth:`run` releases it when it ends)."""
        await self._store.close()

    # -- lanes -------------------------------------------------------------------------------

    def _client(self) -> aiohttp.ClientSession:
        """The HTTP client: aiohttp, about a quarter of httpx's CPU per POST, which matters
        on the loop that also answers the PLC (0.2 vs 0.9 ms measured here)."""
        return aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.config.timeout_ms / 1000),
            connector=aiohttp.TCPConnector(limit=self.config.concurrency),
            raise_for_status=False,
        )

    async def _feed(self) -> None:
        """Hand the pending rows to the lanes in id order, forever: one query a wake-up."""
        lanes = self._lanes
        generation = -1
        while True:
            if generation != self._generation:  # replayed: rows may be back before the cursors
                generation = self._generation
                for lane in lanes:
                    lane.reset()
            room = [lane for lane in lanes if len(lane.rows) < _BATCH]
            self._feed_wake.clear()
            more = False  # a full page moved a lane's cursor: rows may wait beyond it
            if room:
                page = _BATCH * len(lanes)
                try:
                    rows, horizon = await self._store.call(
                        outbox.fetch_pending, len(lanes), min(lane.handed for lane in room), page
                    )
                except sqlite3.Error as err:
                    await self._database_failed("feeder", err)
                    continue
                if generation != self._generation:
                    continue
                full: set[int] = set()
                for row in rows:
                    lane = lanes[row.lane]
                    if row.id <= lane.handed or row.lane in full:
                        continue
                    if len(lane.rows) >= _BATCH:
                        full.add(row.lane)  # its cursor stays: the rest comes when it has room
                        continue
                    lane.hand(row)
                moved = [
                    lane
                    for number, lane in enumerate(lanes)
                    if number not in full and len(lane.rows) < _BATCH
                ]
                for lane in moved:
                    lane.handed = max(lane.handed, horizon)
                more = bool(moved) and len(rows) == page
            if not more:  # else the next page at once (a full lane's rows filled this one)
                await _wait(self._feed_wake, _POLL_S)

    async def _post_lane(self, lane: _Lane, client: aiohttp.ClientSession) -> None:
        """Post this lane's rows in id order, one at a time, forever."""
        max_wait = self.config.backoff_max_ms / 1000
        while True:
            if not lane.rows:
                lane.wake.clear()
                await lane.wake.wait()
                continue
            row = lane.rows[0]
            due_in = min(row.next_attempt - time.time(), max_wait)  # a clock step stays short
            if due_in > 0:
                lane.wake.clear()
                await _wait(lane.wake, min(due_in, _POLL_S))
                continue
            try:
                done = await self._attempt(row, client)
            except sqlite3.Error as err:
                await self._database_failed("lane", err)
                continue
            if done and lane.rows and lane.rows[0] is row:  # (a replay may have reset it)
                lane.rows.popleft()
                if len(lane.rows) == _BATCH - 1:
                    self._feed_wake.set()  # room again

    async def _attempt(self, row: OutboxRow, client: aiohttp.ClientSession) -> bool:
        """Post ``row`` once; True when it left the pending state (delivered or dead)."""
        error = await self._post(row, client)
        now = time.time()
        if error is None:
            self._delivered_total += 1
            self._last_delivery = now
            if self._failing_since is not None:
                self._failing_since = None
                self.alarms.clear(ALARM_UNREACHABLE, self.clock())
            self._delivered.append((row.id, now))
            self._delivered_waiting.set()
            return True
        attempts = row.attempts + 1
        self._last_error = error
        await self._note_failure(error)
        if attempts >= self.config.max_attempts:
            await self._store.call(outbox.mark_dead, row.id, attempts, error)
            log.error(
                "upstream event %s (%s) dead-lettered after %d attempts: %s",
                row.event_id,
                row.type,
                attempts,
                error,
            )
            await self._refresh()
            return True
        delay = backoff_delay(
            attempts - 1,
            self.config.backoff_min_ms / 1000,
            self.config.backoff_max_ms / 1000,
            self._rng,
        )
        await self._store.call(outbox.mark_failed, row.id, attempts, error, now + delay)
        row.attempts, row.next_attempt = attempts, now + delay
        return False

    async def _post(self, row: OutboxRow, client: aiohttp.ClientSession) -> str | None:
        """POST one event; None on a 2xx answer, else what went wrong."""
        url = self.config.webhook_url
        assert url is not None
        body = row.payload.encode()
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: row.event_id,
            EVENT_HEADER: row.type,
        }
        if self.secret is not None:
            headers[SIGNATURE_HEADER] = signature_header(self.secret, int(time.time()), body)
        try:
            async with client.post(url, data=body, headers=headers) as response:
                if 200 <= response.status < 300:
                    await response.read()
                    return None
                text = " ".join((await response.text(errors="replace")).split())[:200]
                return f"HTTP {response.status}" + (f": {text}" if text else "")
        except TimeoutError:
            return f"no answer from {url} within {self.config.timeout_ms:g} ms"
        except aiohttp.ClientConnectorError as err:
            if _caused_by(err, ConnectionRefusedError) or isinstance(
                err.os_error, ConnectionRefusedError
            ):
                return f"connection refused to {url}"
            return f"cannot connect to {url}: {err.os_error or err}"
        except (aiohttp.ClientError, OSError) as err:
            return f"{type(err).__name__} posting to {url}: {err}"

    async def _note_failure(self, error: str) -> None:
        """Raise (or re-count) the ``upstream`` warning for a failed attempt."""
        if self._failing_since is None:
            await self._refresh()  # the count in the text is right from the first alarm
            if self._failing_since is None:
                self._failing_since = time.time()
        self.alarms.raise_(
            ALARM_UNREACHABLE,
            f"TMS {self.config.webhook_url} unreachable since {iso_utc(self._failing_since)}, "
            f"{self._counts.pending} events waiting: last error {error}",
            self.clock(),
            device="upstream",
        )

    # -- housekeeping ------------------------------------------------------------------------

    async def _housekeeping(self) -> None:
        """Refresh the stats and the dead-letter alarm every second; purge old rows hourly."""
        next_purge = time.monotonic()
        while True:
            try:
                await self._refresh()
                if time.monotonic() >= next_purge:
                    next_purge = time.monotonic() + _PURGE_EVERY_S
                    await self._purge()
            except sqlite3.Error as err:
                await self._database_failed("housekeeping", err, pause_s=0.0)
            await asyncio.sleep(_POLL_S)

    async def _database_failed(
        self, who: str, err: sqlite3.Error, pause_s: float = _ERROR_PAUSE_S
    ) -> None:
        """Say what failed (stats and log), then pause before the next try."""
        self._last_error = f"outbox {self.db_path}: {err}"
        log.error("upstream %s: %s", who, self._last_error)
        if pause_s:
            await asyncio.sleep(pause_s)

    async def _marker(self) -> None:
        """Mark delivered rows in the outbox, those of ``_MARK_EVERY_S`` together."""
        while True:
            await self._delivered_waiting.wait()
            await asyncio.sleep(_MARK_EVERY_S)
            try:
                await self._mark_delivered()
            except sqlite3.Error as err:
                await self._database_failed("marker", err)

    async def _mark_delivered(self) -> None:
        """Mark the rows delivered so far (kept for the next try if the database fails)."""
        self._delivered_waiting.clear()
        rows, self._delivered = self._delivered, []
        if not rows:
            return
        try:
            await self._store.call(outbox.mark_delivered_many, rows)
        except BaseException:
            self._delivered[:0] = rows
            self._delivered_waiting.set()
            raise

    async def _refresh(self) -> None:
        await self._mark_delivered()  # the counts include what was just delivered
        self._counts = counts = await self._store.call(outbox.counts)
        if counts.dead and counts.dead != self._dead_alarmed:
            self.alarms.raise_(
                ALARM_DEAD_LETTER,
                f"{counts.dead} upstream event(s) dead-lettered (not delivered to the TMS); "
                f"last: {counts.last_dead}; replay them once the cause is fixed",
                self.clock(),
                device="upstream",
                severity=Severity.CRITICAL,
            )
        elif not counts.dead and self._dead_alarmed:
            self.alarms.clear(ALARM_DEAD_LETTER, self.clock())
        self._dead_alarmed = counts.dead

    async def _purge(self) -> None:
        before = time.time() - self.config.keep_delivered_days * 86400
        total = 0
        while True:
            removed = await self._store.call(outbox.purge, before, _PURGE_CHUNK)
            total += removed
            if removed < _PURGE_CHUNK:
                break
            await asyncio.sleep(0)  # let the journal writer in between chunks
        if total:
            log.info("purged %d delivered upstream events", total)


class _Lane:
    """The rows one lane still has to post, in id order, and how far it was fed."""

    __slots__ = ("handed", "rows", "wake")

    def __init__(self) -> None:
        self.rows: deque[OutboxRow] = deque()
        self.handed = 0
        """Every pending row of this lane up to this id is posted or in ``rows``."""
        self.wake = asyncio.Event()

    def hand(self, row: OutboxRow) -> None:
        """One more row to post."""
        self.rows.append(row)
        self.handed = row.id
        self.wake.set()

    def reset(self) -> None:
        """Start again from the first pending row (after a replay)."""
        self.rows.clear()
        self.handed = 0
        self.wake.set()


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Wait for ``event`` at most ``seconds``."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


def _caused_by(err: BaseException, kind: type[BaseException]) -> bool:
    """True when ``kind`` is anywhere in the cause/context chain of ``err``."""
    seen: set[int] = set()
    cause: BaseException | None = err
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, kind):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False

"""The shift report: a line's KPIs over a period, from the journal, as JSON or CSV.

Every parcel figure counts the parcels *inducted* in ``[since, until)`` (epoch
seconds): their terminal states, read rate, rejects, measurements and answer
latency. Time figures cover ``[since, min(until, now))``:

* **running** is time in PackML Execute (from the ``line_states`` history);
* **downtime** is every other second, charged to a cause. A stop episode lasts from
  leaving Execute to returning to it and is charged to the cause recorded when it
  began (``"stop by alice"``, ``"ESTOP"``, ``"PLC"`` …); time with the PLC link down is
  charged to ``"PLC link down: <error>"`` and time between journal sessions (the
  controller was not running) to ``"controller not running"``;
* **availability** is running time over the period.

A session ends at the next session's start or when the controller was last seen
(``line_alive``, refreshed every 30 s), so a crash counts as not running. The read
rate is parcels with a barcode over parcels the PLC reported in the scan tunnel;
throughput is parcels inducted per hour of running time and of wall time, and the
peak the busiest 5 minutes scaled to an hour.

The SQL runs in a thread on a read-only connection; the parcel queries use the
``parcels_by_time`` index, the throughput series the ``parcels_by_updated`` index of
:data:`SCHEMA` (``benchmarks/shift_report.py`` checks both and times them).
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controller.errors import JournalError, ReportError
from controller.histogram import percentile
from controller.packml.history import (
    ALIVE_EVERY_S,
    CONTROLLER_STARTED,
    CONTROLLER_STOPPED,
    EXECUTE,
    LINK_DOWN,
)
from controller.parcels.state import ParcelState

SCHEMA = """
CREATE INDEX IF NOT EXISTS parcels_by_updated ON parcels(updated, state);
"""

MAX_SPAN_S = 31 * 86400
"""The longest period a report may cover."""
NOT_RUNNING = "controller not running"
PEAK_BUCKET_S = 300
_ALIVE_GRACE_S = 3 * ALIVE_EVERY_S
MAX_BUCKETS = 10_000
"""The most buckets a throughput series may have."""

_IN_PERIOD = "FROM parcels WHERE inducted >= :since AND inducted < :until"
_DIMS = "length_mm IS NOT NULL AND width_mm IS NOT NULL AND height_mm IS NOT NULL"
# Sums, not GROUP BY: one pass over the period's rows without a temporary B-tree.
_PARCEL_SUMS = f"""
SELECT count(*), sum(barcode IS NOT NULL), sum(weight_kg IS NOT NULL), sum({_DIMS}),
       sum(weight_kg IS NOT NULL AND {_DIMS}),
       {", ".join(f"sum(state = '{state.value}')" for state in ParcelState)}
{_IN_PERIOD}
"""
_REJECTS = f"SELECT reason, count(*) {_IN_PERIOD} AND state = 'rejected' GROUP BY reason"
# Parcels the PLC never reported in the scan tunnel: made known by a destination request
# or a sort confirmation (their "inducted" event says so; older journals: the answer's
# "unknown parcel" reason). ``+p.barcode`` keeps SQLite off parcels_by_barcode.
_NEVER_SCANNED = """
SELECT count(*) FROM parcels AS p
WHERE p.inducted >= :since AND p.inducted < :until AND +p.barcode IS NULL AND EXISTS (
    SELECT 1 FROM events AS e WHERE e.session = p.session AND e.uid = p.uid AND (
        (e.kind = 'inducted' AND json_extract(e.detail, '$.not_scanned') IS NOT NULL)
        OR (e.kind = 'assigned' AND e.reason = 'unknown_parcel')))
"""
_ANSWERS = f"SELECT answer_ms {_IN_PERIOD} AND answer_ms IS NOT NULL"
_PEAK = f"""
SELECT max(n) FROM (SELECT count(*) AS n {_IN_PERIOD}
GROUP BY CAST((inducted - :since) / :b AS INTEGER))
"""
_SERIES = """
SELECT CAST((updated - :since) / :b AS INTEGER), count(*) FROM parcels
WHERE updated >= :since AND updated < :until AND state IN ('sorted', 'rejected', 'lost')
GROUP BY 1
"""


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _pct(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 2) if whole > 0 else None


def _per_hour(count: float, seconds: float) -> float | None:
    return round(count * 3600 / seconds, 1) if seconds > 0 else None


def _cell(value: Any) -> Any:
    """A CSV cell: None empty, text that a spreadsheet would run as a formula quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@dataclass(frozen=True)
class ShiftReport:
    """A line's KPIs over ``[since, until)`` (epoch seconds); see the module docstring."""

    since: float
    until: float
    end: float
    """Where the time figures stop: ``min(until, now)``."""
    inducted: int
    by_state: dict[str, int]
    scanned: int
    """Inducted minus parcels the PLC never reported in the scan tunnel (made known by a
    destination request or a sort confirmation)."""
    read: int
    rejects_by_reason: dict[str, int]
    with_weight: int
    with_dimensions: int
    with_both: int
    answered: int
    answer_p50_ms: float | None
    answer_p99_ms: float | None
    peak_5min: int
    """The most parcels inducted in one 5-minute bucket (buckets start at ``since``)."""
    running_s: float
    downtime_by_cause: dict[str, float]

    @property
    def period_s(self) -> float:
        """Seconds covered by the time figures."""
        return max(0.0, self.end - self.since)

    @property
    def downtime_s(self) -> float:
        """Seconds not in Execute."""
        return sum(self.downtime_by_cause.values())

    @property
    def rejected(self) -> int:
        """Parcels in the reject chute."""
        return self.by_state.get(ParcelState.REJECTED.value, 0)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The report, JSON-ready: section -> key -> value, units in the key names, times
        ISO 8601 UTC, rates in % (None when their denominator is 0)."""
        return {
            "period": {
                "since": _iso(self.since),
                "until": _iso(self.until),
                "counted_until": _iso(self.end),
                "period_s": round(self.period_s, 1),
                "running_s": round(self.running_s, 1),
                "downtime_s": round(self.downtime_s, 1),
                "availability_pct": _pct(self.running_s, self.period_s),
            },
            "parcels": {"inducted": self.inducted},
            "parcels_by_state": dict(self.by_state),
            "throughput": {
                "parcels_per_h_running": _per_hour(self.inducted, self.running_s),
                "parcels_per_h_wall": _per_hour(self.inducted, self.period_s),
                "peak_parcels_per_h_5min": _per_hour(self.peak_5min, PEAK_BUCKET_S),
            },
            "read": {
                "scanned": self.scanned,
                "read": self.read,
                "read_rate_pct": _pct(self.read, self.scanned),
            },
            "rejects": {
                "rejected": self.rejected,
                "reject_rate_pct": _pct(self.rejected, self.inducted),
            },
            "rejects_by_reason_count": dict(self.rejects_by_reason),
            "rejects_by_reason_pct": {
                reason: _pct(n, self.inducted) for reason, n in self.rejects_by_reason.items()
            },
            "measurement": {
                "with_weight": self.with_weight,
                "with_weight_pct": _pct(self.with_weight, self.inducted),
                "with_dimensions": self.with_dimensions,
                "with_dimensions_pct": _pct(self.with_dimensions, self.inducted),
                "with_both": self.with_both,
                "with_both_pct": _pct(self.with_both, self.inducted),
            },
            "answer": {
                "answered": self.answered,
                "p50_ms": self.answer_p50_ms,
                "p99_ms": self.answer_p99_ms,
            },
            "downtime_by_cause_s": {
                cause: round(s, 1) for cause, s in self.downtime_by_cause.items()
            },
        }

    def to_csv(self) -> str:
        """One ``section,key,value`` table with a header row (RFC 4180, CRLF)."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(("section", "key", "value"))
        for section, values in self.to_dict().items():
            for key, value in values.items():
                writer.writerow((section, _cell(key), _cell(value)))
        return out.getvalue()


def check_period(since: float, until: float) -> None:
    """Raise ReportError (naming the field) unless ``since < until`` within :data:`MAX_SPAN_S`."""
    if not since < until:
        raise ReportError("until", "until must be after since")
    if until - since > MAX_SPAN_S:
        raise ReportError("until", f"the period is longer than {MAX_SPAN_S // 86400} days")


def _connect(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        conn.execute("SELECT 1 FROM parcels LIMIT 1")
    except sqlite3.Error as err:
        raise JournalError(f"{path}: cannot read the journal: {err}") from err
    return conn


def _nearest_rank(ordered: list[float], q: float) -> float | None:
    value = percentile(ordered, q, ordered=True)
    return None if value is None else round(value, 3)


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return row.fetchone() is not None


def _sessions(conn: sqlite3.Connection, after: float, now: float) -> list[tuple[float, float, int]]:
    """(start, stop, session) of each session that ran after ``after``."""
    rows = conn.execute("SELECT id, started FROM sessions ORDER BY started, id").fetchall()
    alive: dict[int, float] = {}
    last = None
    if _has_table(conn, "line_alive"):
        alive = dict(conn.execute("SELECT session, time FROM line_alive").fetchall())
        last = conn.execute("SELECT session, state FROM line_states ORDER BY id DESC LIMIT 1")
        last = last.fetchone()
    spans = []
    for i, (session, started) in enumerate(rows):
        seen = alive.get(session)
        if i + 1 < len(rows):
            stop = rows[i + 1][1] if seen is None else min(seen, rows[i + 1][1])
        elif seen is None:
            stop = now  # a journal without line_alive rows: assume it still runs
        elif last != (session, CONTROLLER_STOPPED) and now - seen <= _ALIVE_GRACE_S:
            stop = now  # the running controller
        else:
            stop = seen  # stopped cleanly, or crashed after it was last seen
        if stop > after:
            spans.append((started, max(started, stop), session))
    return spans


def _downtime(
    conn: sqlite3.Connection, since: float, end: float, now: float
) -> tuple[float, dict[str, float]]:
    """Running seconds and downtime seconds by cause within ``[since, end)``."""
    if end <= since:
        return 0.0, {}
    rows: list[tuple[int, float, str, str]] = []
    after = -math.inf
    if _has_table(conn, "line_states"):
        found = conn.execute(
            "SELECT time FROM line_states WHERE time < ? AND state = ? ORDER BY time DESC LIMIT 1",
            (since, EXECUTE),
        ).fetchone()
        after = found[0] if found else -math.inf
        rows = conn.execute(
            "SELECT session, time, state, cause FROM line_states WHERE time >= ? AND time < ?"
            " ORDER BY time, id",
            (after, end),
        ).fetchall()
    by_session: dict[int, list[tuple[float, str | None, str]]] = {}
    for session, at, state, cause in rows:
        by_session.setdefault(session, []).append((at, state, cause))
    # Segments (start, stop, state, cause); state None is a gap between sessions.
    segments: list[tuple[float, float, str | None, str]] = []
    cursor = after
    for start, stop, session in _sessions(conn, after, now):
        if start > cursor:
            segments.append((cursor, start, None, NOT_RUNNING))
        marks = [(start, CONTROLLER_STARTED, "controller started")] + [
            (max(at, start), state, cause)
            for at, state, cause in by_session.get(session, [])
            if at < stop
        ]
        stops = [at for at, _, _ in marks[1:]] + [stop]
        for (at, state, cause), following in zip(marks, stops, strict=True):
            segments.append((at, following, state, cause))
        cursor = max(cursor, stop)
    if cursor < end:
        segments.append((cursor, end, None, NOT_RUNNING))
    running, down = 0.0, {}
    episode: str | None = None
    for start, stop, state, cause in segments:
        charge: str | None
        if state is None:
            episode, charge = None, NOT_RUNNING
        elif state == EXECUTE:
            episode, charge = None, None
        elif state == LINK_DOWN:
            charge = f"{LINK_DOWN}: {cause}"
            episode = episode or charge
        else:
            episode = episode or cause
            charge = episode
        seconds = min(stop, end) - max(start, since)
        if seconds > 0:
            if charge is None:
                running += seconds
            else:
                down[charge] = down.get(charge, 0.0) + seconds
    return running, dict(sorted(down.items(), key=lambda item: -item[1]))


def _report(path: Path, since: float, until: float, now: float) -> ShiftReport:
    end = max(since, min(until, now))
    period = {"since": since, "until": until, "b": PEAK_BUCKET_S}
    conn = _connect(path)
    try:
        inducted, read, weight, dims, both, *states = (
            n or 0 for n in conn.execute(_PARCEL_SUMS, period).fetchone()
        )
        by_state = {state.value: n for state, n in zip(ParcelState, states, strict=True)}
        rejects = {reason or "unspecified": n for reason, n in conn.execute(_REJECTS, period)}
        never_scanned = conn.execute(_NEVER_SCANNED, period).fetchone()[0] if inducted else 0
        answers = sorted(row[0] for row in conn.execute(_ANSWERS, period))
        peak = conn.execute(_PEAK, period).fetchone()[0] or 0
        running, down = _downtime(conn, since, end, now)
    except sqlite3.Error as err:
        raise JournalError(f"{path}: cannot read the journal: {err}") from err
    finally:
        conn.close()
    return ShiftReport(
        since=since,
        until=until,
        end=end,
        inducted=inducted,
        by_state=by_state,
        scanned=inducted - never_scanned,
        read=read,
        rejects_by_reason=dict(sorted(rejects.items(), key=lambda item: (-item[1], item[0]))),
        with_weight=weight,
        with_dimensions=dims,
        with_both=both,
        answered=len(answers),
        answer_p50_ms=_nearest_rank(answers, 50),
        answer_p99_ms=_nearest_rank(answers, 99),
        peak_5min=peak,
        running_s=running,
        downtime_by_cause=down,
    )


async def shift_report(
    journal_path: str | Path, since: float, until: float, now: float | None = None
) -> ShiftReport:
    """The KPIs of ``[since, until)`` (epoch s); ``now`` (default: the wall clock) ends the
    time figures. Raises ReportError for an invalid period, JournalError when unreadable."""
    check_period(since, until)
    now = time.time() if now is None else now
    return await asyncio.to_thread(_report, Path(journal_path), since, until, now)


def _series(path: Path, since: float, until: float, bucket_s: int) -> list[tuple[float, int]]:
    conn = _connect(path)
    try:
        counts = dict(
            conn.execute(_SERIES, {"since": since, "until": until, "b": bucket_s}).fetchall()
        )
    except sqlite3.Error as err:
        raise JournalError(f"{path}: cannot read the journal: {err}") from err
    finally:
        conn.close()
    buckets = math.ceil((until - since) / bucket_s)
    return [(since + i * bucket_s, counts.get(i, 0)) for i in range(buckets)]


async def throughput_series(
    journal_path: str | Path, since: float, until: float, bucket_s: int = 60
) -> list[tuple[float, int]]:
    """Parcels reaching a terminal state per ``bucket_s`` bucket from ``since`` (epoch s) to
    ``until``: (bucket start, count), every bucket present, empty ones as 0."""
    if bucket_s <= 0:
        raise ReportError("bucket_s", "bucket_s must be positive")
    check_period(since, until)
    if (until - since) / bucket_s > MAX_BUCKETS:
        raise ReportError("bucket_s", f"more than {MAX_BUCKETS} buckets: use larger buckets")
    return await asyncio.to_thread(_series, Path(journal_path), since, until, bucket_s)

"""The site relay's counters: rows, backlog, batches and the relay lag, shared between the
relay's thread (which writes them) and any reader (:meth:`RelayCounters.snapshot`).

The lag of an event is the wall-clock time the relay saw its batch's commit return, less
the event's own time in the journal: journal commit → row committed in PostgreSQL.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from controller.histogram import Histogram, percentiles

#: Relay lag buckets in seconds (journal event time to the row's commit in PostgreSQL).
LAG_BUCKETS_S = (
    0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
)  # fmt: skip


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
    journal_behind: str | None = None
    """Set while the site holds a higher position for a stream than the journal's highest
    row (a journal replaced under the same line name): what would be skipped."""


class RelayCounters:
    """The counters behind :class:`RelayStats`, guarded by one lock."""

    def __init__(self, streams: Sequence[str]):
        self._lock = threading.Lock()
        self._rows = dict.fromkeys(streams, 0)
        self._backlog = dict.fromkeys(streams, 0)
        self._batches = 0
        self._lags: deque[float] = deque(maxlen=10_000)
        self._histogram = Histogram(LAG_BUCKETS_S)
        self.connected = False
        self.last_error: str | None = None
        self.last_commit: float | None = None
        self.journal_behind: str | None = None

    def set_state(self, connected: bool, error: str | None = None) -> None:
        """Set the connection state and, when given, the last error."""
        with self._lock:
            self.connected = connected
            if error is not None:
                self.last_error = error

    def set_error(self, error: str) -> None:
        """Note an error that does not change the connection state (the journal's)."""
        with self._lock:
            self.last_error = error

    def set_behind(self, warning: str | None) -> None:
        """Set or clear the journal-behind warning."""
        with self._lock:
            self.journal_behind = warning

    def set_backlog(self, tops: Mapping[str, int], positions: Mapping[str, int]) -> None:
        """Backlog per stream: the journal's highest row less the site's position."""
        with self._lock:
            for name, top in tops.items():
                self._backlog[name] = max(0, top - positions.get(name, 0))

    def committed(
        self, committed: float, rows: Mapping[str, int], event_times: Iterable[float]
    ) -> None:
        """A batch committed at ``committed`` (epoch s, after the commit returned): its row
        counts per stream and the journal times of its parcel events."""
        with self._lock:
            self._batches += 1
            self.last_commit = committed
            for name, count in rows.items():
                self._rows[name] += count
            for event_time in event_times:
                lag = max(0.0, committed - event_time)
                self._lags.append(lag)
                self._histogram.observe(lag)

    def snapshot(self) -> RelayStats:
        """The counters now."""
        with self._lock:
            p50, p99 = percentiles(list(self._lags), (50, 99))
            return RelayStats(
                connected=self.connected,
                rows=dict(self._rows),
                backlog=dict(self._backlog),
                batches=self._batches,
                lag_p50_s=p50,
                lag_p99_s=p99,
                last_error=self.last_error,
                last_commit=self.last_commit,
                lag_histogram=self._histogram.cumulative(),
                journal_behind=self.journal_behind,
            )

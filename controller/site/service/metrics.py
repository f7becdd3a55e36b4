"""The site's Prometheus metrics, read at scrape time (the store's counters and each line's
status); while PostgreSQL is down only ``lanesort_site_postgres_up 0`` and the lines'
reachability are served, so the scrape itself never fails. Site totals are left to the
query (``sum by (state) (lanesort_site_parcels)``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from controller.site.schema import TERMINAL_STATES as TERMINAL
from controller.site.service.errors import SiteStoreUnavailable
from controller.site.service.site import Site


class _Snapshot(Collector):
    """The metric families of one scrape's data."""

    def __init__(self, site: Site, counters: dict[str, Any] | None):
        self.site = site
        self.counters = counters

    def collect(self) -> Iterator[Metric]:
        """The metric families."""
        up = GaugeMetricFamily(
            "lanesort_site_postgres_up", "1 when the site store (PostgreSQL) answers"
        )
        up.add_metric([], 1.0 if self.counters is not None else 0.0)
        yield up
        reachable = GaugeMetricFamily(
            "lanesort_site_line_reachable",
            "1 when the line's REST API answered the site's last poll",
            labels=["line"],
        )
        alarms = GaugeMetricFamily(
            "lanesort_site_line_alarms_active",
            "Active alarms the line reported (-1: never answered)",
            labels=["line"],
        )
        for name, status in self.site.watcher.status.items():
            reachable.add_metric([name], 1.0 if status.reachable else 0.0)
            alarms.add_metric([name], float(status.active_alarms or 0) if status.state else -1.0)
        yield reachable
        yield alarms
        pending = GaugeMetricFamily(
            "lanesort_site_pending_parts",
            "Manifest and route-plan parts waiting for a line that could not be reached",
            labels=["line"],
        )
        for name, parts in self.site.distributor.pending().items():
            pending.add_metric([name], len(parts))
        yield pending
        if self.site.retention is not None:
            purged = CounterMetricFamily(
                "lanesort_site_store_purged_rows",
                "Rows the site's retention deleted since the service started",
                labels=["table"],
            )
            for table, n in sorted(self.site.retention.deleted.items()):
                purged.add_metric([table], n)
            yield purged
        if self.counters is None:
            return
        lines = self.counters["lines"]
        parcels = CounterMetricFamily(
            "lanesort_site_parcels",
            "Parcels in the site store by terminal state",
            labels=["line", "state"],
        )
        hour = GaugeMetricFamily(
            "lanesort_site_parcels_last_hour",
            "Parcels that reached a terminal state in the last hour",
            labels=["line"],
        )
        age = GaugeMetricFamily(
            "lanesort_site_relay_age_seconds",
            "Seconds since the line's relay last committed to the site store",
            labels=["line"],
        )
        for name in sorted(set(lines) | set(self.site.config.lines)):
            entry = lines.get(name, {"states": {}, "last_hour": 0, "relay_age_s": None})
            for state in TERMINAL:
                parcels.add_metric([name, state], entry["states"].get(state, 0))
            hour.add_metric([name], entry["last_hour"])
            if entry["relay_age_s"] is not None:
                age.add_metric([name], entry["relay_age_s"])
        yield parcels
        yield hour
        yield age


async def metrics_text(site: Site) -> bytes:
    """The exposition text of one scrape."""
    try:
        counters: dict[str, Any] | None = await site.store.counters(max_age_s=1.0)
    except SiteStoreUnavailable:
        counters = None
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(site, counters))
    return generate_latest(registry)

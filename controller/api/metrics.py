"""Prometheus metrics, read from the line's snapshot at scrape time (no extra bookkeeping)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from controller.histogram import Histogram
from controller.line import LineController
from controller.parcels import TERMINAL_STATES


def _histogram(metric: str, doc: str, line: str, hist: Histogram) -> HistogramMetricFamily:
    family = HistogramMetricFamily(metric, doc, labels=["line"])
    family.add_metric(
        [line],
        [(str(b) if b != float("inf") else "+Inf", n) for b, n in hist.cumulative()],
        sum_value=hist.sum,
    )
    return family


class LineCollector(Collector):
    """Every LaneSort metric, from one snapshot of the line."""

    def __init__(self, line: LineController):
        self.line = line

    def collect(self) -> Iterator[Metric]:
        """The metric families (called by the registry on each scrape)."""
        line = self.line
        snap = line.snapshot()
        name = snap.line
        parcels = CounterMetricFamily(
            "lanesort_parcels", "Parcels by terminal state", labels=["line", "state"]
        )
        for state in sorted(TERMINAL_STATES):
            parcels.add_metric([name, state.value], snap.counts.get(state.value, 0))
        yield parcels
        inducted = CounterMetricFamily(
            "lanesort_parcels_inducted", "Parcels inducted", labels=["line"]
        )
        inducted.add_metric([name], snap.counts.get("inducted", 0))
        yield inducted
        reasons = CounterMetricFamily(
            "lanesort_parcels_rejected_by_reason",
            "Parcels rejected or lost, by reason",
            labels=["line", "reason"],
        )
        for reason, n in sorted(snap.reasons.items()):
            reasons.add_metric([name, reason], n)
        yield reasons
        yield _histogram(
            "lanesort_decision_latency_seconds",
            "From the PLC's destination request seen to the answer written",
            name,
            line.plc.answer_histogram,
        )
        yield _histogram(
            "lanesort_event_loop_lag_seconds",
            "How late the controller's event loop woke for a timer (sampled every 5 ms)",
            name,
            line.loop_lag.histogram,
        )
        links = GaugeMetricFamily(
            "lanesort_device_link_up", "1 when the device link is up", labels=["line", "device"]
        )
        for link in snap.links:
            links.add_metric([name, link.device], 1.0 if link.up else 0.0)
        yield links
        on_belt = GaugeMetricFamily(
            "lanesort_parcels_on_belt", "Parcels on the belt", labels=["line"]
        )
        on_belt.add_metric([name], snap.on_belt)
        yield on_belt
        state = GaugeMetricFamily(
            "lanesort_packml_state", "PackML state number (ISA-TR88)", labels=["line"]
        )
        state.add_metric([name], float(snap.packml_state) if snap.packml_state is not None else -1)
        yield state
        alarms = GaugeMetricFamily(
            "lanesort_alarms_active", "Active alarms by severity", labels=["line", "severity"]
        )
        for severity in ("info", "warning", "critical"):
            alarms.add_metric([name, severity], sum(a.severity == severity for a in snap.alarms))
        yield alarms
        manifest = GaugeMetricFamily(
            "lanesort_manifest_parcels", "Parcels in the manifest", labels=["line"]
        )
        manifest.add_metric([name], snap.manifest_size)
        yield manifest
        upstream = line.upstream.stats() if line.upstream is not None else None
        outbox = GaugeMetricFamily(
            "lanesort_outbox_events", "Upstream events in the outbox", labels=["line", "state"]
        )
        outbox.add_metric([name, "pending"], upstream.pending if upstream else 0)
        outbox.add_metric([name, "dead"], upstream.dead if upstream else 0)
        yield outbox
        age = GaugeMetricFamily(
            "lanesort_outbox_oldest_pending_seconds",
            "Age of the oldest event not yet delivered",
            labels=["line"],
        )
        age.add_metric([name], (upstream.oldest_pending_age_s or 0.0) if upstream else 0.0)
        yield age


def registry_for(app: FastAPI) -> CollectorRegistry:
    """The app's own registry (created on first use; no global state between apps)."""
    registry = getattr(app.state, "metrics_registry", None)
    if registry is None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(LineCollector(app.state.line))
        app.state.metrics_registry = registry
    return registry

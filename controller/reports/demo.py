"""The demo report: what the journal recorded, checked against the line twin's ground truth.

The journal says what the controller believes; the twin's truth file (written by
the simulator) says which parcel physically landed in which chute and how long
the PLC waited for each answer. A parcel is *sorted right* when it landed in a
chute of its true route; *sorted wrong* when it landed in any other sort chute.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from controller.histogram import percentile


@dataclass
class LatencyFigures:
    """Destination-answer latency in milliseconds."""

    count: int
    p50: float | None
    p99: float | None
    max: float | None

    @classmethod
    def of(cls, values: list[float]) -> LatencyFigures:
        """Figures of ``values`` (ms)."""
        return cls(
            len(values),
            _round(percentile(values, 50)),
            _round(percentile(values, 99)),
            _round(max(values) if values else None),
        )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@dataclass
class DemoReport:
    """The figures ``lanesort demo --report`` writes."""

    parcels_requested: int | None
    rate_pph: float
    seed: int
    inducted: int
    sorted_right_chute: int
    sorted_wrong_chute: int
    rejected: int
    rejected_by_reason: dict[str, int]
    lost: int
    """Lost by the PLC or the controller, plus parcels still without a terminal state at the
    end of a completed run (an interrupted run reports those as ``on_belt_at_stop``)."""
    without_terminal_state: int
    on_belt_at_stop: int
    more_than_one_terminal_state: int
    answer_latency_ms_plc: LatencyFigures
    answer_latency_ms_controller: LatencyFigures
    wall_time_s: float
    throughput_pph: float
    """Parcels per hour from the first induction to the last terminal state."""
    belt_speed_mps: float | None
    notes: list[str] = field(default_factory=list)
    upstream: dict[str, Any] | None = None
    """Webhook delivery: outbox events, delivered, what the TMS received (demo with a TMS)."""
    plan_changes: list[dict[str, Any]] = field(default_factory=list)
    """Sort-plan versions made during the run (re-planning): version, action, who, why."""
    putwall: dict[str, Any] | None = None
    """From chute to truck (a line with put walls): puts, loads, what was caught, trucks."""
    fleet: dict[str, Any] | None = None
    """Containers moved by AMRs and the AS/RS (a line with a fleet): moved, stored,
    retrieved, delivered in load order, failed by reason."""
    plc_reads: int | None = None
    """Reads of the PLC area the controller made in the run (the poll's cost driver)."""

    def to_json(self) -> str:
        """The report as indented JSON."""
        return json.dumps(asdict(self), indent=2) + "\n"


def read_journal(path: Path, session: int) -> dict[str, Any]:
    """Terminal events per parcel and answer latencies of one controller session."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        inducted = conn.execute(
            "SELECT uid, tracking_id FROM events WHERE session=? AND kind='inducted'", (session,)
        ).fetchall()
        terminals = conn.execute(
            "SELECT uid, tracking_id, state, chute, reason FROM events "
            "WHERE session=? AND kind='terminal'",
            (session,),
        ).fetchall()
        span = conn.execute(
            "SELECT min(time), max(time) FROM events WHERE session=?", (session,)
        ).fetchone()
        versions = dict(
            conn.execute(
                "SELECT tracking_id, json_extract(detail, '$.plan_version') FROM events "
                "WHERE session=? AND kind='assigned'",
                (session,),
            ).fetchall()
        )
        latencies = [
            r[0]
            for r in conn.execute(
                "SELECT answer_ms FROM parcels WHERE session=? AND answer_ms IS NOT NULL",
                (session,),
            )
        ]
    finally:
        conn.close()
    return {
        "inducted": inducted,
        "terminals": terminals,
        "latencies": latencies,
        "plan_versions": versions,
        "span_s": (span[1] - span[0]) if span and span[0] is not None else 0.0,
    }


def build_report(
    journal: dict[str, Any],
    truth: dict[str, Any] | None,
    plan: dict[str, list[int]],
    *,
    parcels_requested: int | None,
    rate_pph: float,
    seed: int,
    wall_time_s: float,
    interrupted: bool = False,
    plans: dict[int, dict[str, list[int]]] | None = None,
) -> DemoReport:
    """Compare the journal with the twin's truth and compute the figures.

    A parcel sorted to a chute of its true route in the sort plan it was decided with
    (``plans``: version -> plan, from the sort-plan history; the journal says which
    version) is right; any other sort chute is wrong. Without ``plans``, ``plan``.
    """
    notes: list[str] = []
    span = journal.get("span_s", 0.0)
    terminal_count = Counter(uid for uid, *_ in journal["terminals"])
    inducted_uids = {uid for uid, _ in journal["inducted"]}
    states = Counter(state for _, _, state, _, _ in journal["terminals"])
    reasons = Counter(
        reason for _, _, state, _, reason in journal["terminals"] if state == "rejected"
    )
    without = len([u for u in inducted_uids if terminal_count[u] == 0])
    several = len([u for u, n in terminal_count.items() if n > 1])
    right = wrong = 0
    plc_latency: list[float] = []
    twin_inducted = len(inducted_uids)
    belt = None
    if truth is not None:
        belt = truth.get("belt_speed_mps")
        parcels = truth.get("parcels", [])
        twin_inducted = len(parcels)
        for parcel in parcels:
            if parcel.get("answer_latency_ms") is not None:
                plc_latency.append(parcel["answer_latency_ms"])
            landed = parcel.get("landed_chute")
            if landed is None or parcel.get("result") != "DIVERTED":
                continue
            used = plan
            if plans and (v := journal.get("plan_versions", {}).get(parcel["tracking_id"])):
                used = plans.get(v, plan)
            if parcel.get("in_manifest") and landed in used.get(parcel.get("route"), []):
                right += 1
            else:
                wrong += 1
        seen_tids = {tid for _, tid in journal["inducted"]}
        unseen = [p["tracking_id"] for p in parcels if p["tracking_id"] not in seen_tids]
        if unseen:
            notes.append(f"{len(unseen)} parcels inducted by the twin never reached the journal")
            without += len(unseen)
    else:
        notes.append("no truth file: right/wrong chute counted from the journal's own view")
        right = states.get("sorted", 0)
    return DemoReport(
        parcels_requested=parcels_requested,
        rate_pph=rate_pph,
        seed=seed,
        inducted=twin_inducted,
        sorted_right_chute=right,
        sorted_wrong_chute=wrong,
        rejected=states.get("rejected", 0),
        rejected_by_reason=dict(sorted(reasons.items())),
        lost=states.get("lost", 0) + (0 if interrupted else without),
        without_terminal_state=without,
        on_belt_at_stop=without if interrupted else 0,
        more_than_one_terminal_state=several,
        answer_latency_ms_plc=LatencyFigures.of(plc_latency),
        answer_latency_ms_controller=LatencyFigures.of(journal["latencies"]),
        wall_time_s=round(wall_time_s, 2),
        throughput_pph=round(len(inducted_uids) / span * 3600, 1) if span else 0.0,
        belt_speed_mps=belt,
        notes=notes,
    )

"""System tests of upstream reporting: the TMS goes down mid-shift; the controller is killed.

Controller, line simulator and reference TMS simulator run as processes. Every
event in the controller's outbox must reach the TMS exactly once by idempotency
key (the TMS may see a retry twice; it counts those as duplicates), signed, and
in order per parcel.
"""

from __future__ import annotations

import time
from collections import defaultdict

import pytest

from tests.system.harness import Line, wait_until

pytestmark = pytest.mark.system


def _check_delivery(line: Line) -> dict:
    outbox = line.outbox()
    assert outbox, "no event in the outbox"
    assert {state for _, state, _, _ in outbox} == {"delivered"}
    received = line.tms_events()
    ids = [e["event_id"] for e in received]
    assert len(ids) == len(set(ids)), "an event was recorded twice"
    assert set(ids) == {event_id for event_id, _, _, _ in outbox}
    by_parcel: dict[str, list[int]] = defaultdict(list)
    for event in received:
        by_parcel[event["parcel_id"]].append(event["sequence"])
    for parcel, sequences in by_parcel.items():
        assert sequences == list(range(1, len(sequences) + 1)), (parcel, sequences)
    stats = line.tms_stats()
    assert stats["order_violations"] == 0 and stats["sequence_gaps"] == 0
    assert stats["bad_signatures"] == 0
    return stats


def test_a_tms_outage_mid_shift_loses_nothing(tmp_path):
    line = Line(tmp_path, parcels=150, rate_pph=54_000)
    try:
        line.start_controller()
        line.start_sim()
        wait_until(lambda: line.tms_stats()["received"] >= 40, 60, "the first events")
        line.tms_mode("down")
        down_at = len(line.tms_events())
        time.sleep(3)
        assert len(line.tms_events()) == down_at  # really down
        wait_until(lambda: line.terminal_count() >= 100, 60, "parcels sorted while down")
        pending = sum(1 for _, state, _, _ in line.outbox() if state == "pending")
        assert pending > 0
        line.tms_mode("up")
        wait_until(lambda: line.terminal_count() == 150, 90, "every parcel's terminal event")
        wait_until(
            lambda: all(state == "delivered" for _, state, _, _ in line.outbox()),
            60,
            "the backlog to drain",
        )
        stats = _check_delivery(line)
        types = stats["by_type"]
        assert types.get("parcel.measured", 0) >= 140  # the demo line weighs and measures
        assert sum(types.get(t, 0) for t in ("parcel.sorted", "parcel.rejected")) == 150
    finally:
        line.close()


def test_a_controller_killed_with_events_queued_delivers_them_after_restart(tmp_path):
    line = Line(tmp_path, parcels=60, rate_pph=36_000)
    try:
        line.tms_mode("down")
        line.start_controller()
        line.start_sim()
        wait_until(lambda: line.terminal_count() == 60, 60, "every parcel's terminal event")
        queued = line.outbox()
        assert len(queued) >= 100 and {s for _, s, _, _ in queued} == {"pending"}
        line.controller.kill()  # SIGKILL: no clean shutdown
        line.tms_mode("up")
        line.start_controller()
        wait_until(
            lambda: all(state == "delivered" for _, state, _, _ in line.outbox()),
            60,
            "the events queued before the kill to be delivered",
        )
        _check_delivery(line)
        assert len(line.tms_events()) == len(queued)
    finally:
        line.close()

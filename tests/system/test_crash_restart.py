"""System test: the controller is killed with SIGKILL mid-shift, again and again.

Controller (``lanesort run``), line simulator and reference TMS simulator run as
processes. During a shift of 1,000 parcels the controller is killed three times and
restarted 1–3 s later against the same data directory, the TMS is down for 10 s, and the
PLC drops its client connections once and stalls once (longer than the Modbus timeout).
Each restart finds a backlog in the PLC's scan ring (more than it holds: the PLC keeps
the rest and reports a ring overflow).

From the journal, the twin's ground truth and what the TMS received: every physical
parcel has exactly one terminal state, every record the journal opened is closed, no
parcel reached a chute that is not its route's, every read bound to a parcel is its own
label, and every terminal event reached the TMS exactly once and in order per parcel.
"""

from __future__ import annotations

import contextlib
import json
import random
import sqlite3
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from tests.system.harness import Line, wait_until

pytestmark = pytest.mark.system

PARCELS = 1000
RATE = 72_000
KILL_AT = (150, 400, 650)  # journal terminal counts at which the controller is killed
TERMINAL = ("sorted", "rejected", "lost")
TERMINAL_TYPES = {"parcel.sorted", "parcel.rejected", "parcel.lost"}
PLAN = {f"R{r:02d}": [r] + ([20 + r] if r <= 4 else []) for r in range(1, 21)}

# A belt fast enough for the rate (the simulator would speed it up and the controller's
# scan window would be wrong), parcels that fit, a short lost sweep.
CONFIG = """\
  belt_speed_mps: 16
  parcel_length_mm: [200, 400]
  lost_after_s: 5
"""
SCENARIO = """\
plc:
  - {at_s: 25, fault: disconnect}
  - {at_s: 45, fault: stall, seconds: 1.0}
"""


def _journal(data: Path) -> dict:
    conn = sqlite3.connect(data / "journal.sqlite")
    conn.row_factory = sqlite3.Row
    try:
        return {
            "records": conn.execute("SELECT * FROM parcels").fetchall(),
            "terminal": conn.execute("SELECT * FROM events WHERE kind = 'terminal'").fetchall(),
            "identified": conn.execute(
                "SELECT tracking_id, barcode, detail FROM events WHERE kind = 'identified'"
            ).fetchall(),
            "sessions": conn.execute("SELECT count(*) FROM sessions").fetchone()[0],
        }
    finally:
        conn.close()


def _open_records(line: Line) -> int:
    conn = sqlite3.connect(line.data / "journal.sqlite")
    try:
        placeholders = ", ".join("?" * len(TERMINAL))
        return conn.execute(
            f"SELECT count(*) FROM parcels WHERE state NOT IN ({placeholders})", TERMINAL
        ).fetchone()[0]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def shift(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crash")
    scenario = tmp / "scenario.yaml"
    scenario.write_text(SCENARIO)
    line = Line(tmp, PARCELS, RATE, config_extra=CONFIG, scenario=scenario)
    downtime = random.Random(13)
    try:
        line.start_controller()
        line.start_sim()
        for n, at in enumerate(KILL_AT):
            wait_until(lambda at=at: line.terminal_count() >= at, 120, f"{at} terminal states")
            line.controller.kill()
            if n == 1:
                line.tms_mode("down")
            time.sleep(downtime.uniform(1.0, 3.0))  # the controller is down this long
            line.start_controller()
            if n == 1:
                time.sleep(8)  # the TMS stays down about 10 s in all
                line.tms_mode("up")
        line.wait_sim_drained(180)
        # Each test below checks what these waited for: a record left open, or an event
        # never delivered, fails the test that names it instead of this fixture.
        with contextlib.suppress(AssertionError):
            wait_until(lambda: _open_records(line) == 0, 30, "every record to be closed")
        truth = line.stop_sim()
        with contextlib.suppress(AssertionError):
            wait_until(
                lambda: all(state == "delivered" for _, state, _, _ in line.outbox()),
                90,
                "the outbox to drain",
            )
        return {
            "truth": truth,
            "journal": _journal(line.data),
            "tms": line.tms_events(),
            "stats": line.tms_stats(),
            "outbox": line.outbox(),
            "log": (tmp / "controller.log").read_text(errors="replace"),
        }
    finally:
        line.close()


def test_the_controller_was_restarted_and_met_a_ring_overflow(shift):
    assert shift["journal"]["sessions"] == len(KILL_AT) + 1
    assert shift["log"].count("left open by an earlier run") == len(KILL_AT)
    assert shift["truth"]["stats"]["scan_ring_overflows"] > 0


def test_every_physical_parcel_has_exactly_one_terminal_state(shift):
    per_tracking_id = Counter(row["tracking_id"] for row in shift["journal"]["terminal"])
    physical = {p["tracking_id"] for p in shift["truth"]["parcels"]}
    assert len(physical) == PARCELS
    assert set(per_tracking_id) == physical
    assert {tid: n for tid, n in per_tracking_id.items() if n != 1} == {}


def test_every_record_the_journal_opened_is_closed(shift):
    records = shift["journal"]["records"]
    assert [dict(r) for r in records if r["state"] not in TERMINAL] == []
    assert len(records) == PARCELS


def test_no_parcel_reached_a_chute_that_is_not_its_route(shift):
    diverted = [p for p in shift["truth"]["parcels"] if p["result"] == "DIVERTED"]
    assert len(diverted) > PARCELS * 0.2  # parcels pass unanswered while it is down
    wrong = [p for p in diverted if p["landed_chute"] not in PLAN[p["route"]]]
    assert wrong == []
    sorted_ = {
        r["tracking_id"]: r["chute"] for r in shift["journal"]["terminal"] if r["state"] == "sorted"
    }
    assert sorted_ == {p["tracking_id"]: p["landed_chute"] for p in diverted}


def test_every_label_bound_to_a_parcel_is_its_own(shift):
    labels = {p["tracking_id"]: set(p["labels"]) for p in shift["truth"]["parcels"]}
    bound = [
        (r["tracking_id"], r["barcode"]) for r in shift["journal"]["identified"] if r["barcode"]
    ]
    assert len(bound) > PARCELS * 0.2
    assert [(tid, code) for tid, code in bound if code not in labels[tid]] == []


def test_parcels_not_sorted_say_why(shift):
    for row in shift["journal"]["terminal"]:
        if row["state"] == "rejected":
            assert row["reason"], dict(row)
        if row["state"] == "lost":
            assert json.loads(row["detail"] or "{}").get("why") or row["reason"], dict(row)


def test_every_terminal_event_reached_the_tms_once_and_in_order(shift):
    received = shift["tms"]
    ids = [e["event_id"] for e in received]
    assert len(ids) == len(set(ids))
    assert set(ids) == {event_id for event_id, _, _, _ in shift["outbox"]}
    sequences: dict[str, list[int]] = defaultdict(list)
    terminal: Counter[str] = Counter()
    for event in received:
        if "parcel_id" not in event or event["type"] == "container.closed":
            continue
        sequences[event["parcel_id"]].append(event["sequence"])
        terminal[event["parcel_id"]] += event["type"] in TERMINAL_TYPES
    assert {p: s for p, s in sequences.items() if s != list(range(1, len(s) + 1))} == {}
    assert {p: n for p, n in terminal.items() if n != 1} == {}
    assert len(terminal) == PARCELS
    stats = shift["stats"]
    assert stats["order_violations"] == 0 and stats["sequence_gaps"] == 0
    assert stats["bad_signatures"] == 0

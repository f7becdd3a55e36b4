"""The shift report and throughput series on journals with known parcels and line states."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from controller.errors import ReportError
from controller.journal.writer import Journal
from controller.packml import history as line_states
from controller.parcels.decision import Decision, Identification, RejectReason
from controller.parcels.state import ParcelTracker
from controller.reports import shift as shift_report
from controller.reports.shift import ShiftReport, throughput_series
from plc_configs.contract import SortResult

T0 = 1_700_000_000.0
HOUR = 3600.0

# (uid, state, reason, barcode, inducted - T0, answer_ms, weight, (l, w, h), events)
PARCELS = [
    (1, "sorted", None, "B1", 10, 10.0, "1.0", ("300", "200", "100"), ()),
    (2, "sorted", None, "B2", 20, 20.0, "2.0", (None, None, None), ()),
    (3, "sorted", None, "B3", 30, 30.0, None, ("300", "200", "100"), ()),
    (4, "rejected", "no_route", "B4", 40, 40.0, "4.0", ("1", "2", "3"), ()),
    # no read: the readers reported, nothing usable
    (5, "rejected", "no_read", None, 1600, 50.0, None, (None,) * 3, (("identified", None),)),
    # unknown parcel: a request for a tracking id never scanned
    (6, "rejected", "unknown_parcel", None, 1610, 60.0, None, (None,) * 3, (("assigned", "u"),)),
    # a confirmation for a parcel never scanned: its inducted event says so
    (7, "lost", None, None, 2200, None, None, (None,) * 3, (("terminal", None),)),
    # scanned, but the PLC gave up on the answer before the readers reported
    (8, "rejected", "answer_too_late", None, 2210, 70.0, None, (None,) * 3, (("terminal", None),)),
    # still on the belt, with a partial measurement
    (9, "assigned", None, "B9", 3500, 80.0, None, ("500", None, None), ()),
    # outside the period: just before, and at ``until``
    (10, "sorted", None, "B10", -10, 5.0, "1.0", ("1", "1", "1"), ()),
    (11, "sorted", None, "B11", HOUR, 5.0, "1.0", ("1", "1", "1"), ()),
]
_EVENT_REASONS = {None: None, "u": "unknown_parcel"}
NOT_SCANNED = {7: '{"not_scanned":"sort confirmation"}'}

# (session, time - T0, state, cause)
STATES = [
    (1, -600, "Controller started", "controller started"),
    (1, -590, "Execute", "PLC"),
    (1, 600, "Stopping", "stop by alice"),
    (1, 605, "Stopped", "stop by alice"),
    (1, 900, "Resetting", "reset by bob"),
    (1, 905, "Idle", "reset by bob"),
    (1, 910, "Starting", "start by bob"),
    (1, 915, "Execute", "start by bob"),
    (1, 1000, "Aborting", "ESTOP"),
    (1, 1001, "Aborted", "ESTOP"),
    # session 1 crashed; last seen at +1200, the controller started again at +1500
    (2, 1500, "Controller started", "controller started"),
    (2, 1510, "Execute", "PLC"),
    (2, 2000, "PLC link down", "no answer in 500 ms"),
    (2, 2100, "Execute", "PLC"),
    (2, 3000, "Held", "JAM"),
    (2, 3060, "Execute", "PLC"),
]
SESSIONS = [(1, -600, 1200), (2, 1500, 3590)]  # (id, started, last seen) - T0


async def _empty_journal(path: Path) -> Path:
    journal = Journal(path, "test-line")
    journal.add_schema(line_states.SCHEMA)
    journal.add_schema(shift_report.SCHEMA)
    await journal.open()
    await journal.close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DELETE FROM sessions")
    conn.close()
    return path


@pytest.fixture
async def journal(tmp_path) -> Path:
    path = await _empty_journal(tmp_path / "journal.sqlite")
    conn = sqlite3.connect(path)
    with conn:
        for session, started, seen in SESSIONS:
            conn.execute(
                "INSERT INTO sessions(id, started, line) VALUES(?, ?, 'test-line')",
                (session, T0 + started),
            )
            conn.execute("INSERT INTO line_alive VALUES(?, ?)", (session, T0 + seen))
        for session, at, state, cause in STATES:
            conn.execute(
                "INSERT INTO line_states(session, time, state, cause) VALUES(?, ?, ?, ?)",
                (session, T0 + at, state, cause),
            )
        for uid, state, reason, barcode, at, answer, kg, (ln, wd, ht), events in PARCELS:
            terminal = state in ("sorted", "rejected", "lost")
            conn.execute(
                "INSERT INTO parcels(session, uid, tracking_id, barcode, state, reason, inducted,"
                " updated, answer_ms, weight_kg, length_mm, width_mm, height_mm)"
                " VALUES(2, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (uid, uid, barcode, state, reason, T0 + at, T0 + at + (5 if terminal else 1),
                 answer, kg, ln, wd, ht),
            )  # fmt: skip
            for kind, why in (("inducted", None), *events):
                detail = NOT_SCANNED.get(uid) if kind == "inducted" else None
                conn.execute(
                    "INSERT INTO events(session, time, uid, tracking_id, kind, state, reason,"
                    " detail) VALUES(2, ?, ?, ?, ?, ?, ?, ?)",
                    (T0 + at, uid, uid, kind, state, _EVENT_REASONS[why], detail),
                )
    conn.close()
    return path


async def _report(path: Path, since: float = 0, until: float = HOUR, now: float = HOUR + 5):
    return await shift_report.shift_report(path, T0 + since, T0 + until, T0 + now)


async def test_every_parcel_kpi_has_its_exact_value(journal):
    report = await _report(journal)
    assert report.inducted == 9
    assert report.by_state == {
        "inducted": 0,
        "identified": 0,
        "assigned": 1,
        "sorted": 3,
        "rejected": 4,
        "lost": 1,
    }
    k = report.to_dict()
    assert k["parcels"] == {"inducted": 9}
    assert k["read"] == {"scanned": 7, "read": 5, "read_rate_pct": 71.43}
    assert k["rejects"] == {"rejected": 4, "reject_rate_pct": 44.44}
    assert k["rejects_by_reason_count"] == {
        "answer_too_late": 1,
        "no_read": 1,
        "no_route": 1,
        "unknown_parcel": 1,
    }
    assert set(k["rejects_by_reason_pct"].values()) == {11.11}
    assert k["measurement"] == {
        "with_weight": 3,
        "with_weight_pct": 33.33,
        "with_dimensions": 3,
        "with_dimensions_pct": 33.33,
        "with_both": 2,
        "with_both_pct": 22.22,
    }
    assert k["answer"] == {"answered": 8, "p50_ms": 40.0, "p99_ms": 80.0}
    assert k["throughput"] == {
        "parcels_per_h_running": round(9 * HOUR / 2615, 1),
        "parcels_per_h_wall": 9.0,
        "peak_parcels_per_h_5min": 48.0,
    }


async def test_downtime_is_charged_to_what_stopped_the_line_and_to_the_session_gap(journal):
    report = await _report(journal)
    assert report.downtime_by_cause == {
        "stop by alice": 315.0,
        "controller not running": 300.0,
        "ESTOP": 200.0,
        "PLC link down: no answer in 500 ms": 100.0,
        "JAM": 60.0,
        "controller started": 10.0,
    }
    assert report.running_s == 2615.0
    assert report.running_s + report.downtime_s == report.period_s == HOUR
    assert report.to_dict()["period"]["availability_pct"] == 72.64


async def test_an_episode_begun_before_the_period_keeps_its_cause(journal):
    report = await _report(journal, since=700, until=950)
    assert report.downtime_by_cause == {"stop by alice": 215.0}
    assert report.running_s == 35.0


async def test_a_crashed_last_session_ends_when_last_seen_and_a_running_one_at_now(journal):
    later = await _report(journal, since=3000, until=HOUR + 600, now=HOUR + 600)
    assert later.downtime_by_cause == {"JAM": 60.0, "controller not running": 610.0}
    assert later.running_s == 530.0
    running = await _report(journal, since=3000, until=HOUR + 600, now=HOUR)
    assert running.end == T0 + HOUR and running.running_s == 540.0
    assert running.downtime_by_cause == {"JAM": 60.0}


async def test_a_cleanly_stopped_controller_is_not_running_afterwards(journal):
    conn = sqlite3.connect(journal)
    with conn:
        conn.execute(
            "INSERT INTO line_states(session, time, state, cause) VALUES(2, ?, ?, ?)",
            (T0 + 3580, line_states.CONTROLLER_STOPPED, "controller stopped"),
        )
        conn.execute("UPDATE line_alive SET time = ? WHERE session = 2", (T0 + 3580,))
    conn.close()
    report = await _report(journal, since=3500, until=HOUR, now=HOUR)
    assert report.running_s == 80.0
    assert report.downtime_by_cause == {"controller not running": 20.0}


async def test_the_csv_is_one_three_column_table_a_spreadsheet_reads(journal):
    text = (await _report(journal)).to_csv()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "key", "value"]
    assert all(len(row) == 3 for row in rows)
    cells = {(section, key): value for section, key, value in rows[1:]}
    assert cells[("read", "read_rate_pct")] == "71.43"
    assert cells[("period", "since")] == "2023-11-14T22:13:20Z"
    assert cells[("downtime_by_cause_s", "PLC link down: no answer in 500 ms")] == "100.0"
    assert cells[("parcels_by_state", "sorted")] == "3"
    assert text.endswith("\r\n")


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_quoted():
    report = ShiftReport(
        T0, T0 + 1, T0 + 1, 0, {}, 0, 0, {}, 0, 0, 0, 0, None, None, 0, 0.0, {"=cmd()": 1.0}
    )
    rows = list(csv.reader(io.StringIO(report.to_csv())))
    assert ["downtime_by_cause_s", "'=cmd()", "1.0"] in rows


async def test_an_empty_period_is_all_zeros_and_no_rates(tmp_path):
    path = await _empty_journal(tmp_path / "journal.sqlite")
    report = await shift_report.shift_report(path, T0, T0 + HOUR, T0 + 2 * HOUR)
    assert report.inducted == 0 and report.answer_p50_ms is None and report.peak_5min == 0
    k = report.to_dict()
    assert k["read"]["read_rate_pct"] is None and k["rejects"]["reject_rate_pct"] is None
    assert k["throughput"]["parcels_per_h_running"] is None
    assert report.downtime_by_cause == {"controller not running": HOUR}
    json.dumps(k)
    rows = list(csv.reader(io.StringIO(report.to_csv())))
    assert ["read", "read_rate_pct", ""] in rows


async def test_an_invalid_period_names_the_field(journal):
    with pytest.raises(ReportError, match="after since") as err:
        await shift_report.shift_report(journal, T0, T0)
    assert err.value.field == "until"
    with pytest.raises(ReportError, match="31 days"):
        await shift_report.shift_report(journal, T0, T0 + 32 * 86400)


async def test_the_series_counts_terminal_parcels_in_every_bucket(journal):
    series = await throughput_series(journal, T0, T0 + HOUR, 600)
    assert series == [
        (T0, 4),
        (T0 + 600, 0),
        (T0 + 1200, 2),
        (T0 + 1800, 2),
        (T0 + 2400, 0),
        (T0 + 3000, 0),
    ]
    with pytest.raises(ReportError) as err:
        await throughput_series(journal, T0, T0 + HOUR, 0)
    assert err.value.field == "bucket_s"


def _plan(sql: str, path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        args = {"since": T0, "until": T0 + HOUR, "b": 60}
        return " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", args))
    finally:
        conn.close()


async def test_the_queries_use_the_time_indices(journal):
    for sql in (
        shift_report._PARCEL_SUMS,
        shift_report._REJECTS,
        shift_report._ANSWERS,
        shift_report._PEAK,
        shift_report._NEVER_SCANNED,
    ):
        assert "INDEX parcels_by_time (inducted>? AND inducted<?)" in _plan(sql, journal)
    assert "INDEX events_by_parcel (session=? AND uid=?)" in _plan(
        shift_report._NEVER_SCANNED, journal
    )
    assert "USING COVERING INDEX parcels_by_time" in _plan(shift_report._PEAK, journal)
    assert "USING COVERING INDEX parcels_by_updated" in _plan(shift_report._SERIES, journal)


async def test_the_real_journal_writer_counts_reads_no_reads_and_unknown_parcels(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite", "test-line", clock=lambda: 100.0)
    await journal.open()
    tracker = ParcelTracker()
    events = []
    read, scanned_blank = tracker.on_scan(1, 10.0)[0], tracker.on_scan(2, 10.0)[0]
    events += tracker.on_identified(read, Identification("B1"), (), "B1", 11.0)
    events += tracker.on_identified(scanned_blank, Identification(None), (), "", 11.0)
    unknown, new = tracker.on_request(3, 12.0)
    events += new
    for parcel, decision in (
        (read, Decision(1, "A", None)),
        (scanned_blank, Decision(9, None, RejectReason.NO_READ)),
        (unknown, Decision(9, None, RejectReason.UNKNOWN_PARCEL)),
    ):
        tracker.on_request(parcel.tracking_id, 12.0)
        events += tracker.on_answered(parcel, decision, 12.5)
    events += tracker.on_confirmation(1, 1, SortResult.DIVERTED, 13.0)
    events += tracker.on_confirmation(2, 9, SortResult.REJECT_REQUESTED, 13.0)
    events += tracker.on_confirmation(3, 9, SortResult.NO_ANSWER, 13.0)
    journal.extend(events)
    await journal.close()
    wall = journal.wall_offset
    report = await shift_report.shift_report(journal.path, wall, wall + 60, wall + 60)
    assert (report.inducted, report.scanned, report.read) == (3, 2, 1)
    assert report.rejects_by_reason == {"answer_too_late": 1, "no_read": 1}
    assert report.answer_p50_ms == 500.0

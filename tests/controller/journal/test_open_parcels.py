"""Records an earlier run left open, read back from a real journal, closed under their own id."""

import sqlite3
import time
from decimal import Decimal

from controller.journal.open_parcels import read_open_records, read_recent_finished
from controller.journal.writer import Journal
from controller.parcels.decision import Decision, Identification, RejectReason
from controller.parcels.measurement import Measurement
from controller.parcels.resume import remember_finished, resume_open
from controller.parcels.state import ParcelState, ParcelTracker
from drivers.dimensioner.base import Dimensions
from plc_configs.contract import SortResult

MEASURED = Measurement(
    dimensions=Dimensions(Decimal("300"), Decimal("200.5"), Decimal("150"), True, "raw"),
    dimensions_device="dim",
    weight_error="no answer",
    volumetric_kg=Decimal("1.80375"),
)


async def _first_run(path) -> None:
    """Session 1: parcel 1 sorted, 2 answered (no route), 3 identified and measured."""
    journal = Journal(path, "test-line")
    await journal.open()
    tracker = ParcelTracker()
    events = []
    t = time.monotonic()  # the journal's clock
    for tid in (1, 2, 3):
        parcel, more = tracker.on_scan(tid, t)
        events += more
        events += tracker.on_identified(parcel, Identification(f"LS{tid}"), (), "", t + 0.1)
        events += tracker.on_measured(parcel, MEASURED, t + 0.1)
    for tid, decision in (
        (1, Decision(3, "R03", None)),
        (2, Decision(32, None, RejectReason.NO_ROUTE, "not in the manifest")),
    ):
        parcel, more = tracker.on_request(tid, t + 0.2)
        events += more + tracker.on_answered(parcel, decision, t + 0.21)
    events += tracker.on_confirmation(1, 3, SortResult.DIVERTED, t + 1.0)
    journal.extend(events)
    await journal.close()  # as far as it got: parcels 2 and 3 are open


async def test_open_records_come_back_with_what_their_events_said(tmp_path):
    path = tmp_path / "journal.sqlite"
    await _first_run(path)
    journal = Journal(path, "test-line")
    await journal.open()
    try:
        records = sorted(read_open_records(path, journal.session), key=lambda r: r.tracking_id)
        assert [(r.session, r.tracking_id, r.state) for r in records] == [
            (1, 2, ParcelState.ASSIGNED),
            (1, 3, ParcelState.IDENTIFIED),
        ]
        assert records[0].reason == "no_route" and records[0].chute == 32
        assert records[0].why == "not in the manifest"
        assert records[1].measured is not None
        assert Measurement.from_detail(records[1].measured) == MEASURED
        assert abs(records[1].updated - time.time()) < 60
        finished = read_recent_finished(path, journal.session, time.time() - 60, 10)
        assert [(r.tracking_id, r.state, r.chute) for r in finished] == [(1, ParcelState.SORTED, 3)]
        tracker = ParcelTracker()
        remember_finished(tracker, finished)
        resume_open(tracker, records, 5.0, time.time(), 3600, measures=True)
        journal.extend(tracker.on_confirmation(2, 32, SortResult.REJECT_REQUESTED, 6.0))
        journal.extend(tracker.on_confirmation(1, 3, SortResult.DIVERTED, 6.1))  # a repeat
        await journal.barrier()
    finally:
        await journal.close()
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT session, uid, tracking_id, state, reason FROM parcels ORDER BY tracking_id"
        ).fetchall()
        lanes = conn.execute(
            "SELECT lane_key, sequence, type FROM outbox WHERE lane_key = '1:2' ORDER BY sequence"
        ).fetchall()
    finally:
        conn.close()
    assert rows == [
        (1, 1, 1, "sorted", None),
        (1, 2, 2, "rejected", "no_route"),
        (1, 3, 3, "identified", None),
    ]
    assert [t for _, _, t in lanes] == ["parcel.measured", "parcel.rejected"]
    assert [s for _, s, _ in lanes] == [1, 2]


async def test_a_journal_without_records_resumes_nothing(tmp_path):
    assert read_open_records(tmp_path / "none.sqlite", 1) == []
    assert read_recent_finished(tmp_path / "none.sqlite", 1, 0.0, 10) == []

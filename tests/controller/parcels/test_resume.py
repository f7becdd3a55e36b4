"""A restarted controller takes back the parcels an earlier run left open (pure logic)."""

from decimal import Decimal

from controller.parcels.decision import Identification, RejectReason
from controller.parcels.measurement import Measurement
from controller.parcels.resume import OpenRecord, remember_finished, resume_open
from controller.parcels.state import ParcelState, ParcelTracker
from drivers.scale.base import Weight, WeightMode
from plc_configs.contract import SortResult

WALL = 1_800_000_000.0
WEIGHED = Measurement(
    weight=Weight(
        Decimal("1.234"), Decimal("1.234"), "kg", True, WeightMode.GROSS, True, "S S 1.234 kg"
    ),
    weight_device="scale",
)


def _assigned(tid: int = 7, reason: str | None = None, chute: int = 3, **kw) -> OpenRecord:
    return OpenRecord(
        session=4, uid=70 + tid, tracking_id=tid, state=ParcelState.ASSIGNED, updated=WALL - 2,
        barcode=f"LS{tid}", route="R03", chute=chute, reason=reason, why="", **kw,
    )  # fmt: skip


def test_a_resumed_parcel_is_closed_under_its_own_record_with_its_reason():
    tracker = ParcelTracker()
    record = _assigned(reason="no_route", chute=32)
    assert resume_open(tracker, [record], 100.0, WALL, 3600, measures=False) == []
    assert len(tracker) == 1
    (event,) = tracker.on_confirmation(7, 32, SortResult.REJECT_REQUESTED, 101.0)
    assert event.terminal and event.state is ParcelState.REJECTED
    assert (event.session, event.uid, event.reason) == (4, 77, "no_route")
    assert event.barcode == "LS7" and event.route == "R03"


def test_a_repeated_request_for_a_resumed_parcel_keeps_its_decision():
    tracker = ParcelTracker()
    resume_open(tracker, [_assigned()], 100.0, WALL, 3600, measures=False)
    parcel, events = tracker.on_request(7, 100.5)
    assert events == [] and parcel.state is ParcelState.ASSIGNED
    assert parcel.decision is not None and parcel.decision.chute == 3


def test_a_parcel_the_readers_had_not_answered_for_is_a_no_read_saying_why():
    tracker = ParcelTracker()
    record = OpenRecord(4, 80, 8, ParcelState.INDUCTED, WALL - 1)
    events = resume_open(tracker, [record], 100.0, WALL, 3600, measures=True)
    assert [e.kind for e in events] == ["identified", "measured"]
    assert all(e.session == 4 and e.uid == 80 for e in events)
    assert events[0].detail["problem"] == "no_read"
    assert "controller stopped" in events[0].detail["why"]
    assert "controller stopped" in events[1].detail["weight_error"]
    parcel, _ = tracker.on_request(8, 100.2)
    assert parcel.identification is not None
    assert parcel.identification.reason is RejectReason.NO_READ


def test_an_identified_and_measured_parcel_keeps_both():
    tracker = ParcelTracker()
    record = OpenRecord(
        4, 81, 9, ParcelState.IDENTIFIED, WALL - 1, barcode="LS9",
        identified={"label": "lanesort", "postal_code": "12345", "symbols": []},
        measured=WEIGHED.to_detail(),
    )  # fmt: skip
    assert resume_open(tracker, [record], 100.0, WALL, 3600, measures=True) == []
    parcel = tracker.get(9)
    assert parcel is not None
    assert parcel.identification == Identification("LS9", None, "", "12345", "lanesort")
    assert parcel.measurement == WEIGHED
    # its label is on the belt: the same label on another parcel is a duplicate
    other, _ = tracker.on_scan(10, 100.1)
    (event,) = tracker.on_identified(other, Identification("LS9"), (), "", 100.2)
    assert event.detail["problem"] == "duplicate_barcode"


def test_records_older_than_the_resume_window_are_closed_as_lost():
    tracker = ParcelTracker()
    old = OpenRecord(2, 5, 11, ParcelState.ASSIGNED, WALL - 7200, chute=4, route="R04")
    (event,) = resume_open(tracker, [old], 100.0, WALL, 3600, measures=False)
    assert event.terminal and event.state is ParcelState.LOST
    assert (event.session, event.uid, event.route) == (2, 5, "R04")
    assert "no news for 7200 s" in event.detail["why"]
    assert len(tracker) == 0


def test_of_two_open_records_with_one_tracking_id_the_older_is_lost():
    tracker = ParcelTracker()
    older = OpenRecord(2, 5, 12, ParcelState.ASSIGNED, WALL - 60, chute=4)
    newer = OpenRecord(3, 6, 12, ParcelState.ASSIGNED, WALL - 5, chute=5)
    (event,) = resume_open(tracker, [newer, older], 100.0, WALL, 3600, measures=False)
    assert (event.session, event.uid, event.state) == (2, 5, ParcelState.LOST)
    assert "used again" in event.detail["why"]
    resumed = tracker.get(12)
    assert resumed is not None and resumed.session == 3


def test_a_repeated_confirmation_of_a_parcel_an_earlier_run_closed_changes_nothing():
    tracker = ParcelTracker()
    finished = OpenRecord(4, 90, 13, ParcelState.SORTED, WALL - 3, chute=3)
    remember_finished(tracker, [finished])
    assert tracker.on_confirmation(13, 3, SortResult.DIVERTED, 100.0) == []
    assert tracker.duplicate_confirmations == 1
    parcel, events = tracker.on_request(13, 100.1)
    assert events == [] and parcel.terminal


def test_a_backlog_scan_of_a_known_parcel_is_a_repeat():
    tracker = ParcelTracker()
    resume_open(tracker, [_assigned()], 100.0, WALL, 3600, measures=False)
    parcel, events = tracker.on_scan(7, 100.1, backlog=True)
    assert events == [] and parcel.session == 4


def test_a_fresh_scan_of_a_known_tracking_id_is_a_new_parcel_and_the_old_one_is_lost():
    tracker = ParcelTracker()
    resume_open(tracker, [_assigned()], 100.0, WALL, 3600, measures=False)
    parcel, events = tracker.on_scan(7, 100.1, backlog=False)
    assert [(e.kind, e.state, e.session) for e in events] == [
        ("terminal", ParcelState.LOST, 4),
        ("inducted", ParcelState.INDUCTED, None),
    ]
    assert "again" in events[0].detail["why"]
    assert parcel.session is None and tracker.get(7) is parcel


def test_a_fresh_scan_of_a_finished_tracking_id_starts_a_new_parcel():
    tracker = ParcelTracker()
    tracker.on_confirmation(14, 32, SortResult.NO_ANSWER, 1.0)
    parcel, events = tracker.on_scan(14, 2.0, backlog=False)
    assert [e.kind for e in events] == ["inducted"] and not parcel.terminal


def test_a_parcel_the_readers_were_not_triggered_for_says_why_in_its_induction():
    tracker = ParcelTracker()
    _, (event,) = tracker.on_scan(15, 1.0, not_scanned="reported after it left the field")
    assert event.detail == {"not_scanned": "reported after it left the field"}

from controller.parcels.decision import Decision, Identification, RejectReason
from controller.parcels.state import ParcelState, ParcelTracker
from plc_configs.contract import SortResult


def _through_answer(tracker: ParcelTracker, tid: int, decision: Decision):
    parcel, events = tracker.on_scan(tid, 1.0)
    events += tracker.on_identified(
        parcel, Identification("LS1"), (("LS1", "]C0", "reader"),), "raw", 1.1
    )
    parcel, more = tracker.on_request(tid, 1.2)
    events += more
    events += tracker.on_answered(parcel, decision, 1.201)
    return parcel, events


def test_happy_path_reaches_sorted_with_one_terminal_event():
    tracker = ParcelTracker()
    parcel, events = _through_answer(tracker, 7, Decision(3, "R03", None))
    assert [e.kind for e in events] == ["inducted", "identified", "assigned"]
    assert events[1].detail["symbols"] == [{"data": "LS1", "symbology": "]C0", "device": "reader"}]
    assert parcel.state is ParcelState.ASSIGNED
    assert abs(events[-1].detail["answer_ms"] - 1.0) < 1e-6
    done = tracker.on_confirmation(7, 3, SortResult.DIVERTED, 2.0)
    assert len(done) == 1 and done[0].terminal
    assert done[0].state is ParcelState.SORTED and done[0].chute == 3
    assert tracker.counts["sorted"] == 1 and len(tracker) == 0


def test_repeated_confirmation_changes_nothing():
    tracker = ParcelTracker()
    _through_answer(tracker, 7, Decision(3, "R03", None))
    assert tracker.on_confirmation(7, 3, SortResult.DIVERTED, 2.0)
    assert tracker.on_confirmation(7, 3, SortResult.DIVERTED, 2.1) == []
    assert tracker.duplicate_confirmations == 1
    assert tracker.counts["sorted"] == 1


def test_repeated_scan_event_does_not_start_a_second_parcel():
    tracker = ParcelTracker()
    first, events = tracker.on_scan(5, 1.0)
    again, more = tracker.on_scan(5, 1.5)
    assert again is first and more == [] and len(events) == 1


def test_reject_requested_keeps_the_decision_reason():
    tracker = ParcelTracker()
    _through_answer(tracker, 8, Decision(32, None, RejectReason.NO_ROUTE))
    (event,) = tracker.on_confirmation(8, 32, SortResult.REJECT_REQUESTED, 2.0)
    assert event.state is ParcelState.REJECTED and event.reason == "no_route"
    assert tracker.reasons == {"no_route": 1}


def test_plc_side_rejects_map_to_reasons():
    cases = {
        SortResult.NO_ANSWER: "answer_too_late",
        SortResult.CHUTE_FULL: "chute_full",
        SortResult.CHUTE_DISABLED: "chute_disabled",
        SortResult.INVALID_ANSWER: "invalid_answer",
    }
    for n, (result, reason) in enumerate(cases.items(), start=1):
        tracker = ParcelTracker()
        _through_answer(tracker, n, Decision(3, "R03", None))
        (event,) = tracker.on_confirmation(n, 32, result, 2.0)
        assert (event.state, event.reason) == (ParcelState.REJECTED, reason)


def test_plc_lost_is_lost():
    tracker = ParcelTracker()
    _through_answer(tracker, 9, Decision(3, "R03", None))
    (event,) = tracker.on_confirmation(9, 0, SortResult.LOST, 2.0)
    assert event.state is ParcelState.LOST and event.terminal


def test_misdivert_is_recorded_as_an_anomaly():
    tracker = ParcelTracker()
    _through_answer(tracker, 9, Decision(3, "R03", None))
    (event,) = tracker.on_confirmation(9, 4, SortResult.DIVERTED, 2.0)
    assert event.chute == 4 and "anomaly" in event.detail


def test_request_without_scan_is_an_unknown_parcel():
    tracker = ParcelTracker()
    parcel, events = tracker.on_request(42, 1.0)
    assert [e.kind for e in events] == ["inducted"]
    assert parcel.identification is not None
    assert parcel.identification.reason is RejectReason.UNKNOWN_PARCEL


def test_a_request_for_a_finished_parcel_is_an_expired_mailbox_not_a_new_parcel():
    """After a link outage the PLC's mailbox may still show a request whose parcel was
    confirmed meanwhile: it must not start a second, never-confirmed parcel."""
    tracker = ParcelTracker()
    tracker.on_scan(13, 1.0)
    tracker.on_confirmation(13, 32, SortResult.NO_ANSWER, 2.0)
    parcel, events = tracker.on_request(13, 2.1)
    assert events == [] and parcel.terminal and parcel.tracking_id == 13
    assert len(tracker) == 0 and tracker.counts["inducted"] == 1


def test_confirmation_for_unseen_parcel_is_still_recorded_once():
    tracker = ParcelTracker()
    events = tracker.on_confirmation(77, 32, SortResult.NO_ANSWER, 1.0)
    assert [e.kind for e in events] == ["inducted", "terminal"]
    assert tracker.on_confirmation(77, 32, SortResult.NO_ANSWER, 1.1) == []


def test_sweep_marks_silent_parcels_lost_and_only_them():
    tracker = ParcelTracker()
    _through_answer(tracker, 1, Decision(3, "R03", None))
    tracker.on_scan(2, 50.0)
    lost = tracker.sweep_lost(40.0, lost_after_s=30)
    assert [e.tracking_id for e in lost] == [1]
    assert lost[0].state is ParcelState.LOST
    assert [p.tracking_id for p in tracker.active()] == [2]


def test_identification_after_answer_is_ignored():
    tracker = ParcelTracker()
    parcel, _ = _through_answer(tracker, 3, Decision(3, "R03", None))
    assert tracker.on_identified(parcel, Identification("X"), (), "", 5.0) == []
    assert parcel.barcode == "LS1"


def test_finished_parcels_are_evicted_beyond_the_limit():
    tracker = ParcelTracker(keep_terminal=2)
    for tid in range(1, 5):
        tracker.on_confirmation(tid, 32, SortResult.NO_ANSWER, 1.0)
    assert tracker.get(1) is None and tracker.get(4) is not None


def test_answers_are_counted_per_route_sorted_or_not_once_each():
    tracker = ParcelTracker()
    parcel, _ = _through_answer(tracker, 1, Decision(3, "R03", None))
    tracker.on_answered(parcel, Decision(3, "R03", None), 1.3)  # a repeated answer
    _through_answer(tracker, 2, Decision(32, "R03", RejectReason.CHUTE_FULL))
    _through_answer(tracker, 3, Decision(32, None, RejectReason.NO_ROUTE))
    assert tracker.per_route == {"R03": 2}

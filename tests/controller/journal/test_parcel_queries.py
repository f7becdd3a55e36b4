from decimal import Decimal

import pytest

from controller.journal.parcel_queries import ParcelQueries, decode_cursor, encode_cursor
from controller.journal.writer import Journal
from controller.parcels.decision import Decision, Identification
from controller.parcels.measurement import Measurement
from controller.parcels.state import ParcelTracker
from drivers.scale.base import Weight, WeightMode
from plc_configs.contract import SortResult


def _weight() -> Weight:
    return Weight(
        kg=Decimal("1.234"),
        value=Decimal("1.234"),
        unit="kg",
        stable=True,
        mode=WeightMode.GROSS,
        legal_for_trade=False,
        raw="S S      1.234 kg",
    )


async def _journal_with(tmp_path, n: int, clock: float = 1000.0) -> Journal:
    journal = Journal(tmp_path / "journal.sqlite", "test-line", clock=lambda: clock)
    await journal.open()
    tracker = ParcelTracker()
    for i in range(1, n + 1):
        now = float(i)
        parcel, events = tracker.on_scan(i, now)
        events += tracker.on_identified(
            parcel, Identification(f"BC{i:03d}"), ((f"BC{i:03d}", "]C0", "r"),), "", now
        )
        events += tracker.on_measured(parcel, Measurement(weight=_weight(), weight_device="s"), now)
        parcel, more = tracker.on_request(i, now + 0.1)
        events += more
        events += tracker.on_answered(parcel, Decision(3, "R03", None), now + 0.101)
        result = SortResult.DIVERTED if i % 2 else SortResult.NO_ANSWER
        events += tracker.on_confirmation(i, 3 if i % 2 else 9, result, now + 0.5)
        journal.extend(events)
    await journal.barrier()
    return journal


async def test_a_parcel_by_barcode_has_state_route_chute_measurements_and_events(tmp_path):
    journal = await _journal_with(tmp_path, 3)
    await journal.close()
    parcel = ParcelQueries(tmp_path / "journal.sqlite").by_barcode("BC001")
    assert parcel["state"] == "sorted" and parcel["route"] == "R03" and parcel["chute"] == 3
    assert parcel["weight_kg"] == 1.234
    assert parcel["measurements"]["weight"]["raw"] == "S S      1.234 kg"
    kinds = [e["kind"] for e in parcel["events"]]
    assert kinds == ["inducted", "identified", "measured", "assigned", "terminal"]
    times = [e["time"] for e in parcel["events"]]
    assert times == sorted(times) and times[0] > 1_700_000_000  # wall clock, not monotonic
    assert ParcelQueries(tmp_path / "journal.sqlite").by_barcode("NOPE") is None


async def test_search_pages_by_time_and_state_with_a_cursor(tmp_path):
    journal = await _journal_with(tmp_path, 25)
    await journal.close()
    queries = ParcelQueries(tmp_path / "journal.sqlite")
    seen, cursor = [], None
    while True:
        page = queries.search(None, None, "sorted", 5, cursor)
        seen += [p["barcode"] for p in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [f"BC{i:03d}" for i in range(1, 26, 2)]
    first = queries.search(None, None, None, 100).items
    cut = first[10]["inducted"]
    assert [p["barcode"] for p in queries.search(cut, None, None, 100).items] == [
        p["barcode"] for p in first[10:]
    ]
    assert queries.search(None, cut, None, 100).items == first[:10]


def test_cursors_round_trip_and_foreign_cursors_are_refused():
    assert decode_cursor(encode_cursor(12.5, 3, 7)) == (12.5, 3, 7)
    with pytest.raises(ValueError, match="not a cursor"):
        decode_cursor("garbage!")


async def test_a_parcel_lookup_has_its_upstream_events_in_order_and_no_images_table_is_none(
    tmp_path,
):
    journal = await _journal_with(tmp_path, 1)  # a journal without the images table
    await journal.close()
    queries = ParcelQueries(tmp_path / "journal.sqlite")
    parcel = queries.by_barcode("BC001")
    assert parcel["images"] == [] and queries.images_of("BC001") == []
    assert queries.images_of("NOPE") is None
    assert [(e["sequence"], e["type"], e["state"]) for e in parcel["upstream"]] == [
        (1, "parcel.measured", "pending"),
        (2, "parcel.sorted", "pending"),
    ]
    event = parcel["upstream"][0]
    assert event["attempts"] == 0 and event["last_error"] is None
    assert event["next_attempt"] == event["created"] > 1_700_000_000  # due at once
    assert event["delivered"] is None and len(event["event_id"]) == 36

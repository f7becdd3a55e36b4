import json
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.journal.writer import Journal
from controller.parcels.state import ParcelEvent, ParcelState, ParcelTracker
from controller.upstream.payload import encode, event_type, iso_utc
from plc_configs.contract import SortResult
from tests.controller.upstream.helpers import (
    measurement,
    outbox_rows,
    parcel_events,
    reject_decision,
)


def _event(kind: str, state: ParcelState) -> ParcelEvent:
    return ParcelEvent(1.0, 1, 7, kind, state)


def test_only_measured_and_terminal_events_are_reported():
    assert event_type(_event("measured", ParcelState.IDENTIFIED)) == "parcel.measured"
    assert event_type(_event("terminal", ParcelState.SORTED)) == "parcel.sorted"
    assert event_type(_event("terminal", ParcelState.REJECTED)) == "parcel.rejected"
    assert event_type(_event("terminal", ParcelState.LOST)) == "parcel.lost"
    for kind, state in (
        ("inducted", ParcelState.INDUCTED),
        ("identified", ParcelState.IDENTIFIED),
        ("assigned", ParcelState.ASSIGNED),
    ):
        assert event_type(_event(kind, state)) is None


def test_decimals_are_json_numbers_written_exactly():
    text = encode({"kg": Decimal("2.500"), "v": Decimal("1.6666666666666666666666666667")})
    assert text == '{"kg":2.500,"v":1.6666666666666666666666666667}'
    assert encode([Decimal("NaN"), None, True, "ü"]) == '[null,null,true,"\\u00fc"]'
    assert json.loads(encode({"x": Decimal("1E+3")}), parse_float=Decimal) == {"x": Decimal("1E+3")}


def test_time_is_iso_utc_with_milliseconds():
    assert iso_utc(0.1234) == "1970-01-01T00:00:00.123Z"


async def test_measured_and_sorted_events_carry_exact_measurements(tmp_path):
    journal = Journal(tmp_path / "j.sqlite", "line-7")
    await journal.open()
    journal.extend(parcel_events(ParcelTracker(), 5, measure=measurement(), barcode="LS1"))
    await journal.barrier()
    await journal.close()
    measured, sorted_ = outbox_rows(tmp_path / "j.sqlite")
    assert (measured["type"], sorted_["type"]) == ("parcel.measured", "parcel.sorted")
    assert (measured["sequence"], sorted_["sequence"]) == (1, 2)
    assert measured["lane_key"] == sorted_["lane_key"] == f"{journal.session}:1"
    assert measured["state"] == "pending" and measured["attempts"] == 0
    for row in (measured, sorted_):
        body = row["body"]
        assert body["event_id"] == row["event_id"] and body["type"] == row["type"]
        assert body["parcel_id"] == f"{journal.session}-1" and body["line"] == "line-7"
        assert body["sequence"] == row["sequence"] and body["tracking_id"] == 5
        assert body["barcode"] == "LS1"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["time"])
        assert body["weight"] == {
            "kg": Decimal("2.500"),
            "raw": "S S     2.500 kg",
            "stable": True,
            "legal_for_trade": True,
            "device": "scale-1",
        }
        assert body["dimensions"] == {
            "length_mm": Decimal("400.5"),
            "width_mm": Decimal("300"),
            "height_mm": Decimal("200.25"),
            "raw": "L400",
            "device": "dim-1",
        }
        assert body["volumetric_weight_kg"] == Decimal("4.806")
        assert '"kg":2.500,' in row["payload"]  # the exact text, as a number
    assert sorted_["body"]["route"] == "R03" and sorted_["body"]["chute"] == 3
    assert sorted_["body"]["reason"] is None and sorted_["body"]["reason_detail"] is None
    assert measured["created"] < sorted_["created"]


async def test_rejected_and_lost_events_and_no_measurement(tmp_path):
    journal = Journal(tmp_path / "j.sqlite", "l")
    await journal.open()
    tracker = ParcelTracker()
    journal.extend(
        parcel_events(
            tracker, 1, result=SortResult.REJECT_REQUESTED, decision=reject_decision("no route!")
        )
    )
    journal.extend(parcel_events(tracker, 2, result=SortResult.CHUTE_FULL))
    journal.extend(parcel_events(tracker, 3, result=SortResult.LOST))
    _, events = tracker.on_scan(4, 10.0)
    journal.extend(events + tracker.sweep_lost(100.0, 30))
    await journal.barrier()
    await journal.close()
    rows = outbox_rows(tmp_path / "j.sqlite")
    assert [r["type"] for r in rows] == [
        "parcel.rejected",
        "parcel.rejected",
        "parcel.lost",
        "parcel.lost",
    ]
    assert [r["sequence"] for r in rows] == [1, 1, 1, 1]
    first, full, lost, swept = (r["body"] for r in rows)
    assert (first["reason"], first["reason_detail"], first["chute"]) == ("no_route", "no route!", 3)
    assert full["reason"] == "chute_full" and full["reason_detail"] == "the PLC reported CHUTE_FULL"
    assert lost["reason"] is None and lost["weight"] is None and lost["dimensions"] is None
    assert lost["volumetric_weight_kg"] is None
    assert swept["reason_detail"].startswith("no confirmation") and swept["barcode"] is None


async def test_only_configured_types_are_recorded(tmp_path):
    journal = Journal(tmp_path / "j.sqlite", "l", upstream_events=["parcel.sorted"])
    await journal.open()
    tracker = ParcelTracker()
    journal.extend(parcel_events(tracker, 1, measure=measurement()))
    journal.extend(parcel_events(tracker, 2, result=SortResult.LOST))
    await journal.barrier()
    await journal.close()
    rows = outbox_rows(tmp_path / "j.sqlite")
    assert [(r["type"], r["sequence"]) for r in rows] == [("parcel.sorted", 1)]
    assert rows[0]["body"]["weight"]["kg"] == Decimal("2.500")  # measurements still attached


def _encode_leaf_by_leaf(payload):
    """The reference: a json.dumps per leaf (the encoder before it was made one pass)."""
    if isinstance(payload, Decimal):
        return str(payload) if payload.is_finite() else "null"
    if isinstance(payload, dict):
        items = (f"{json.dumps(str(k))}:{_encode_leaf_by_leaf(v)}" for k, v in payload.items())
        return "{" + ",".join(items) + "}"
    if isinstance(payload, list | tuple):
        return "[" + ",".join(_encode_leaf_by_leaf(v) for v in payload) + "]"
    return json.dumps(payload, allow_nan=False)


_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.decimals(allow_nan=True, allow_infinity=True)
)
_json_values = st.recursive(
    _leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(_json_values)
def test_encode_is_json_dumps_with_exact_decimals(value):
    assert encode(value) == _encode_leaf_by_leaf(value)


def test_encode_refuses_what_json_refuses():
    for bad in (float("nan"), float("inf"), {"x": object()}):
        with pytest.raises((ValueError, TypeError)):
            encode(bad)

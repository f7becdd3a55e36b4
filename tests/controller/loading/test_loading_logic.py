"""Load plans, the door check, the truck ledger, the weight check and the load sheets."""

from __future__ import annotations

import csv
import io
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.loading.accounting import LedgerError, TruckLedger
from controller.loading.dock import DockCheck
from controller.loading.plan import LoadUnit, load_plan
from controller.loading.sheet import COLUMNS, load_sheet_csv, load_sheet_pdf
from controller.loading.weight_check import WeightPolicy, check_weight


def unit(uid: str, *stops: int, truck: str = "T1", route: str = "R1", kg: float = 5.0) -> LoadUnit:
    return LoadUnit(uid, "container", truck, route, stops, (f"{uid}-p1", f"{uid}-p2"), kg)


def test_plan_is_last_stop_first_with_zones() -> None:
    plan = load_plan("T1", [unit("A", 1), unit("C", 3), unit("B", 2), unit("X", 9, truck="T2")])
    assert [r.unit_id for r in plan.rows] == ["C", "B", "A"]
    assert [r.position for r in plan.rows] == ["front", "middle", "back"]
    assert plan.parcels == 6 and plan.weight_kg == 15.0


def test_a_unit_spanning_stops_goes_by_its_last() -> None:
    plan = load_plan("T1", [unit("A", 1, 4), unit("B", 3)], positions=("front",))
    assert [r.unit_id for r in plan.rows] == ["A", "B"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), min_size=1, max_size=30))
def test_any_plan_never_rises_in_stop(stops: list[tuple[int, int]]) -> None:
    units = [unit(f"U{i}", a, b) for i, (a, b) in enumerate(stops)]
    plan = load_plan("T1", units)
    last = [max(r.stops) for r in plan.rows]
    assert last == sorted(last, reverse=True)
    assert sorted(r.unit_id for r in plan.rows) == sorted(u.id for u in units)


def test_door_check_verdicts() -> None:
    plan = load_plan("T1", [unit("A", 1), unit("B", 2), unit("C", 3)])
    check = DockCheck("T1", plan, parcel_units={"A-p1": "A"}, other_trucks={"Z": "T2"}, held={"B"})
    assert check.scan("Z").kind == "wrong_truck"
    assert check.scan("nope").kind == "unknown"
    assert check.scan("A-p1").kind == "in_container"
    assert check.scan("B").kind == "held"
    verdict = check.scan("A")
    assert verdict.kind == "out_of_sequence" and "C" in verdict.reason
    assert check.scan("A").kind == "duplicate"
    assert check.scan("C").kind == "ok"
    assert check.loaded == ["A", "C"] and check.remaining() == ["B"]
    assert check.inversions() == [("A", "C")] and not check.in_sequence


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["A", "B", "C", "D", "x"]), max_size=20))
def test_no_scan_sequence_loads_a_unit_twice(scans: list[str]) -> None:
    plan = load_plan("T1", [unit("A", 1), unit("B", 2), unit("C", 3), unit("D", 3)])
    check = DockCheck("T1", plan)
    for code in scans:
        check.scan(code)
    assert len(check.loaded) == len(set(check.loaded))
    assert sorted(check.loaded + check.remaining()) == ["A", "B", "C", "D"]
    stops = [max(plan.row(u).stops) for u in check.loaded]
    assert check.in_sequence == all(a >= b for a, b in itertools.pairwise(stops))


def test_ledger_accounts_every_parcel() -> None:
    ledger = TruckLedger("T1", {"P1": 1, "P2": 1, "P3": 2, "P4": 2})
    ledger.mark("P1", "loaded")
    ledger.mark("P2", "rejected", "no_read")
    ledger.mark("P2", "loaded")  # came back through rework
    assert not ledger.mark("P2", "short", "damaged")  # loaded is final
    ledger.mark("P3", "short", "damaged")
    assert not ledger.accounted()
    assert ledger.close("departure") == 1
    assert ledger.accounted()
    summary = ledger.summary({"P1": 1.5, "P2": None}, {"P1": 0.01, "P2": 0.02})
    assert summary["outcomes"] == {"loaded": 2, "short": 1, "not_arrived": 1}
    assert summary["weight_kg"] == 1.5 and summary["unmeasured_weight"] == ["P2"]
    assert summary["volume_m3"] == 0.03
    assert [i["parcel_id"] for i in summary["not_loaded"]] == ["P3", "P4"]
    with pytest.raises(LedgerError):
        ledger.mark("nope", "loaded")
    with pytest.raises(LedgerError):
        ledger.mark("P1", "lost")


@pytest.mark.parametrize(
    ("measured", "ok"),
    [(10.8, True), (10.95, True), (10.55, True), (10.0, False), (12.3, False)],
)
def test_weight_check_policy(measured: float, ok: bool) -> None:
    policy = WeightPolicy(tolerance_kg=0.2, tolerance_share=0.03, tare_kg=0.8)
    verdict = check_weight(measured, [4.0, 6.0], policy)
    assert verdict.expected_kg == 10.8 and verdict.allowed_kg == pytest.approx(0.324)
    assert verdict.ok is ok
    if not ok:
        assert ("missing" in verdict.reason) == (measured < 10.8)


def test_weight_check_holds_a_container_with_an_unweighed_parcel() -> None:
    policy = WeightPolicy(0.2, 0.03, 0.8)
    verdict = check_weight(10.8, [4.0, 6.0, None], policy)
    assert not verdict.ok and verdict.unmeasured == 1 and "no tunnel weight" in verdict.reason
    lenient = WeightPolicy(0.2, 0.03, 0.8, allow_unmeasured=True)
    assert check_weight(10.8, [4.0, 6.0, None], lenient).ok


def test_load_sheets() -> None:
    plan = load_plan("T1", [unit("A", 1), unit("=HYPERLINK()", 2, route="=R2")])
    rows = list(csv.reader(io.StringIO(load_sheet_csv(plan, truck="T1", door="D1"))))
    assert tuple(rows[0]) == COLUMNS
    assert [r[4] for r in rows[1:]] == ["'=HYPERLINK()", "A"]
    pdf = load_sheet_pdf(plan, truck="T1", door="D1", compress=False)
    assert pdf.startswith(b"%PDF")
    assert b"Load sheet - truck T1" in pdf and b"(A)" in pdf
    compressed = load_sheet_pdf(plan, truck="T1", door="D1")
    assert compressed.startswith(b"%PDF") and len(compressed) < len(pdf)

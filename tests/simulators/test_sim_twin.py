"""Line twin and parcel generation: pure, stepped with an explicit clock."""

from __future__ import annotations

import itertools
import re
from collections import Counter

import pytest

from plc_configs.contract import SortResult
from simulators.parcels import Arrivals, ParcelFactory, ReaderOutcome, effective_belt_speed
from simulators.twin import Belt, EventKind, LineTwin
from tests.simulators.sim_helpers import make_config


def run_twin(twin: LineTwin, step_mm: float, until_mm: float, answer: int | None = None):
    """Advance in steps of ``step_mm``; answer every request with ``answer``."""
    events = []
    belt = 0.0
    while belt < until_mm:
        belt += step_mm
        for event in twin.advance(belt / 4000, belt):
            events.append((event.kind, event.parcel.tracking_id))
            if event.kind is EventKind.REQUESTED and answer is not None:
                twin.record_answer(event.parcel.tracking_id, answer, 1.0)
    return events


def test_same_seed_same_parcels_different_seed_differs():
    config = make_config()
    a, b = ParcelFactory(config, 11), ParcelFactory(config, 11)
    c = ParcelFactory(config, 12)
    specs_a = [a.spec(i) for i in range(1, 300)]
    assert specs_a == [b.spec(i) for i in range(1, 300)]
    assert [s.barcode for s in specs_a] != [c.spec(i).barcode for i in range(1, 300)]
    assert [s.route for s in specs_a] != [c.spec(i).route for i in range(1, 300)]


def test_spec_is_independent_of_call_order():
    factory = ParcelFactory(make_config(), 3)
    forward = [factory.spec(i) for i in range(1, 50)]
    backward = [factory.spec(i) for i in range(49, 0, -1)][::-1]
    assert forward == backward


def test_barcodes_unique_formatted_and_not_the_tracking_id():
    factory = ParcelFactory(make_config(), 5)
    codes = [factory.barcode(i) for i in range(1, 20001)]
    assert len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"LS[0-8]\d{9}", c) for c in codes)
    numbers = [int(c[2:]) for c in codes[:100]]
    assert numbers != list(range(1, 101))
    assert len({b - a for a, b in itertools.pairwise(numbers)}) > 50
    second = {factory.second_label(i) for i in range(1, 2001)}
    assert len(second) == 2000 and all(s.startswith("LS9") for s in second)
    assert not second & set(codes)


def test_twin_is_reproducible_whatever_the_step_size():
    config = make_config(simulation={"parcels": 40})
    fine = run_twin(LineTwin(config), 1.0, 20000, answer=2)
    coarse = run_twin(LineTwin(config), 97.0, 20000, answer=2)
    assert len([e for e in fine if e[0] is EventKind.LANDED]) == 40
    # Same events for the same parcels; order within one coarse step is belt order too.
    assert fine == coarse


def test_min_gap_is_respected():
    config = make_config(simulation={"parcels": 2000, "rate_pph": 200000, "min_gap_mm": 150})
    twin = LineTwin(config)
    twin.advance(0, 10_000_000)
    parcels = [twin.parcels[i] for i in sorted(twin.parcels)]
    assert len(parcels) == 2000
    gaps = [b.induct_mm - a.induct_mm - a.spec.length_mm for a, b in itertools.pairwise(parcels)]
    assert min(gaps) >= 150 - 1e-9
    # The belt was sped up to carry the rate: the mean spacing matches it anyway.
    mean_spacing = (parcels[-1].induct_mm - parcels[0].induct_mm) / (len(parcels) - 1)
    expected = 3600 / 200000 * twin.belt_speed_mps * 1000
    assert mean_spacing == pytest.approx(expected, rel=0.05)


def test_arrivals_keep_the_rate_and_the_gap():
    arrivals = Arrivals(3600, 1.0, min_gap_mm=300, seed=1, mean_length_mm=400)
    lengths = [300, 500] * 2500
    fronts = [arrivals.next_induct(n) for n in lengths]
    spacings = [b - a for a, b in itertools.pairwise(fronts)]
    assert all(s >= n + 300 for s, n in zip(spacings, lengths, strict=False))
    mean_spacing = (fronts[-1] - fronts[0]) / (len(fronts) - 1)
    assert mean_spacing == pytest.approx(1000, rel=0.05)  # 1 parcel/s at 1 m/s
    assert len({round(s) for s in spacings}) > 1000  # random, not a fixed pitch


def test_shares_roughly_match():
    config = make_config(
        simulation={
            "manifest_missing_share": 0.1,
            "reader": {
                "no_read_rate": 0.1,
                "multi_label_rate": 0.05,
                "duplicate_read_rate": 0.05,
                "late_answer_rate": 0.02,
                "garbled_rate": 0.03,
            },
        }
    )
    factory = ParcelFactory(config, 1)
    specs = [factory.spec(i) for i in range(1, 20001)]
    outcomes = Counter(s.reader_outcome for s in specs)
    n = len(specs)
    assert outcomes[ReaderOutcome.NO_READ] / n == pytest.approx(0.1, abs=0.01)
    assert outcomes[ReaderOutcome.MULTI_LABEL] / n == pytest.approx(0.05, abs=0.008)
    assert outcomes[ReaderOutcome.DUPLICATE_READ] / n == pytest.approx(0.05, abs=0.008)
    assert outcomes[ReaderOutcome.LATE_ANSWER] / n == pytest.approx(0.02, abs=0.005)
    assert outcomes[ReaderOutcome.GARBLED] / n == pytest.approx(0.03, abs=0.006)
    assert outcomes[ReaderOutcome.OK] / n == pytest.approx(0.75, abs=0.015)
    assert sum(not s.in_manifest for s in specs) / n == pytest.approx(0.1, abs=0.01)
    routes = Counter(s.route for s in specs)
    assert set(routes) == {"A", "B", "C"}
    assert all(c / n == pytest.approx(1 / 3, abs=0.02) for c in routes.values())
    multi = [s for s in specs if s.reader_outcome is ReaderOutcome.MULTI_LABEL]
    assert all(len(s.labels) == 2 and s.labels[0] != s.labels[1] for s in multi)
    assert all(
        config.simulation.parcel_length_mm[0]
        <= s.length_mm
        <= config.simulation.parcel_length_mm[1]
        for s in specs
    )


def test_manifest_rows_leave_out_missing_parcels():
    config = make_config(simulation={"manifest_missing_share": 0.5})
    factory = ParcelFactory(config, 2)
    rows = factory.manifest_rows(200)
    known = {factory.spec(i).barcode for i in range(1, 201) if factory.spec(i).in_manifest}
    assert {b for b, _ in rows} == known
    assert 60 < len(rows) < 140


def test_belt_speed_is_raised_only_when_the_rate_does_not_fit():
    config = make_config()
    assert effective_belt_speed(config, 1000) == 4.0
    fast = effective_belt_speed(config, 150000)
    # (150 mm mean length + 100 mm gap) x 1.3 per parcel, 41.7 parcels/s
    assert fast == pytest.approx(150000 / 3600 * 250 * 1.3 / 1000)
    assert LineTwin(config, rate_pph=150000).belt_speed_mps == pytest.approx(fast)


def test_events_in_belt_order_and_divert_into_answered_chute():
    config = make_config(simulation={"parcels": 1})
    twin = LineTwin(config)
    events = run_twin(twin, 5.0, 5000, answer=3)
    assert [k for k, _ in events] == [
        EventKind.INDUCTED,
        EventKind.SCANNED,
        EventKind.REQUESTED,
        EventKind.DECIDED,
        EventKind.LANDED,
    ]
    parcel = twin.parcels[1]
    assert (parcel.result, parcel.landed_chute) == (SortResult.DIVERTED, 3)
    assert twin.chutes[3].count == 1


@pytest.mark.parametrize(
    ("answer", "result"),
    [
        (None, SortResult.NO_ANSWER),
        (9, SortResult.REJECT_REQUESTED),
        (4, SortResult.INVALID_ANSWER),
        (9999, SortResult.INVALID_ANSWER),
    ],
)
def test_reject_results(answer, result):
    twin = LineTwin(make_config(simulation={"parcels": 1}))
    run_twin(twin, 5.0, 5000, answer=answer)
    assert (twin.parcels[1].result, twin.parcels[1].landed_chute) == (result, 9)
    assert twin.reject.count == 1


def test_chute_fills_then_is_emptied_later():
    config = make_config(
        simulation={"parcels": 6, "chute_capacity_override": {1: 2}, "chute_empty_after_s": 10}
    )
    twin = LineTwin(config)
    run_twin(twin, 5.0, 8000, answer=1)  # 2 s of belt at 4 m/s: all 6 landed
    results = [twin.parcels[i].result for i in range(1, 7)]
    assert results[:2] == [SortResult.DIVERTED, SortResult.DIVERTED]
    assert set(results[2:]) == {SortResult.CHUTE_FULL}
    assert 1 in twin.full_chutes()
    full_since = twin.chutes[1].empty_at
    assert full_since is not None
    twin.advance(full_since - 0.01, twin.belt_mm)
    assert 1 in twin.full_chutes()
    twin.advance(full_since + 0.01, twin.belt_mm)
    assert 1 not in twin.full_chutes() and twin.chutes[1].count == 0


def test_disabled_and_forced_full_chutes():
    twin = LineTwin(make_config(simulation={"parcels": 2}))
    twin.set_host_disabled(frozenset({2}))
    twin.force_full(3)
    answers = iter([2, 3])
    belt = 0.0
    while belt < 5000:
        belt += 5
        for event in twin.advance(belt / 4000, belt):
            if event.kind is EventKind.REQUESTED:
                twin.record_answer(event.parcel.tracking_id, next(answers), None)
    assert twin.parcels[1].result is SortResult.CHUTE_DISABLED
    assert twin.parcels[2].result is SortResult.CHUTE_FULL
    assert twin.parcels[1].landed_chute == twin.parcels[2].landed_chute == 9
    assert twin.chutes[2].count == twin.chutes[3].count == 0


def test_belt_only_moves_while_running():
    belt = Belt(speed_mps=2.0)
    belt.update(0.0, running=False)
    assert belt.update(1.0, running=False) == 0
    assert belt.update(1.5, running=True) == pytest.approx(1000)
    assert belt.update(3.0, running=False) == pytest.approx(1000)
    twin = LineTwin(make_config())
    assert twin.advance(100.0, 0.0) == [] and twin.stats.inducted == 0


def test_parcel_in_scan_field():
    config = make_config(simulation={"parcels": 1})
    twin = LineTwin(config)
    parcel = twin._next
    assert parcel is not None
    d0, length = parcel.induct_mm, parcel.spec.length_mm
    twin.advance(0, d0 + 99)  # front just before the eye (scan point 100)
    assert twin.parcel_in_scan_field() is None
    twin.advance(0, d0 + 100)
    assert twin.parcel_in_scan_field() is parcel
    twin.advance(0, d0 + 100 + 200 + length - 1)  # rear still inside the 200 mm field
    assert twin.parcel_in_scan_field() is parcel
    twin.advance(0, d0 + 100 + 200 + length)
    assert twin.parcel_in_scan_field() is None

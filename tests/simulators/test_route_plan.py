"""The route-plan generator: reproducible, skewed volumes, stops in order, the TMS JSON."""

from __future__ import annotations

import json
import re
import statistics
from datetime import datetime, timedelta

import pytest

from plc_configs.route_plan import RoutePlanSimulation
from simulators.route_plan import generate_route_plan, heavy_count

ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def test_same_seed_same_plan_other_seed_other_plan():
    settings = RoutePlanSimulation()
    assert generate_route_plan(settings, 3) == generate_route_plan(settings, 3)
    assert generate_route_plan(settings, 3).weights != generate_route_plan(settings, 4).weights


def test_ids_trucks_in_order_and_doors_round_robin():
    plan = generate_route_plan(
        RoutePlanSimulation(trucks=3, routes_per_truck=2, doors=["A", "B"]), 1
    )
    assert [t.id for t in plan.trucks] == ["T01", "T02", "T03"]
    assert [t.door for t in plan.trucks] == ["A", "B", "A"]
    assert [(r.id, r.truck) for r in plan.routes] == [
        ("R001", "T01"),
        ("R002", "T01"),
        ("R003", "T02"),
        ("R004", "T02"),
        ("R005", "T03"),
        ("R006", "T03"),
    ]
    assert all(t.arrival < t.departure for t in plan.trucks)


@pytest.mark.parametrize("seed", [1, 2, 3, 17])
def test_ten_percent_of_routes_carry_seventy_percent(seed):
    settings = RoutePlanSimulation(trucks=10, routes_per_truck=10)  # 100 routes
    plan = generate_route_plan(settings, seed)
    weights = sorted(plan.weights.values(), reverse=True)
    assert sum(weights) == pytest.approx(1.0)
    assert heavy_count(settings) == 10
    # The heavy group gets exactly 0.7 by construction; the lognormal spread (sigma 0.5)
    # keeps every heavy route (mean 0.07) above every light one (mean 0.0033), so the
    # ten heaviest routes are the heavy group.
    assert sum(weights[:10]) == pytest.approx(0.7, abs=1e-9)
    assert {r.id for r in plan.routes if r.heavy} == {
        r.id for r in sorted(plan.routes, key=lambda r: -r.weight)[:10]
    }
    light = weights[10:]
    # Not flat: the light routes' weights spread (coefficient of variation > 0.2).
    assert statistics.pstdev(light) / statistics.mean(light) > 0.2
    # Heavy routes are picked at random, not the first ones.
    assert [r.id for r in plan.routes if r.heavy] != [f"R{i:03d}" for i in range(1, 11)]


def test_stops_rise_from_one_within_bounds_with_windows():
    settings = RoutePlanSimulation(stops_per_route=(3, 7))
    plan = generate_route_plan(settings, 5)
    counts = set()
    for route in plan.routes:
        counts.add(len(route.stops))
        assert [s.sequence for s in route.stops] == list(range(1, len(route.stops) + 1))
        assert [s.consignee for s in route.stops] == [
            f"C-{route.id}-{s.sequence}" for s in route.stops
        ]
        departure = next(t.departure for t in plan.trucks if t.id == route.truck)
        for stop in route.stops:
            # Windows open on the hour, at most an hour before the truck leaves.
            assert stop.window_start > departure - timedelta(hours=1)
            assert stop.window_start.minute == 0 and stop.window_end > stop.window_start
        starts = [s.window_start for s in route.stops]
        assert starts == sorted(starts)
    assert counts <= set(range(3, 8)) and len(counts) > 1


def test_tms_json_has_exactly_the_api_shape():
    plan = generate_route_plan(RoutePlanSimulation(), 1)
    body = json.loads(json.dumps(plan.as_tms_json()))
    assert set(body) == {"trucks", "routes"}
    assert len(body["trucks"]) == 6 and len(body["routes"]) == 24
    for truck in body["trucks"]:
        assert set(truck) == {"id", "door", "arrival", "departure", "capacity_kg", "capacity_m3"}
        assert ISO_Z.fullmatch(truck["arrival"]) and ISO_Z.fullmatch(truck["departure"])
        assert isinstance(truck["capacity_kg"], int) and isinstance(truck["capacity_m3"], int)
    for route in body["routes"]:
        assert set(route) == {"id", "truck", "stops"}
        for stop in route["stops"]:
            assert set(stop) == {"sequence", "consignee", "window_start", "window_end"}
            assert ISO_Z.fullmatch(stop["window_start"]) and ISO_Z.fullmatch(stop["window_end"])
    first = body["trucks"][0]
    assert first["id"] == "T01" and first["door"] == "D01"
    arrival = datetime.fromisoformat(first["arrival"])
    assert (arrival.hour, arrival.minute) == (5, 0)
    assert body["routes"][0]["stops"][0]["consignee"] == "C-R001-1"


def test_one_route_carries_everything():
    plan = generate_route_plan(RoutePlanSimulation(trucks=1, routes_per_truck=1), 1)
    assert plan.weights == {"R001": pytest.approx(1.0)}
    assert plan.route("R001").heavy
    with pytest.raises(KeyError):
        plan.route("R002")

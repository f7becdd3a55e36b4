import copy
import pickle
from typing import Any

import pytest

from controller.errors import ControllerError, RoutePlanError
from controller.routeplan.model import (
    MAX_ROUTES,
    MAX_STOPS,
    RoutePlan,
    Stop,
    Truck,
    parse_route_plan,
)
from tests.controller.routeplan.plans import DOORS, plan_body


def problems_of(body: Any, doors: tuple[str, ...] = DOORS) -> dict[str, str]:
    with pytest.raises(RoutePlanError) as info:
        parse_route_plan(body, doors)
    return info.value.problems


def test_a_valid_plan_parses_with_times_as_epoch_seconds():
    trucks, routes = parse_route_plan(plan_body(), DOORS)
    assert trucks[0] == Truck("T01", "D01", 1796364000.0, 1796376600.0, 12000.0, 40.0)
    assert trucks[1] == Truck("T02", "D04")
    assert [r.id for r in routes] == ["R001", "R017"]
    assert routes[0].stops[0] == Stop(1, "C-0001", 1796371200.0, 1796378400.0)
    assert [s.sequence for s in routes[0].stops] == [1, 2, 7]


def test_a_plan_answers_which_truck_and_which_routes():
    trucks, routes = parse_route_plan(plan_body(), DOORS)
    plan = RoutePlan(3, trucks, routes, 1.0, "tms-1", "morning wave")
    assert plan.truck_of("R017") == "T01" and plan.truck_of("R999") is None
    assert plan.routes_of("T01") == ("R001", "R017")
    assert plan.routes_of("T02") == () and plan.routes_of("T99") == ()
    assert plan.truck("T02") == Truck("T02", "D04") and plan.truck("T99") is None
    assert plan.route("R001") is routes[0] and plan.route("R999") is None
    assert plan.trucks_by_route() == {"R001": "T01", "R017": "T01"}
    assert plan.stop_count() == 4


def test_as_dict_round_trips_through_the_parser():
    trucks, routes = parse_route_plan(plan_body(), DOORS)
    plan = RoutePlan(3, trucks, routes, 1796364000.0, "tms-1", "morning wave")
    data = plan.as_dict()
    assert data["version"] == 3 and data["actor"] == "tms-1" and data["reason"] == "morning wave"
    assert data["time"] == "2026-12-04T06:00:00Z"
    assert data["trucks"][0]["arrival"] == "2026-12-04T06:00:00Z"
    assert data["routes"][0]["stops"][0]["window_end"] == "2026-12-04T10:00:00Z"
    assert parse_route_plan(data, DOORS) == (trucks, routes)


def test_the_empty_plan_is_version_0():
    plan = RoutePlan.empty()
    assert plan.version == 0 and plan.trucks == () and plan.routes == ()
    assert plan.as_dict() == {
        "version": 0,
        "time": None,
        "actor": "",
        "reason": None,
        "trucks": [],
        "routes": [],
    }


def _set(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    *parents, last = path.split(".")
    node: Any = body
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return body


@pytest.mark.parametrize(
    ("path", "value", "field", "why"),
    [
        (
            "trucks.1.door",
            "D09",
            "trucks.1.door",
            "door D09 is not a dock door of this line (D01, D02, D03, D04)",
        ),
        ("trucks.1.id", "T01", "trucks.1.id", "truck T01 is also trucks.0"),
        ("trucks.1.id", "", "trucks.1.id", "1-64 printable"),
        ("trucks.1.id", "T" * 65, "trucks.1.id", "1-64 printable"),
        ("trucks.1.id", "T\n2", "trucks.1.id", "1-64 printable"),
        ("trucks.1.id", 7, "trucks.1.id", "1-64 printable"),
        ("trucks.1.id", "T\ud800", "trucks.1.id", "1-64 printable"),
        ("trucks.0.departure", "2026-12-04T05:00:00Z", "trucks.0.departure", "is before arrival"),
        ("trucks.0.arrival", "2026-12-04T06:00:00", "trucks.0.arrival", "with a timezone"),
        ("trucks.0.arrival", "tomorrow", "trucks.0.arrival", "ISO 8601"),
        ("trucks.0.arrival", "0001-01-01T00:00:00+14:00", "trucks.0.arrival", "1970 to 9999"),
        ("trucks.0.departure", "9999-12-31T23:59:59-14:00", "trucks.0.departure", "1970 to 9999"),
        ("trucks.0.capacity_kg", -1, "trucks.0.capacity_kg", "cannot be negative"),
        ("trucks.0.capacity_m3", -0.5, "trucks.0.capacity_m3", "cannot be negative"),
        ("trucks.0.capacity_kg", "12t", "trucks.0.capacity_kg", "expected a number"),
        ("trucks.0.capacity_kg", 10**400, "trucks.0.capacity_kg", "expected a number"),
        ("trucks.0.capacity_m3", float("nan"), "trucks.0.capacity_m3", "expected a number"),
        ("trucks.0.colour", "red", "trucks.0.colour", "unknown field"),
        ("trucks.1", "T02", "trucks.1", "expected an object"),
        ("trucks", [], "trucks", "at least one truck"),
        ("routes", [], "routes", "at least one route"),
        ("routes.1.truck", "T99", "routes.R017.truck", "truck T99 is not in trucks"),
        ("routes.1.id", "R001", "routes.1.id", "route R001 is also routes.0"),
        ("routes.1.id", "", "routes.1.id", "1-64 printable"),
        (
            "routes.0.stops.2.sequence",
            1,
            "routes.R001.stops.2.sequence",
            "sequence 1 is given twice (also routes.R001.stops.0)",
        ),
        (
            "routes.0.stops.1.sequence",
            9,
            "routes.R001.stops.2.sequence",
            "sequences must rise (7 after 9)",
        ),
        ("routes.0.stops.1.sequence", -1, "routes.R001.stops.1.sequence", "whole number"),
        ("routes.0.stops.1.sequence", 1.5, "routes.R001.stops.1.sequence", "whole number"),
        ("routes.0.stops.1.sequence", 2**31, "routes.R001.stops.1.sequence", "whole number"),
        (
            "routes.0.stops.0.window_end",
            "2026-12-04T07:00:00Z",
            "routes.R001.stops.0.window_end",
            "before it starts",
        ),
        (
            "routes.0.stops.0.window_start",
            "8 o'clock",
            "routes.R001.stops.0.window_start",
            "ISO 8601",
        ),
        (
            "routes.0.stops.0.consignee",
            "x" * 201,
            "routes.R001.stops.0.consignee",
            "1-200 characters",
        ),
        (
            "routes.0.stops.0.consignee",
            "a\x00b",
            "routes.R001.stops.0.consignee",
            "control characters",
        ),
        ("routes.1.stops", [], "routes.R017.stops", "non-empty array of stops"),
        (
            "routes.1.stops",
            [{"sequence": i} for i in range(MAX_STOPS + 1)],
            "routes.R017.stops",
            f"at most {MAX_STOPS} stops",
        ),
        ("routes.1.stops.0", 3, "routes.R017.stops.0", "expected an object"),
        ("routes.1.driver", "Kim", "routes.R017.driver", "unknown field"),
        ("colour", "red", "colour", "unknown field"),
    ],
)
def test_each_rule_names_its_field(path, value, field, why):
    problems = problems_of(_set(plan_body(), path, value))
    assert field in problems, problems
    assert why in problems[field]


def test_a_line_without_doors_says_to_add_them_first():
    problems = problems_of(plan_body(), doors=())
    assert problems == {
        "trucks.0.door": "the line config has no topology.doors; add the dock doors first"
    }


def test_every_problem_is_reported_at_once():
    body = _set(plan_body(), "trucks.0.door", "D09")
    body = _set(body, "routes.1.truck", "T99")
    body = _set(body, "routes.0.stops.1.sequence", 9)
    problems = problems_of(body)
    assert set(problems) == {"trucks.0.door", "routes.R017.truck", "routes.R001.stops.2.sequence"}


def test_a_route_of_a_refused_truck_is_not_also_unknown():
    problems = problems_of(_set(plan_body(), "trucks.0.door", "D09"))
    assert set(problems) == {"trucks.0.door"}


def test_more_routes_than_the_limit_are_refused():
    body = plan_body()
    body["routes"] = [
        {"id": f"R{i}", "truck": "T01", "stops": [{"sequence": 1}]} for i in range(MAX_ROUTES + 1)
    ]
    assert "at most 10000 routes" in problems_of(body)["routes"]


def test_not_an_object():
    assert problems_of([1, 2]) == {"body": "expected a JSON object with trucks and routes"}


def test_the_error_is_a_controller_error_and_pickles_by_its_problems():
    err = RoutePlanError({"trucks": "expected a non-empty array"})
    assert isinstance(err, ControllerError)
    again = pickle.loads(pickle.dumps(err))
    assert again.problems == err.problems and str(again) == "trucks: expected a non-empty array"

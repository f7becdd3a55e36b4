from controller.routeplan.model import RoutePlan, parse_route_plan
from controller.routeplan.store import RoutePlanStore, RoutePlanVersion
from tests.controller.routeplan.plans import DOORS, plan_body


def _plan(version: int, **kw) -> RoutePlan:
    trucks, routes = parse_route_plan(plan_body(), DOORS)
    return RoutePlan(version, trucks, routes, 1796364000.25 + version, "tms-1", f"wave {version}")


def test_an_empty_store_has_no_plan(tmp_path):
    store = RoutePlanStore(tmp_path / "route-plan.sqlite")
    assert store.latest() is None and store.history(10) == []


def test_the_latest_version_comes_back_whole(tmp_path):
    store = RoutePlanStore(tmp_path / "route-plan.sqlite")
    store.add(_plan(1), "tms")
    store.add(_plan(2), "tms")
    again = RoutePlanStore(tmp_path / "route-plan.sqlite").latest()
    assert again == _plan(2)
    assert again.time == 1796364002.25 and again.actor == "tms-1" and again.reason == "wave 2"


def test_history_is_newest_first_with_counts_and_pages_back(tmp_path):
    store = RoutePlanStore(tmp_path / "route-plan.sqlite")
    for version in (1, 2, 3):
        store.add(_plan(version), "tms")
    assert [v.version for v in store.history(2)] == [3, 2]
    assert store.history(10, before=2) == [
        RoutePlanVersion(1, 1796364001.25, "tms-1", "tms", "wave 1", 2, 2, 4)
    ]

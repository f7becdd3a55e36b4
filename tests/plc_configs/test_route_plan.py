"""``simulation.route_plan``: defaults, validation, door ids."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from plc_configs.route_plan import RoutePlanSimulation


def test_defaults_six_trucks_of_four_routes_and_doors_d01_to_dn():
    plan = RoutePlanSimulation()
    assert (plan.trucks, plan.routes_per_truck, plan.route_count) == (6, 4, 24)
    assert plan.door_ids() == ["D01", "D02", "D03", "D04", "D05", "D06"]
    assert RoutePlanSimulation(doors=["B", "A"]).door_ids() == ["B", "A"]


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"trucks": 0}, "greater than 0"),
        ({"routes_per_truck": -1}, "greater than 0"),
        ({"stops_per_route": (0, 3)}, "stops_per_route"),
        ({"stops_per_route": (5, 4)}, "stops_per_route"),
        ({"heavy_route_share": 1.0}, "less than 1"),
        ({"heavy_volume_share": 0.0}, "greater than 0"),
        ({"doors": []}, "at least 1"),
        ({"doors": ["D1", "D1"]}, "repeated: ['D1']"),
        ({"doors": [" "]}, "must not be empty"),
    ],
)
def test_invalid_settings_are_refused(fields, needle):
    with pytest.raises(ValidationError) as info:
        RoutePlanSimulation(**fields)
    assert needle in str(info.value)

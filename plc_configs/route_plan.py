"""The simulated line's route plan settings (``simulation.route_plan``)."""

from __future__ import annotations

from pydantic import Field, model_validator

from plc_configs.base import Strict as _Strict


class RoutePlanSimulation(_Strict):
    """A generated route plan (trucks, routes, stops) that the twin's parcels follow.

    Routes get skewed volumes, as in real hubs: a share of the routes (``heavy_route_share``,
    drawn at random from the seed) carry ``heavy_volume_share`` of the parcels.
    """

    trucks: int = Field(6, gt=0, description="trucks T01..; each gets routes_per_truck routes")
    routes_per_truck: int = Field(4, gt=0, description="routes R001.. in truck order")
    stops_per_route: tuple[int, int] = Field(
        (5, 20), description="fewest and most stops of a route (drawn in between)"
    )
    heavy_route_share: float = Field(
        0.1, gt=0, lt=1, description="share of the routes that carry heavy_volume_share"
    )
    heavy_volume_share: float = Field(
        0.7, gt=0, lt=1, description="share of the parcels on the heavy routes"
    )
    doors: list[str] | None = Field(
        None,
        min_length=1,
        description="dock doors the trucks are assigned to, round robin in door order; "
        "null: D01..Dn for n trucks",
    )

    @model_validator(mode="after")
    def _ranges(self) -> RoutePlanSimulation:
        low, high = self.stops_per_route
        if not 1 <= low <= high:
            raise ValueError(
                f"stops_per_route must be [min, max] with 1 <= min <= max, not {low, high}"
            )
        if self.doors is not None:
            dupes = sorted({d for d in self.doors if self.doors.count(d) > 1})
            if dupes:
                raise ValueError(f"door ids must be unique; repeated: {dupes}")
            if any(not d.strip() for d in self.doors):
                raise ValueError("door ids must not be empty")
        return self

    @property
    def route_count(self) -> int:
        """How many routes the plan has."""
        return self.trucks * self.routes_per_truck

    def door_ids(self) -> list[str]:
        """The doors, configured or D01..Dn."""
        if self.doors is not None:
            return list(self.doors)
        return [f"D{k:02d}" for k in range(1, self.trucks + 1)]

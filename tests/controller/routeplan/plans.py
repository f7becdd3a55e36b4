"""A valid route plan body for the tests of the route plan, its service and its API."""

from __future__ import annotations

from typing import Any

DOORS = ("D01", "D02", "D03", "D04")


def plan_body() -> dict[str, Any]:
    """Two trucks (T02 with no route), two routes of T01."""
    return {
        "trucks": [
            {
                "id": "T01",
                "door": "D01",
                "arrival": "2026-12-04T06:00:00Z",
                "departure": "2026-12-04T09:30:00Z",
                "capacity_kg": 12000,
                "capacity_m3": 40,
            },
            {"id": "T02", "door": "D04"},
        ],
        "routes": [
            {
                "id": "R001",
                "truck": "T01",
                "stops": [
                    {
                        "sequence": 1,
                        "consignee": "C-0001",
                        "window_start": "2026-12-04T08:00:00Z",
                        "window_end": "2026-12-04T10:00:00Z",
                    },
                    {"sequence": 2},
                    {"sequence": 7, "consignee": "C-0007"},
                ],
            },
            {"id": "R017", "truck": "T01", "stops": [{"sequence": 0}]},
        ],
    }

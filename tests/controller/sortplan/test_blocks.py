import itertools
import random

import pytest

from controller.errors import PlanningError
from controller.sortplan.blocks import apportion, fresh_blocks
from controller.sortplan.instance import parse_instance


def test_apportionment_minimises_the_largest_volume_per_chute():
    rng = random.Random(5)
    for _ in range(200):
        trucks = rng.randint(1, 4)
        volumes = {f"T{i}": rng.randint(0, 500) for i in range(trucks)}
        chutes = rng.randint(trucks, 9)
        counts = apportion(volumes, dict.fromkeys(volumes, 1), chutes)
        assert sum(counts.values()) == chutes
        got = max(volumes[t] / counts[t] for t in volumes)
        best = min(
            max(volumes[t] / n for t, n in zip(volumes, split, strict=True))
            for split in itertools.product(range(1, chutes + 1), repeat=trucks)
            if sum(split) == chutes
        )
        assert got == pytest.approx(best)


def instance(chutes: int, volumes: dict[str, int], capacity: int = 100, doors=None) -> dict:
    doors = doors or {t: 1000 * i for i, t in enumerate(volumes)}
    return {
        "chutes": [
            {"id": i + 1, "position_mm": 600 * i, "capacity": capacity} for i in range(chutes)
        ],
        "doors": [{"id": f"D-{t}", "position_mm": p} for t, p in doors.items()],
        "trucks": [{"id": t, "door": f"D-{t}"} for t in volumes],
        "routes": [{"id": f"R-{t}", "truck": t, "volume": v} for t, v in volumes.items()],
    }


def test_blocks_follow_the_doors_and_the_bound_is_the_largest_volume_per_chute():
    data = instance(6, {"T1": 300, "T2": 100, "T3": 200}, doors={"T1": 9000, "T2": 0, "T3": 4000})
    blocks = fresh_blocks(parse_instance(data))
    assert list(blocks.chutes) == ["T2", "T3", "T1"]  # door order along the sorter
    assert [[c.id for c in b] for b in blocks.chutes.values()] == [[1], [2, 3], [4, 5, 6]]
    assert blocks.lower_bound == 100


@pytest.mark.parametrize(
    ("chutes", "volumes", "message"),
    [
        (2, {"T1": 10, "T2": 10, "T3": 10}, "3 trucks need a chute each; 2 chutes are enabled"),
        (3, {"T1": 200, "T2": 200}, "the routes carry 400 parcels; the 3 enabled chutes hold 300"),
        (
            9,
            {"T1": 50, "T2": 450, "T3": 50, "T4": 250},
            "truck T2 needs 5 chutes for 450 parcels; 4 are left for it near door D-T2",
        ),
    ],
)
def test_no_plan_says_why(chutes, volumes, message):
    with pytest.raises(PlanningError) as caught:
        fresh_blocks(parse_instance(instance(chutes, volumes)))
    assert message in caught.value.problems["plan"]

"""Seeded planning instances, for the benchmark and the tests (and as examples to read).

* ``A-325`` and ``A-703``: 325 (703) chutes on two sides of the sorter, 139 (300)
  routes, volume shares 70/20/10 % over 10/20/70 % of the routes, route ``r`` on at
  most ``⌈1.5·C·v_r⌉`` chutes (``v_r`` its share), trucks of 5 routes in door order.
  They mirror the public instances of Zhang et al. 2025 (sortation, 325 and 703 chutes).
* ``B-1000``: 1,000 routes (100 trucks × 10) onto 300 chutes, lognormal volumes (mean
  100, sigma 0.6), or the 70/20/10 variant (``B-1000-skewed``).

Chute capacity is 1.25 × the mean load; doors are spread along the sorter, one per
truck, in truck order. Disruptions (:func:`fail_chutes`, :func:`shift_volumes`,
:func:`swap_doors`) turn a solved instance into a repair instance. Pure.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace

from controller.sortplan.instance import Chute, Door, Instance, Route, Truck

PITCH_MM = 600
"""Chute pitch along one side of the sorter."""


def _chutes(count: int, mean_load: float, sides: int) -> tuple[Chute, ...]:
    capacity = math.ceil(1.25 * mean_load)
    return tuple(
        Chute(i + 1, (i // sides) * PITCH_MM + (i % sides) * PITCH_MM / sides, capacity)
        for i in range(count)
    )


def _skewed_volumes(routes: int, total: int, rng: random.Random) -> list[int]:
    """70/20/10 % of the parcels over 10/20/70 % of the routes, shuffled."""
    top, mid = max(1, round(routes * 0.1)), max(1, round(routes * 0.2))
    rest = routes - top - mid
    shares = [0.7 / top] * top + [0.2 / mid] * mid + [0.1 / rest] * rest
    volumes = [max(1, round(total * s * rng.uniform(0.8, 1.2))) for s in shares]
    rng.shuffle(volumes)
    return volumes


def _lognormal_volumes(
    routes: int, rng: random.Random, mean: float = 100, sigma: float = 0.6
) -> list[int]:
    mu = math.log(mean) - sigma**2 / 2
    return [max(1, round(rng.lognormvariate(mu, sigma))) for _ in range(routes)]


def _instance(
    chutes: int,
    volumes: list[int],
    per_truck: int,
    sides: int,
    max_chutes: bool,
    time_limit_s: float,
) -> Instance:
    total = sum(volumes)
    made = _chutes(chutes, total / chutes, sides)
    trucks_n = math.ceil(len(volumes) / per_truck)
    length = made[-1].position_mm
    doors = tuple(
        Door(f"D{t + 1:03d}", round(length * (t + 0.5) / trucks_n)) for t in range(trucks_n)
    )
    trucks = tuple(Truck(f"T{t + 1:03d}", doors[t].id) for t in range(trucks_n))
    routes = tuple(
        Route(
            f"R{r + 1:04d}",
            trucks[r // per_truck].id,
            v,
            max(1, math.ceil(1.5 * chutes * v / total)) if max_chutes else None,
        )
        for r, v in enumerate(volumes)
    )
    return Instance(made, doors, trucks, routes, None, time_limit_s)


def generate(name: str, seed: int = 1, time_limit_s: float = 10.0) -> Instance:
    """One of ``A-325``, ``A-703``, ``B-1000``, ``B-1000-skewed`` (seeded)."""
    rng = random.Random(f"{name}:{seed}")
    if name in ("A-325", "A-703"):
        chutes, routes = (325, 139) if name == "A-325" else (703, 300)
        volumes = _skewed_volumes(routes, chutes * 100, rng)
        return _instance(chutes, volumes, 5, 2, True, time_limit_s)
    if name == "B-1000":
        return _instance(300, _lognormal_volumes(1000, rng), 10, 2, False, time_limit_s)
    if name == "B-1000-skewed":
        return _instance(300, _skewed_volumes(1000, 100_000, rng), 10, 2, False, time_limit_s)
    raise ValueError(f"unknown instance {name!r}; expected A-325, A-703, B-1000 or B-1000-skewed")


def random_instance(rng: random.Random, time_limit_s: float = 2.0) -> Instance:
    """A small random instance (2-40 chutes, some disabled, 1-8 trucks), for property tests."""
    chutes_n = rng.randint(2, 40)
    trucks_n = rng.randint(1, max(1, min(8, chutes_n // 2)))
    volumes = [rng.randint(0, 200) for _ in range(rng.randint(trucks_n, trucks_n * 6))]
    per_truck = math.ceil(len(volumes) / trucks_n)
    base = _instance(
        chutes_n, volumes, per_truck, rng.choice((1, 2)), rng.random() < 0.5, time_limit_s
    )
    capacity = base.chutes[0].capacity
    chutes = tuple(
        replace(
            c, capacity=max(1, round(capacity * rng.uniform(1.0, 2.0))), enabled=rng.random() > 0.1
        )
        for c in base.chutes
    )
    return replace(base, chutes=chutes)


def fail_chutes(
    instance: Instance, plan: dict[str, list[int]], count: int, rng: random.Random
) -> Instance:
    """``count`` chutes in use fail (disabled); the repair starts from ``plan``."""
    used = sorted({c for chutes in plan.values() for c in chutes})
    failed = set(rng.sample(used, min(count, len(used))))
    chutes = tuple(replace(c, enabled=c.enabled and c.id not in failed) for c in instance.chutes)
    return replace(instance, chutes=chutes, current_plan={r: tuple(c) for r, c in plan.items()})


def shift_volumes(
    instance: Instance, plan: dict[str, list[int]], share: float, rng: random.Random
) -> Instance:
    """``share`` of the routes change volume by ×0.7-1.3; the repair starts from ``plan``."""
    picked = set(rng.sample(range(len(instance.routes)), round(len(instance.routes) * share)))
    routes = tuple(
        replace(r, volume=max(1, round(r.volume * rng.uniform(0.7, 1.3)))) if i in picked else r
        for i, r in enumerate(instance.routes)
    )
    return replace(instance, routes=routes, current_plan={r: tuple(c) for r, c in plan.items()})


def swap_doors(instance: Instance, plan: dict[str, list[int]], rng: random.Random) -> Instance:
    """Two trucks swap their doors; the repair starts from ``plan``."""
    a, b = rng.sample(range(len(instance.trucks)), 2)
    trucks = list(instance.trucks)
    trucks[a], trucks[b] = (
        replace(trucks[a], door=trucks[b].door),
        replace(trucks[b], door=trucks[a].door),
    )
    return replace(
        instance, trucks=tuple(trucks), current_plan={r: tuple(c) for r, c in plan.items()}
    )

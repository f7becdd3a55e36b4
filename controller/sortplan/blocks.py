"""How many adjacent chutes each truck gets, and where its block lies along the sorter.

A truck's parcels go to one block of adjacent chutes, and a chute never carries two
trucks, so truck ``t`` on ``n_t`` chutes loads its busiest chute with at least
``V_t / n_t`` parcels whatever the routes do inside the block. Giving each next chute
to the truck with the highest ``V_t / n_t`` (highest-averages apportionment) minimises
the largest of those ratios, so that ratio is a **proven lower bound** on the busiest
chute of any plan (with the route bound ``v_r / max_chutes_r``). Blocks are laid out
in the order of the trucks' doors along the sorter, so each block is near its door. A truck
gets the chutes its routes need to pack within the bound; the rest stay free between the
blocks, as spares for a repair. Pure.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from controller.errors import PlanningError
from controller.sortplan.fill import (
    EPS,
    block_peak,
    compact,
    greedy_fill,
    has_holes,
    over_capacity,
)
from controller.sortplan.instance import Chute, Instance


@dataclass(frozen=True, slots=True)
class Blocks:
    """Each truck's chutes (adjacent, in position order) and the bounds of the plan."""

    chutes: dict[str, tuple[Chute, ...]]
    lower_bound: float
    """Proven: no plan has a less loaded busiest chute."""
    target: float
    """What the routes are packed to (the lower bound, or above it when it cannot be met)."""
    packed: bool
    """True when every block was sized so its routes pack within ``target``."""


def minimum_chutes(volume: int, capacity: int) -> int:
    """The fewest chutes of ``capacity`` that hold ``volume`` parcels (at least one)."""
    return max(1, math.ceil(volume / capacity))


def route_bound(instance: Instance) -> float:
    """The busiest chute is at least each route's volume over the most chutes it may have."""
    enabled = len(instance.enabled)
    return max(
        (r.volume / min(r.max_chutes or enabled, enabled) for r in instance.routes), default=0.0
    )


def apportion(volumes: Mapping[str, int], needs: Mapping[str, int], chutes: int) -> dict[str, int]:
    """Chutes per truck: each at least its need, the rest one by one to the highest
    volume per chute (minimises the largest volume per chute). Ties go to the first
    truck in ``volumes``' order."""
    counts = dict(needs)
    order = {t: i for i, t in enumerate(volumes)}
    heap = [(-volumes[t] / counts[t], order[t], t) for t in volumes]
    heapq.heapify(heap)
    for _ in range(chutes - sum(counts.values())):
        _, i, truck = heapq.heappop(heap)
        counts[truck] += 1
        heapq.heappush(heap, (-volumes[truck] / counts[truck], i, truck))
    return counts


def check_enough(instance: Instance, needs: Mapping[str, int], volumes: Mapping[str, int]) -> None:
    """Raise PlanningError naming the cause when the enabled chutes cannot hold the trucks."""
    enabled = instance.enabled
    if not enabled:
        raise PlanningError({"plan": "no chute is enabled"})
    total = sum(volumes.values())
    capacity = sum(c.capacity for c in enabled)
    if total > capacity:
        raise PlanningError(
            {
                "plan": f"the routes carry {total} parcels; "
                f"the {len(enabled)} enabled chutes hold {capacity}"
            }
        )
    if len(volumes) > len(enabled):
        raise PlanningError(
            {"plan": f"{len(volumes)} trucks need a chute each; {len(enabled)} chutes are enabled"}
        )
    spare = len(enabled) - sum(needs.values())
    if spare < 0:
        door_of = {t.id: t.door for t in instance.trucks}
        truck = max(needs, key=lambda t: (needs[t], volumes[t]))
        free = len(enabled) - (sum(needs.values()) - needs[truck])
        raise PlanningError(
            {
                "plan": f"truck {truck} needs {needs[truck]} chutes for {volumes[truck]} parcels; "
                f"{max(free, 0)} are left for it near door {door_of[truck]} "
                f"({len(enabled)} enabled, the other trucks need "
                f"{sum(needs.values()) - needs[truck]})"
            }
        )


def fresh_blocks(instance: Instance) -> Blocks:
    """Block sizes and places along the enabled chutes, in door order.

    Each truck gets the fewest chutes on which its routes pack within the lower bound
    (tried with the greedy fill); the chutes left over stay free, spread between the
    blocks, as spares for repairs. When the trucks need more chutes than there are, the
    sizes are the apportionment's, which uses every chute.
    """
    enabled = instance.enabled
    volumes = instance.truck_volume()
    largest = max(c.capacity for c in enabled) if enabled else 1
    needs = {t: minimum_chutes(v, largest) for t, v in volumes.items()}
    check_enough(instance, needs, volumes)
    ordered = _by_door(instance, volumes)
    counts = apportion(ordered, needs, len(enabled))
    bound = max(max(volumes[t] / counts[t] for t in ordered), route_bound(instance))
    packed = _packed_blocks(instance, ordered, bound)
    if packed is not None:
        return Blocks(packed, bound, bound, True)
    blocks = _lay_out(enabled, counts)
    _fit_capacity(blocks, volumes)
    return Blocks(blocks, bound, bound, False)


def relaxed_blocks(instance: Instance, bound: float) -> Blocks | None:
    """Blocks on which every truck's routes pack within a target above the bound: the
    lowest such target to 0.5 %, found by bisection (None: not even at the largest
    capacity). For instances whose routes may use few chutes (the bound cannot be met)."""
    enabled = instance.enabled
    volumes = instance.truck_volume()
    ordered = _by_door(instance, volumes)
    high = float(max(c.capacity for c in enabled))
    best = _packed_blocks(instance, ordered, high)
    if best is None:
        return None
    low, target = bound, high
    while target - low > 0.005 * bound:
        middle = (low + target) / 2
        blocks = _packed_blocks(instance, ordered, middle)
        if blocks is None:
            low = middle
        else:
            target, best = middle, blocks
    return Blocks(best, bound, target, True)


def _lay_out(enabled: Sequence[Chute], sizes: Mapping[str, int]) -> dict[str, tuple[Chute, ...]]:
    """Blocks of ``sizes`` chutes, one after the other in the order given."""
    blocks: dict[str, tuple[Chute, ...]] = {}
    start = 0
    for truck, size in sizes.items():
        blocks[truck] = tuple(enabled[start : start + size])
        start += size
    return blocks


def _by_door(instance: Instance, volumes: Mapping[str, int]) -> dict[str, int]:
    """Each truck's volume, the trucks in the order of their doors along the sorter."""
    in_door_order = sorted(instance.trucks, key=lambda t: (instance.door_position[t.door], t.id))
    return {t.id: volumes[t.id] for t in in_door_order}


def _packed_blocks(
    instance: Instance, volumes: Mapping[str, int], target: float
) -> dict[str, tuple[Chute, ...]] | None:
    """Per truck in ``volumes``' order, the fewest next chutes along the sorter its routes
    pack on within ``target`` and their capacities (the greedy fill, on the very chutes it
    will get); the chutes left over spread as spares between the blocks when the blocks
    still pack there. None when the trucks need more chutes than there are."""
    tight = _pack_along(instance, volumes, target, ())
    if tight is None:
        return None
    spare = len(instance.enabled) - sum(len(b) for b in tight.values())
    n = len(volumes)
    gaps = [(k + 1) * spare // n - k * spare // n for k in range(n)]
    return (_pack_along(instance, volumes, target, gaps) if spare else None) or tight


def _pack_along(
    instance: Instance, volumes: Mapping[str, int], target: float, gaps: Sequence[int]
) -> dict[str, tuple[Chute, ...]] | None:
    enabled = instance.enabled
    routes_of = instance.routes_of()
    blocks: dict[str, tuple[Chute, ...]] = {}
    start = 0
    for k, (truck, volume) in enumerate(volumes.items()):
        routes = routes_of[truck]
        n = max(1, math.ceil(volume / target - EPS)) if target > 0 else 1
        while True:
            if start + n > len(enabled) - (len(volumes) - k - 1):
                return None
            chutes = enabled[start : start + n]
            fill = compact(greedy_fill(routes, chutes, target), routes, chutes)
            if (
                block_peak(fill, routes) <= target + EPS
                and not over_capacity(fill, routes, chutes)
                and not has_holes(fill, chutes)
            ):
                break
            n += 1
        blocks[truck] = tuple(chutes)
        start += n + (gaps[k] if gaps else 0)
    return blocks


def _fit_capacity(blocks: dict[str, tuple[Chute, ...]], volumes: Mapping[str, int]) -> None:
    """Move block borders until every block's chutes hold its truck's volume.

    Only chutes of unequal capacity make this necessary; a border moves towards the
    neighbour with room to spare, one chute at a time.
    """
    trucks = list(blocks)
    for _ in range(sum(len(b) for b in blocks.values())):
        short = [i for i, t in enumerate(trucks) if sum(c.capacity for c in blocks[t]) < volumes[t]]
        if not short:
            return
        i = short[0]
        moved = False
        for j in (i - 1, i + 1):
            if not 0 <= j < len(trucks) or len(blocks[trucks[j]]) < 2:
                continue
            giver = blocks[trucks[j]]
            edge = giver[-1] if j < i else giver[0]
            if sum(c.capacity for c in giver) - edge.capacity < volumes[trucks[j]]:
                continue
            blocks[trucks[j]] = giver[:-1] if j < i else giver[1:]
            blocks[trucks[i]] = (edge, *blocks[trucks[i]]) if j < i else (*blocks[trucks[i]], edge)
            moved = True
            break
        if not moved:
            raise PlanningError(
                {
                    "plan": f"truck {trucks[i]}'s {volumes[trucks[i]]} parcels fit in no "
                    "block of adjacent chutes"
                }
            )

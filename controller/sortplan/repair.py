"""Repair a plan after chutes failed, filled up or volumes shifted, moving as little as possible.

Each truck keeps its block (its chutes of the current plan that are still enabled; a
failed chute inside a block leaves it adjacent, as adjacency counts enabled chutes
only). A route keeps its chutes when they all still work and no chute it is on is
over capacity; the others (on a failed chute, new, or taken off an overloaded chute,
smallest first) are placed again inside the block. A block that cannot hold its truck
grows by one adjacent chute at a time: a free enabled chute first, else the edge chute
of the neighbour with the most room, whose routes there move inside its own block.
A current plan that does not keep the block rule, a truck that lost every chute, or
no room anywhere: planned afresh instead.
Pure.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from controller.sortplan.fill import Assignment, greedy_fill, overfull_chutes
from controller.sortplan.instance import Chute, Instance

MAX_ROUNDS = 10_000


def current_blocks(instance: Instance) -> dict[str, list[int]] | None:
    """Each truck's enabled chutes in the current plan, as indexes into the enabled chutes
    (None: the current plan shares a chute between trucks or splits a truck's block)."""
    assert instance.current_plan is not None
    index = {c.id: i for i, c in enumerate(instance.enabled)}
    truck_of = {r.id: r.truck for r in instance.routes}
    owner: dict[int, str] = {}
    for route, chutes in instance.current_plan.items():
        truck = truck_of.get(route)
        for chute in chutes:
            if truck is None or chute not in index:
                continue
            if owner.setdefault(index[chute], truck) != truck:
                return None
    blocks: dict[str, list[int]] = {t.id: [] for t in instance.trucks}
    for i, truck in sorted(owner.items()):
        blocks[truck].append(i)
    for spots in blocks.values():
        if spots and spots[-1] - spots[0] + 1 != len(spots):
            return None
    return blocks


def _room(chutes: Sequence[Chute], volume: int) -> int:
    return sum(c.capacity for c in chutes) - volume


def repair(instance: Instance, target: float) -> Assignment | None:
    """The repaired plan, or None when the current plan has no blocks to repair (or a
    truck lost every chute, or no block can give one): then a fresh plan is made."""
    blocks = current_blocks(instance)
    if blocks is None:
        return None
    try:
        return _repair(instance, blocks, target)
    except _NoRoom:
        return None


def _repair(instance: Instance, blocks: dict[str, list[int]], target: float) -> Assignment:
    enabled = instance.enabled
    volume = instance.truck_volume()
    routes_of = instance.routes_of()
    current = instance.current_plan or {}
    index = {c.id: i for i, c in enumerate(enabled)}
    routes_on: dict[int, int] = {}
    for chutes in current.values():
        for chute in chutes:
            if chute in index:
                routes_on[index[chute]] = routes_on.get(index[chute], 0) + 1
    moving: dict[str, set[str]] = {t: set() for t in blocks}
    plan: Assignment = {}
    for _ in range(MAX_ROUNDS):
        short = next(
            (
                t
                for t in blocks
                if not blocks[t] or _room([enabled[i] for i in blocks[t]], volume[t]) < 0
            ),
            None,
        )
        if short is not None:
            _grow(short, blocks, enabled, volume, routes_on)
            continue
        overloaded = None
        for truck, spots in blocks.items():
            chutes = [enabled[i] for i in spots]
            ids = {c.id for c in chutes}
            fixed = {
                r.id: tuple(current[r.id])
                for r in routes_of[truck]
                if r.id in current and r.id not in moving[truck] and set(current[r.id]) <= ids
            }
            fill = greedy_fill(routes_of[truck], chutes, target, fixed)
            over = next(iter(overfull_chutes(fill, routes_of[truck], chutes)), None)
            if over is not None:
                overloaded = (truck, over, fill)
                break
            plan.update(fill)
        if overloaded is None:
            return plan
        truck, chute, fill = overloaded
        candidates = [
            r
            for r in routes_of[truck]
            if chute in fill[r.id] and r.id not in moving[truck] and r.id in current
        ]
        if candidates:
            moving[truck].add(min(candidates, key=lambda r: (r.volume, r.id)).id)
        else:
            _grow(truck, blocks, enabled, volume, routes_on)
        plan = {}
    raise _NoRoom("the repair did not settle")


class _NoRoom(Exception):
    """No block can give a chute: the repair gives way to a fresh plan."""


def _grow(
    truck: str,
    blocks: dict[str, list[int]],
    enabled: Sequence[Chute],
    volume: Mapping[str, int],
    routes_on: Mapping[int, int],
) -> None:
    """Give ``truck`` one more adjacent chute: a free one next to its block, else shift by
    one chute each the borders of the blocks between it and a truck with room to spare,
    choosing the chain whose chutes that change hands carry the fewest routes (every block
    in between keeps its size; those routes are placed again inside their blocks)."""
    owner = {i: t for t, spots in blocks.items() for i in spots}
    spots = blocks[truck]
    if not spots:
        raise _NoRoom(truck)
    free = [i for i in (spots[0] - 1, spots[-1] + 1) if 0 <= i < len(enabled) and i not in owner]
    if free:
        blocks[truck] = sorted([*spots, free[0]])
        return
    order = sorted((t for t in blocks if blocks[t]), key=lambda t: blocks[t][0])
    here = order.index(truck)
    best: tuple[int, int, dict[str, list[int]]] | None = None
    for step in (-1, 1):
        for distance in range(1, len(order)):
            ends = [here + step * d for d in range(distance + 1)]
            if not 0 <= ends[-1] < len(order):
                break
            shifted = _shift([order[i] for i in ends], step, blocks, enabled, volume)
            if shifted is None:
                continue
            cost = sum(
                routes_on.get(i, 0)
                for t, spots in shifted.items()
                for i in blocks[t]
                if i not in spots
            )
            if best is None or (cost, distance) < best[:2]:
                best = (cost, distance, shifted)
            break  # a longer chain on this side moves more
    if best is None:
        raise _NoRoom(truck)
    blocks.update(best[2])


def _shift(
    chain: list[str],
    step: int,
    blocks: dict[str, list[int]],
    enabled: Sequence[Chute],
    volume: Mapping[str, int],
) -> dict[str, list[int]] | None:
    """The chain's blocks with one chute moved along it (from its last block to its first),
    or None when a block would no longer hold its truck's parcels."""
    moved = {t: list(blocks[t]) for t in chain}
    for taker, giver in itertools.pairwise(chain):
        edge = moved[giver][0] if step > 0 else moved[giver][-1]
        moved[giver].remove(edge)
        moved[taker] = sorted([*moved[taker], edge])
    for t in chain[1:]:
        if not moved[t] or _room([enabled[i] for i in moved[t]], volume[t]) < 0:
            return None
    return moved

"""The dock loader: reverse stop order, slips at the configured rate, truck done by idle."""

from __future__ import annotations

import asyncio
import random

from simulators.putwall.loader import Container, DockLoader, load_order, slip


def containers(stops: list[int], truck: str = "T01") -> list[Container]:
    return [Container(f"C{i:03d}", truck, (s,)) for i, s in enumerate(stops)]


async def test_truck_done_loads_last_stop_first() -> None:
    pushed: list[str] = []
    loader = DockLoader("D01", pushed.append, load_delay_s=(0, 0), idle_s=60)
    for c in containers([2, 5, 1, 4, 3]):
        loader.receive(c)
    loader.truck_done("T01")
    await loader.idle()
    # C001 has stop 5, C003 stop 4, C004 stop 3, C000 stop 2, C002 stop 1
    assert pushed == ["C001", "C003", "C004", "C000", "C002"]
    assert (loader.loaded, loader.out_of_sequence, loader.trucks_loaded) == (5, 0, ["T01"])
    await loader.stop()


async def test_no_new_container_for_idle_s_means_the_truck_is_complete() -> None:
    pushed: list[str] = []
    loader = DockLoader("D01", pushed.append, load_delay_s=(0, 0), idle_s=0.05)
    loader.receive(Container("A", "T01", (1,)))
    await asyncio.sleep(0.03)
    loader.receive(Container("B", "T01", (2,)))
    loader.receive(Container("X", "T02", (7,)))
    await asyncio.sleep(0.03)
    assert pushed == []  # B arrived 30 ms ago: T01 is still being filled
    await asyncio.sleep(0.06)
    await loader.idle()
    assert sorted(pushed) == ["A", "B", "X"]
    assert pushed.index("B") < pushed.index("A")
    assert sorted(loader.trucks_loaded) == ["T01", "T02"]
    await loader.stop()


def test_multi_stop_containers_load_by_their_first_stop() -> None:
    order = load_order(
        [Container("a", "T", (1, 2)), Container("b", "T", (3,)), Container("c", "T", (2, 4))]
    )
    assert [c.id for c in order] == ["b", "c", "a"]


async def test_rate_one_swaps_every_pair_without_chaining() -> None:
    pushed: list[str] = []
    loader = DockLoader(
        "D01", pushed.append, load_delay_s=(0, 0), out_of_sequence_rate=1.0, idle_s=60
    )
    for c in containers([1, 2, 3, 4, 5]):
        loader.receive(c)
    loader.truck_done("T01")
    await loader.idle()
    assert pushed == ["C003", "C004", "C001", "C002", "C000"]
    assert loader.out_of_sequence == 2
    await loader.stop()


def test_slips_follow_the_rate_with_a_seeded_rng() -> None:
    order = load_order(containers(list(range(1, 401))))
    swapped, swaps = slip(order, 0.1, random.Random(7))
    again, swaps_again = slip(order, 0.1, random.Random(7))
    assert (swapped, swaps) == (again, swaps_again)  # seeded: the same slips
    moved = sum(1 for a, b in zip(order, swapped, strict=True) if a is not b)
    assert moved == 2 * swaps  # each slip moves exactly two neighbours
    for i, c in enumerate(swapped):
        assert abs(order.index(c) - i) <= 1
    # about rate / (1 + rate) of the 399 neighbour pairs
    assert 20 <= swaps <= 55
    assert slip(order, 0.0, random.Random(7)) == (order, 0)

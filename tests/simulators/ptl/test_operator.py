"""The simulated put-wall operator: what it presses, when, and how often."""

from __future__ import annotations

import asyncio
import random

import pytest

from simulators.ptl.bank import LightBank, Press
from simulators.ptl.operator import PressingOperator

FAST = (0.0, 0.002)


async def next_press(bank: LightBank, timeout_s: float = 1.0) -> Press:
    async with asyncio.timeout(timeout_s):
        return await bank.next_press()


async def run_lights(seed: int, lights: int, **rates: float) -> dict[str, int]:
    """Light node 1 green ``lights`` times, waiting each time until the operator acted."""
    bank = LightBank([1, 2, 3])
    operator = PressingOperator(bank, random.Random(seed), delay_s=(0.0, 0.0), **rates)
    operator.start()
    try:
        for i in range(lights):
            bank.show(1, i, "green")
            for _ in range(1000):  # the operator acts within a few loop turns
                if sum(operator.counts.values()) == i + 1:
                    break
                await asyncio.sleep(0)
            else:
                raise AssertionError(f"light {i}: the operator did nothing")
            bank.clear(1)
        return operator.counts
    finally:
        await operator.stop()


async def test_rates_follow_the_seeded_rng_and_repeat_for_the_same_seed():
    counts = await run_lights(7, 300, no_press_rate=0.2, shortage_rate=0.3)
    assert sum(counts.values()) == 300
    assert 40 <= counts["no_press"] <= 80
    assert 65 <= counts["shortage"] <= 115
    assert counts["confirm"] == 300 - counts["no_press"] - counts["shortage"]
    assert counts["wrong"] == counts["skipped"] == 0
    assert await run_lights(7, 300, no_press_rate=0.2, shortage_rate=0.3) == counts
    assert await run_lights(8, 300, no_press_rate=0.2, shortage_rate=0.3) != counts


async def test_confirm_presses_the_lit_module_with_its_value():
    bank = LightBank([1, 2])
    operator = PressingOperator(bank, random.Random(1), delay_s=(0.01, 0.02))
    operator.start()
    try:
        bank.show(2, 5, "red")  # not the pending colour: nothing
        bank.show(1, 5, "green", flash=True)  # flashing: nothing
        bank.show(1, 12, "green")
        assert await next_press(bank) == Press(1, "confirm", 12)
        assert operator.counts["confirm"] == 1 and bank.presses_made == 1
    finally:
        await operator.stop()


async def test_a_wrong_press_then_the_right_one_once_it_flashes():
    bank = LightBank([1, 2, 3])
    operator = PressingOperator(bank, random.Random(3), delay_s=FAST, wrong_press_rate=1.0)
    operator.start()
    try:
        bank.show(2, 4, "green")
        wrong = await next_press(bank)
        assert wrong.node in (1, 3) and wrong.kind == "confirm"
        await asyncio.sleep(0.02)
        assert bank.presses_made == 1  # waits for the right module to flash
        bank.show(2, 4, "red", flash=True)  # the controller: "this one"
        assert await next_press(bank) == Press(2, "confirm", 4)
        assert operator.counts["wrong"] == 1 and operator.counts["confirm"] == 1
    finally:
        await operator.stop()


async def test_no_press_and_a_light_taken_back_before_the_press():
    bank = LightBank([1])
    operator = PressingOperator(bank, random.Random(5), delay_s=FAST, no_press_rate=1.0)
    operator.start()
    try:
        bank.show(1, 3, "green")
        await asyncio.sleep(0.05)
        assert bank.presses_made == 0 and operator.counts["no_press"] == 1
    finally:
        await operator.stop()
    slow = PressingOperator(bank, random.Random(5), delay_s=(0.03, 0.03))
    slow.start()
    try:
        bank.clear(1)
        bank.show(1, 9, "green")
        bank.clear(1)  # the controller took it back
        await asyncio.sleep(0.06)
        assert bank.presses_made == 0 and slow.counts["skipped"] == 1
    finally:
        await slow.stop()


def test_rates_above_one_are_refused():
    with pytest.raises(ValueError):
        PressingOperator(LightBank([1]), random.Random(0), wrong_press_rate=0.6, no_press_rate=0.6)

"""Fault draws and link faults (pure)."""

from __future__ import annotations

import random

from plc_configs.schema import MeasureSimulation
from simulators.measure.faults import (
    Draw,
    Fault,
    FaultInjector,
    config_rates,
    fixed_rates,
    plan_delivery,
)

FRAME = b"S S      1.234 kg\r\n"


def d(*faults: Fault, seed: int = 1) -> Draw:
    return Draw(frozenset(faults), random.Random(seed))


def test_no_fault_sends_the_frame_whole():
    assert plan_delivery(FRAME, d()).chunks == (FRAME,)


def test_split_gives_two_or_three_pieces_that_join_up():
    for seed in range(30):
        plan = plan_delivery(FRAME, d(Fault.SPLIT, seed=seed), split_gap_s=0.004)
        assert 2 <= len(plan.chunks) <= 3 and all(plan.chunks)
        assert b"".join(plan.chunks) == FRAME and plan.gap_s == 0.004


def test_truncated_garbage_silence_disconnect():
    for seed in range(30):
        cut = plan_delivery(FRAME, d(Fault.TRUNCATED, seed=seed)).chunks[0]
        assert FRAME.startswith(cut) and len(cut) < len(FRAME)
        junk = plan_delivery(FRAME, d(Fault.GARBAGE, seed=seed)).chunks[0]
        assert junk.endswith(FRAME) and 1 <= len(junk) - len(FRAME) <= 8
        assert not any(b < 0x20 or b == 0x7F for b in junk[: len(junk) - len(FRAME)])
    assert plan_delivery(FRAME, d(Fault.SILENCE, Fault.SPLIT)).chunks == ()
    plan = plan_delivery(FRAME, d(Fault.DISCONNECT))
    assert plan.drop and plan.chunks == (FRAME[: len(FRAME) // 2],)


def test_injector_is_seeded_and_follows_rates():
    rates = fixed_rates({Fault.UNSTABLE: 0.3, Fault.SPLIT: 1.0})
    a = [FaultInjector(rates, seed="x").draw().faults for _ in range(1)]
    inj_a, inj_b = FaultInjector(rates, seed="x"), FaultInjector(rates, seed="x")
    seq_a = [inj_a.draw().faults for _ in range(500)]
    assert seq_a == [inj_b.draw().faults for _ in range(500)]
    assert a[0] == seq_a[0]
    assert all(Fault.SPLIT in f for f in seq_a)
    assert 100 < inj_a.counts[Fault.UNSTABLE] < 200
    assert inj_a.counts[Fault.SILENCE] == 0


def test_rates_can_change_in_time():
    now = [0.0]
    inj = FaultInjector(
        lambda f, t: 1.0 if f is Fault.SILENCE and t >= 5 else 0.0, elapsed=lambda: now[0]
    )
    assert Fault.SILENCE not in inj.draw()
    now[0] = 5.0
    assert Fault.SILENCE in inj.draw()


def test_config_rates():
    rates = config_rates(MeasureSimulation(unstable_rate=0.25, disconnect_rate=0.5))
    assert rates(Fault.UNSTABLE, 0) == 0.25 and rates(Fault.DISCONNECT, 9) == 0.5
    assert rates(Fault.BAD_CHECKSUM, 0) == 0.0

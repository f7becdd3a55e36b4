"""What the HMI and the OPC UA server derive from a snapshot, and snapshot percentiles."""

from __future__ import annotations

import random

import pytest

from controller.histogram import percentile, percentiles
from controller.line.views import ChuteState, ThroughputMeter, chute_state


def test_throughput_is_parcels_per_hour_over_the_last_minute():
    meter = ThroughputMeter(interval_s=0.5)
    assert meter.add(0.0, 0) == 0.0
    assert meter.add(0.5, 10) == 0.0  # under a second of samples
    assert meter.add(2.0, 20) == pytest.approx(20 * 3600 / 2)
    for t in range(3, 200):
        rate = meter.add(float(t), 20 + (t - 2) * 2)  # two parcels a second
    assert rate == pytest.approx(7200)


class _Snap:
    chute_disabled = frozenset({2, 3})
    chute_full = frozenset({3, 4})


def test_a_chute_disabled_by_a_supervisor_shows_off_before_jam_and_full():
    states = [chute_state(c, _Snap(), frozenset({2})) for c in (1, 2, 3, 4)]
    assert states == [ChuteState.NORMAL, ChuteState.DISABLED, ChuteState.JAMMED, ChuteState.FULL]
    assert [s.word for s in states] == ["OK", "OFF", "JAM", "FULL"]


@pytest.mark.parametrize("n", [0, 1, 2, 3, 99, 100, 101, 5000])
def test_percentiles_agree_with_the_nearest_rank_percentile(n):
    rng = random.Random(n)
    values = [rng.uniform(0, 10) for _ in range(n)]
    assert percentiles(values, (50, 99)) == [percentile(values, 50), percentile(values, 99)]

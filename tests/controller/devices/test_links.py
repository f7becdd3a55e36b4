import random

import pytest

from controller.devices.links import Backoff


def test_backoff_doubles_up_to_the_maximum_with_jitter_and_resets():
    b = Backoff(0.1, 0.5, random.Random(1))
    delays = [b.next_delay() for _ in range(6)]
    assert 0.08 <= delays[0] <= 0.12
    assert 0.16 <= delays[1] <= 0.24
    assert all(d <= 0.6 for d in delays) and delays[-1] >= 0.4
    b.reset()
    assert b.next_delay() <= 0.12


def test_backoff_rejects_nonsense():
    with pytest.raises(ValueError):
        Backoff(0, 1)

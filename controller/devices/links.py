"""What every device supervisor shares: its link state and a reconnect backoff."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LinkState:
    """A frozen snapshot of one device link, for the CLI, API and HMI."""

    device: str
    address: str
    up: bool
    since: float
    last_error: str | None = None


class Backoff:
    """Exponential backoff with jitter between ``minimum`` and ``maximum`` seconds."""

    def __init__(self, minimum: float, maximum: float, rng: random.Random | None = None):
        if not 0 < minimum <= maximum:
            raise ValueError("expected 0 < minimum <= maximum")
        self.minimum = minimum
        self.maximum = maximum
        self._next = minimum
        self._rng = rng or random.Random()

    @classmethod
    def for_device(cls, device: Any) -> Backoff:
        """The backoff a device's config asks for (``reconnect_min_ms``/``reconnect_max_ms``)."""
        return cls(device.reconnect_min_ms / 1000, device.reconnect_max_ms / 1000)

    def next_delay(self) -> float:
        """The next delay: doubles each time up to the maximum, with +-20 % jitter."""
        delay = self._next
        self._next = min(self._next * 2, self.maximum)
        return delay * self._rng.uniform(0.8, 1.2)

    def reset(self) -> None:
        """Start again from the minimum (after a successful connect)."""
        self._next = self.minimum

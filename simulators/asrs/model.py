"""The AS/RS simulator's rack: slots, reservations and faults, with no I/O.

Refusal reasons are protocol-neutral names (:data:`REASONS`); the server maps them to
each protocol's error codes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

REASONS = ("crane_fault", "occupied", "unknown_hu", "no_free_location", "already_stored")
RATE_KEYS = ("crane_fault", "occupied", "unknown_hu", "drop_reply")


@dataclass(frozen=True, slots=True)
class Plan:
    """An order's fate: ``reason`` None = accepted, ``slot`` the rack slot it uses."""

    reason: str | None
    slot: str | None = None


class Rack:
    """``capacity`` slots named by ``slot_name(i)`` (i from 1), one HU each.

    ``inject(name)`` makes the next matching order fail once (``occupied`` on a store,
    ``unknown_hu`` on a retrieve); ``rates`` give each fault a seeded probability per
    order (``crane_fault`` refuses the order as if the crane were faulted).
    """

    def __init__(
        self,
        capacity: int,
        slot_name: Callable[[int], str],
        *,
        seed: int = 0,
        rates: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        unknown = set(rates or {}) - set(RATE_KEYS)
        if unknown:
            raise ValueError(f"unknown fault rates {sorted(unknown)}; known: {RATE_KEYS}")
        self.slots: dict[str, str | None] = {slot_name(i): None for i in range(1, capacity + 1)}
        self.reserved: dict[str, str] = {}
        self.rates = dict(rates or {})
        self.rng = random.Random(seed)
        self.clock = clock
        self.fault_until = 0.0
        self.injected: set[str] = set()

    @property
    def crane_faulted(self) -> bool:
        """True while an injected crane fault lasts."""
        return self.clock() < self.fault_until

    def roll(self, fault: str) -> bool:
        """True if ``fault`` is injected (consumed) or its seeded rate hits."""
        if fault in self.injected:
            self.injected.discard(fault)
            return True
        rate = self.rates.get(fault, 0.0)
        return rate > 0 and self.rng.random() < rate

    def where(self, hu: str) -> str | None:
        """The slot holding ``hu``."""
        return next((s for s, held in self.slots.items() if held == hu), None)

    def plan_store(self, hu: str, dest: str | None) -> Plan:
        """Accept (reserving a slot) or refuse storing ``hu``."""
        if self.crane_faulted or self.roll("crane_fault"):
            return Plan("crane_fault")
        if self.where(hu) is not None or hu in self.reserved.values():
            return Plan("already_stored")
        if self.roll("occupied") or (dest is not None and self._busy(dest)):
            return Plan("occupied", dest)
        slot = dest if dest in self.slots else None
        if slot is None:
            slot = next((s for s in self.slots if not self._busy(s)), None)
        if slot is None:
            return Plan("no_free_location")
        self.reserved[slot] = hu
        return Plan(None, slot)

    def plan_retrieve(self, hu: str) -> Plan:
        """Accept or refuse retrieving ``hu``."""
        if self.crane_faulted or self.roll("crane_fault"):
            return Plan("crane_fault")
        slot = self.where(hu)
        if slot is None or self.roll("unknown_hu"):
            return Plan("unknown_hu")
        return Plan(None, slot)

    def _busy(self, slot: str) -> bool:
        return self.slots.get(slot) is not None or slot in self.reserved

    def put(self, slot: str, hu: str) -> None:
        """The crane put ``hu`` into ``slot``."""
        self.reserved.pop(slot, None)
        self.slots[slot] = hu

    def take(self, slot: str) -> None:
        """The crane took the unit out of ``slot``."""
        self.slots[slot] = None

    def snapshot(self) -> dict[str, str]:
        """Occupied slots: slot → HU."""
        return {s: hu for s, hu in self.slots.items() if hu is not None}

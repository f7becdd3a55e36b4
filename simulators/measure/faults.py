"""Fault injection shared by every scale and dimensioner simulator.

Per request (or per pushed frame) a :class:`FaultInjector` draws, with a seeded RNG,
which faults apply; each fault has its own rate, looked up at the current time (the
config's ``simulation.measure`` rates, raised by a scenario file while its windows are
active). The result is a :class:`Draw`.

Device faults (``unstable``, ``overload``, ``error``, ``bad_checksum``) are expressed by
the protocol handler in the device's own terms (``S D``, an ``M`` flag, ``EL``, a wrong
CHK byte …). Link faults are applied to the finished frame by :func:`plan_delivery`,
the same way for every protocol:

- ``split``: the frame goes out in 2-3 chunks with a few ms between them;
- ``truncated``: the end of the frame is dropped;
- ``garbage``: 1-8 junk bytes (never control characters) precede the frame;
- ``silence``: nothing is sent;
- ``disconnect``: half the frame is sent, then the link drops (TCP: the client is
  disconnected; pty: the device stops answering for a while).
"""

from __future__ import annotations

import itertools
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from plc_configs.schema import MeasureSimulation


class Fault(StrEnum):
    """A fault a simulated measuring device can show; values match the config's rate names."""

    UNSTABLE = "unstable"
    OVERLOAD = "overload"
    ERROR = "error"
    BAD_CHECKSUM = "bad_checksum"
    SPLIT = "split"
    TRUNCATED = "truncated"
    GARBAGE = "garbage"
    SILENCE = "silence"
    DISCONNECT = "disconnect"


RateFn = Callable[[Fault, float], float]
"""(fault, seconds since start) -> probability of the fault on one request."""


def config_rates(measure: MeasureSimulation) -> RateFn:
    """The rates of ``simulation.measure`` (constant in time)."""
    return lambda fault, _t: float(getattr(measure, f"{fault.value}_rate"))


def fixed_rates(rates: Mapping[Fault, float]) -> RateFn:
    """Constant rates from a mapping (faults not in it never happen); handy in tests."""
    return lambda fault, _t: rates.get(fault, 0.0)


@dataclass(frozen=True)
class Draw:
    """The faults that apply to one request, and the RNG to pick variants with."""

    faults: frozenset[Fault] = frozenset()
    rng: random.Random = field(default_factory=lambda: random.Random(0), compare=False)

    def __contains__(self, fault: object) -> bool:
        return fault in self.faults


class FaultInjector:
    """Draws faults per request from time-dependent rates and a seeded RNG."""

    def __init__(
        self,
        rates: RateFn | None = None,
        *,
        seed: int | str = 0,
        elapsed: Callable[[], float] | None = None,
    ):
        self.rates: RateFn = rates or fixed_rates({})
        self.rng = random.Random(seed)
        start = time.monotonic()
        self.elapsed = elapsed or (lambda: time.monotonic() - start)
        self.counts: Counter[Fault] = Counter()
        self.draws = 0

    def draw(self) -> Draw:
        """Which faults apply to the next request."""
        t = self.elapsed()
        hit = set()
        for fault in Fault:
            rate = self.rates(fault, t)
            if rate > 0 and self.rng.random() < rate:
                hit.add(fault)
        self.draws += 1
        self.counts.update(hit)
        return Draw(frozenset(hit), self.rng)


@dataclass(frozen=True)
class Delivery:
    """How a frame goes out: chunks written ``gap_s`` apart, then maybe a dropped link."""

    chunks: tuple[bytes, ...]
    gap_s: float = 0.0
    drop: bool = False


JUNK = bytes(range(0x21, 0x7F)) + bytes(range(0x80, 0x100))
"""Garbage bytes: printable ASCII and high bytes, no control characters (no STX/CR/LF)."""


def junk(rng: random.Random, low: int = 1, high: int = 8) -> bytes:
    """Some random garbage bytes."""
    return bytes(rng.choice(JUNK) for _ in range(rng.randint(low, high)))


def plan_delivery(frame: bytes, draw: Draw, split_gap_s: float = 0.003) -> Delivery:
    """Apply the link faults of ``draw`` to ``frame`` (pure; see the module docstring)."""
    if Fault.SILENCE in draw or not frame:
        return Delivery(())
    rng = draw.rng
    if Fault.TRUNCATED in draw and len(frame) > 1:
        frame = frame[: rng.randint(1, len(frame) - 1)]
    if Fault.GARBAGE in draw:
        frame = junk(rng) + frame
    if Fault.DISCONNECT in draw:
        return Delivery((frame[: max(1, len(frame) // 2)],), drop=True)
    if Fault.SPLIT in draw and len(frame) >= 2:
        pieces = rng.randint(2, min(3, len(frame)))
        cuts = sorted(rng.sample(range(1, len(frame)), pieces - 1))
        bounds = [0, *cuts, len(frame)]
        chunks = tuple(frame[a:b] for a, b in itertools.pairwise(bounds))
        return Delivery(chunks, gap_s=split_gap_s)
    return Delivery((frame,))

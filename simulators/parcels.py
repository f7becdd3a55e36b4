"""Seeded parcel specs and the arrival process of the line twin.

Everything about parcel ``i`` (tracking id ``i``, from 1) is derived from the seed and
``i`` alone, so a run is reproducible whatever the timing: barcode, route, size, weight,
whether the TMS manifest knows it, and what the simulated reader will do with it.

Routes are uniform over the config's ``sort_plan``, or, with ``simulation.route_plan``,
drawn by the weights of a generated route plan (:mod:`simulators.route_plan`) in force
for parcel ``i`` (a scenario's volume shifts change them from a parcel index on, see
:mod:`simulators.scenario`), with a stop drawn among the route's stops.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from plc_configs.schema import LineConfig, ReaderSimulation
from simulators.route_plan import RoutePlan, generate_route_plan
from simulators.scenario import VolumeShiftAt

BARCODE_SPACE = 9_000_000_000
"""Primary labels are ``LS`` + 10 digits below 9e9, so they never start with ``9``."""
SECOND_LABEL_SPACE = 1_000_000_000
"""Second labels (multi-label parcels) are ``LS9`` + 9 digits: never equal to a primary."""
SAFETY_FACTOR = 1.3
"""Belt length reserved per parcel = (mean length + min gap) x this factor."""
MANIFEST_COLUMNS = ("barcode", "route")
"""Manifest columns without a route plan."""
ROUTE_PLAN_MANIFEST_COLUMNS = ("barcode", "route", "stop_sequence", "consignee")
"""Manifest columns with a route plan."""


class ReaderOutcome(StrEnum):
    """What the simulated barcode reader does with a parcel (drawn once per parcel)."""

    OK = "ok"
    NO_READ = "no_read"
    MULTI_LABEL = "multi_label"
    DUPLICATE_READ = "duplicate_read"
    LATE_ANSWER = "late_answer"
    GARBLED = "garbled"


@dataclass(frozen=True)
class ParcelSpec:
    """Everything decided in advance about one parcel."""

    tracking_id: int
    barcode: str
    route: str
    length_mm: int
    width_mm: int
    height_mm: int
    weight_kg: float
    in_manifest: bool
    reader_outcome: ReaderOutcome
    second_label: str | None = None
    """The other label on a multi-label parcel."""
    stop_sequence: int | None = None
    """The route's stop the parcel goes to (with a route plan only)."""
    consignee: str | None = None
    """That stop's consignee (with a route plan only)."""

    @property
    def labels(self) -> list[str]:
        """The labels physically on the parcel."""
        return [self.barcode] if self.second_label is None else [self.barcode, self.second_label]


_HALF = 100_000
"""A 10-digit number is two halves of 5 digits for the Feistel permutation."""


class DigitPermutation:
    """A keyed bijection of ``[0, space)`` (``space`` <= 10**10): Feistel + cycle walking.

    Consecutive inputs give unrelated-looking outputs, and no two inputs collide.
    """

    def __init__(self, rng: random.Random, space: int, rounds: int = 4):
        if not 0 < space <= _HALF * _HALF:
            raise ValueError("space must be in 1..10**10")
        self.space = space
        self.keys = [rng.randrange(1, 2**31) for _ in range(rounds)]

    def _feistel(self, x: int) -> int:
        left, right = divmod(x, _HALF)
        for key in self.keys:
            mixed = ((right ^ key) * 2_654_435_761 + key) & 0xFFFF_FFFF
            left, right = right, (left + (mixed >> 7)) % _HALF
        return left * _HALF + right

    def __call__(self, x: int) -> int:
        """The image of ``x`` (``0 <= x < space``)."""
        if not 0 <= x < self.space:
            raise ValueError(f"{x} is outside 0..{self.space - 1}")
        x = self._feistel(x)
        while x >= self.space:
            x = self._feistel(x)
        return x


def draw_outcome(rng: random.Random, rates: ReaderSimulation) -> ReaderOutcome:
    """Draw one reader outcome from the configured shares."""
    u = rng.random()
    for outcome, share in (
        (ReaderOutcome.NO_READ, rates.no_read_rate),
        (ReaderOutcome.MULTI_LABEL, rates.multi_label_rate),
        (ReaderOutcome.DUPLICATE_READ, rates.duplicate_read_rate),
        (ReaderOutcome.LATE_ANSWER, rates.late_answer_rate),
        (ReaderOutcome.GARBLED, rates.garbled_rate),
    ):
        if u < share:
            return outcome
        u -= share
    return ReaderOutcome.OK


@dataclass(frozen=True)
class _Weights:
    """Route weights in force from parcel ``first`` on (cumulative, for bisection)."""

    first: int
    weights: dict[str, float]
    cumulative: list[float]


class ParcelFactory:
    """Deterministic parcel specs for one line config and seed.

    ``spec(i)`` may be called in any order and always returns the same parcel.
    ``volume_shifts`` (a scenario's ``volumes:``, with a route plan only) change the
    route weights from the parcel index at which their ``at_s`` is reached at
    ``rate_pph`` (default: the config's).
    """

    def __init__(
        self,
        config: LineConfig,
        seed: int | None = None,
        *,
        rate_pph: float | None = None,
        volume_shifts: Sequence[VolumeShiftAt] = (),
    ):
        self.config = config
        self.seed = config.simulation.seed if seed is None else seed
        self.routes = sorted(config.sort_plan)
        perm = random.Random(f"lanesort-barcodes:{self.seed}")
        self._primary = DigitPermutation(perm, BARCODE_SPACE)
        self._second = DigitPermutation(perm, SECOND_LABEL_SPACE)
        settings = config.simulation.route_plan
        self.plan: RoutePlan | None = None
        self.shifted_routes: list[frozenset[str]] = []
        """Per volume shift (scenario order): the routes it multiplies."""
        self._weights: list[_Weights] = []
        if settings is None:
            if volume_shifts:
                raise ValueError("volume shifts need simulation.route_plan")
            return
        self.plan = generate_route_plan(settings, self.seed)
        self.routes = [r.id for r in self.plan.routes]
        rate = config.simulation.rate_pph if rate_pph is None else rate_pph
        self._build_weights(volume_shifts, rate)

    def _build_weights(self, shifts: Sequence[VolumeShiftAt], rate_pph: float) -> None:
        assert self.plan is not None
        for index, shift in enumerate(shifts):
            rng = random.Random(f"lanesort-volume:{self.seed}:{index}")
            count = max(1, round(shift.routes_share * len(self.routes)))
            self.shifted_routes.append(frozenset(rng.sample(self.routes, count)))
        weights = dict(self.plan.weights)
        starts = sorted(
            (self.first_parcel_at(shift.at_s, rate_pph), index)
            for index, shift in enumerate(shifts)
        )
        self._add_weights(1, weights)
        for first, index in starts:
            for route in self.shifted_routes[index]:
                weights[route] *= shifts[index].factor
            self._add_weights(first, weights)

    def _add_weights(self, first: int, weights: dict[str, float]) -> None:
        cumulative = list(itertools.accumulate(weights[r] for r in self.routes))
        entry = _Weights(first, dict(weights), cumulative)
        if self._weights and self._weights[-1].first == first:
            self._weights[-1] = entry
        else:
            self._weights.append(entry)

    @staticmethod
    def first_parcel_at(at_s: float, rate_pph: float) -> int:
        """The first parcel created at or after ``at_s``: parcel ``i`` at
        ``(i - 1) * 3600 / rate_pph`` seconds."""
        return math.ceil(at_s * rate_pph / 3600 - 1e-9) + 1

    def route_weights(self, tracking_id: int) -> dict[str, float]:
        """Route id -> weight in force for this parcel (not normalised; route plan only)."""
        if not self._weights:
            raise ValueError("route weights exist only with simulation.route_plan")
        firsts = [w.first for w in self._weights]
        return dict(self._weights[bisect.bisect_right(firsts, tracking_id) - 1].weights)

    def _draw_route(self, rng: random.Random, tracking_id: int) -> tuple[str, int, str]:
        assert self.plan is not None
        firsts = [w.first for w in self._weights]
        table = self._weights[bisect.bisect_right(firsts, tracking_id) - 1].cumulative
        index = bisect.bisect_right(table, rng.random() * table[-1])
        route = self.plan.routes[min(index, len(table) - 1)]
        stop = route.stops[rng.randrange(len(route.stops))]
        return route.id, stop.sequence, stop.consignee

    @property
    def manifest_columns(self) -> tuple[str, ...]:
        """The manifest's header: with a route plan, the stop and consignee too."""
        return MANIFEST_COLUMNS if self.plan is None else ROUTE_PLAN_MANIFEST_COLUMNS

    def barcode(self, tracking_id: int) -> str:
        """The primary label of parcel ``tracking_id`` (unique per seed)."""
        return f"LS{self._primary(tracking_id % BARCODE_SPACE):010d}"

    def second_label(self, tracking_id: int) -> str:
        """A second, different label (used on multi-label parcels)."""
        return f"LS9{self._second(tracking_id % SECOND_LABEL_SPACE):09d}"

    def spec(self, tracking_id: int) -> ParcelSpec:
        """The parcel with this tracking id (1-based)."""
        if not 1 <= tracking_id <= 0xFFFF_FFFF:
            raise ValueError(f"tracking id {tracking_id} is not a u32 >= 1")
        sim = self.config.simulation
        rng = random.Random(f"lanesort-parcel:{self.seed}:{tracking_id}")
        stop: int | None = None
        consignee: str | None = None
        if self.plan is None:
            route = rng.choice(self.routes)
        else:
            route, stop, consignee = self._draw_route(rng, tracking_id)
        length = rng.randint(*sim.parcel_length_mm)
        width = rng.randint(*sim.parcel_width_mm)
        height = rng.randint(*sim.parcel_height_mm)
        weight = round(rng.uniform(*sim.parcel_weight_kg), 3)
        in_manifest = rng.random() >= sim.manifest_missing_share
        outcome = draw_outcome(rng, sim.reader)
        second = self.second_label(tracking_id) if outcome is ReaderOutcome.MULTI_LABEL else None
        return ParcelSpec(
            tracking_id=tracking_id,
            barcode=self.barcode(tracking_id),
            route=route,
            length_mm=length,
            width_mm=width,
            height_mm=height,
            weight_kg=weight,
            in_manifest=in_manifest,
            reader_outcome=outcome,
            second_label=second,
            stop_sequence=stop,
            consignee=consignee,
        )

    def manifest_rows(self, count: int) -> list[tuple[str, ...]]:
        """The rows (:attr:`manifest_columns`) of the parcels 1..count the TMS knows:
        (barcode, route), or with a route plan (barcode, route, stop_sequence, consignee)."""
        rows: list[tuple[str, ...]] = []
        for i in range(1, count + 1):
            p = self.spec(i)
            if not p.in_manifest:
                continue
            if self.plan is None:
                rows.append((p.barcode, p.route))
            else:
                rows.append((p.barcode, p.route, str(p.stop_sequence), str(p.consignee)))
        return rows


def effective_belt_speed(config: LineConfig, rate_pph: float | None = None) -> float:
    """Belt speed (m/s) that carries ``rate_pph``: the topology's, or faster if needed.

    The belt needs ``(mean length + min gap) x 1.3`` mm per parcel.
    """
    sim = config.simulation
    rate = sim.rate_pph if rate_pph is None else rate_pph
    mean_len = sum(sim.parcel_length_mm) / 2
    pitch_mm = (mean_len + sim.min_gap_mm) * SAFETY_FACTOR
    needed = rate / 3600 * pitch_mm / 1000
    return max(config.topology.belt_speed_mps, needed)


class Arrivals:
    """Induction points in belt distance: random gaps that keep the rate and the min gap.

    The front-to-front spacing is the shortest allowed spacing (the previous parcel's
    length + ``min_gap_mm``, and at least ``min_pitch_mm``) plus an exponential extra
    whose mean makes the average spacing match ``rate_pph`` at ``belt_speed_mps``
    (a shifted exponential: a plain exponential clipped at the min gap would fall short
    of the rate). When the rate does not fit, parcels come back to back at the min gap.

    Draws come from ``random.Random(seed)`` in parcel order, so the n-th parcel always
    lands at the same belt distance, whatever the wall-clock timing.
    """

    def __init__(
        self,
        rate_pph: float,
        belt_speed_mps: float,
        min_gap_mm: int,
        seed: int,
        *,
        min_pitch_mm: int = 0,
        mean_length_mm: float = 0.0,
    ):
        self.rng = random.Random(seed)
        self.min_pitch_mm = min_pitch_mm
        self.min_gap_mm = min_gap_mm
        self.mean_spacing_mm = 3600 / rate_pph * belt_speed_mps * 1000
        shortest = max(mean_length_mm + min_gap_mm, min_pitch_mm)
        self.extra_mean_mm = max(0.0, self.mean_spacing_mm - shortest)
        self._last_front: float | None = None
        self._last_length = 0

    def next_induct(self, length_mm: int) -> float:
        """Belt distance at which the next parcel (of this length) is inducted."""
        if self._last_front is None:
            front = self.rng.expovariate(1.0 / self.mean_spacing_mm)
        else:
            extra = self.rng.expovariate(1.0 / self.extra_mean_mm) if self.extra_mean_mm else 0.0
            shortest = max(self._last_length + self.min_gap_mm, self.min_pitch_mm)
            front = self._last_front + shortest + extra
        self._last_front = front
        self._last_length = length_mm
        return front

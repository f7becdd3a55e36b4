"""The operator of one put wall: takes parcels from the chutes, scans, presses, weighs.

A :class:`WallOperator` takes every parcel diverted into a chute of its wall's trucks
(:meth:`WallOperator.on_twin_event`, ``LANDED``), one at a time like a single person at a
station, and works it:

1. ``scan_delay_s`` after it landed, pushes its barcode on the wall scanner (``push``).
2. Waits for one of its modules to turn **green steady** (the controller's put light).
   None within ``light_timeout_s``: the parcel goes to the exception cage
   (:attr:`WallOperator.exceptions`: unknown to the controller, not for this wall, no
   cubby…) and the operator goes on.
3. ``press_delay_s`` later it presses, drawing what it does (seeded):
   ``no_press_rate``: it walks off; it comes back when the controller's light goes out
   (the put was dropped) or after ``walk_off_s``, whichever first, and scans the same
   parcel again (the controller re-lights the same put, or makes a new one); it walks
   off at most once per parcel.
   ``shortage_rate``: the parcel is damaged: shortage button, the parcel goes to
   :attr:`WallOperator.damaged`, not into the cubby.
   ``wrong_press_rate``: a confirm on another online module of the wall, then, once the
   right module flashes (or after ``flash_timeout_s``), the confirm on the right one.
   Otherwise: the confirm on the green module; the parcel is in that cubby's container.
   A press on a module that dropped off the bus does nothing: the operator scans the
   parcel again (the controller moves the put to another cubby); three tries at most.
   After a press it waits (at most ``clear_timeout_s``) for the light to change, so
   the press reaches the controller before the next scan.
4. Between parcels, for each module that turned **orange** (container closed): it finds
   the newest printed label (``labels()``) for that cubby whose container it has not
   taken yet (waiting up to ``label_wait_s`` for it, e.g. while the printer is out of
   paper), moves the container onto the check scale (load: the true weights of the
   parcels it put there plus ``tare_kg``), scans the container id and leaves it on the
   scale ``weigh_hold_s``. With ``weight_mismatch_rate`` one parcel fell out on the way:
   the first weighing is short by that parcel; the operator puts it back and, after
   ``recheck_delay_s``, scans the container again (the re-check passes). Then, after
   ``handoff_delay_s``, the container goes to the dock (``handoff``).

A label is found by its ``CUBBY`` text: a field ``CUBBY <id>``, or a caption ``CUBBY``
with its value printed right below it (the layout of ``controller.printing.zpl``); the id
is ``cubby_ids[node]`` (default ``<wall>-<node:02d>``), or else any id ending in the node
number. A ``WALL`` value, when printed, must be this wall. The container id is the
label's Code 128; truck, door and stops are read from the label too.

Every parcel scan that lit a module is timed: from pushing the code to the bank showing
the green light (:attr:`WallOperator.scan_to_light_s`, one process clock); with the
first and last scan times it gives the wall's scan rate (:meth:`WallOperator.figures`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import re
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from plc_configs.contract import SortResult
from plc_configs.putwall import PutWallSimulation
from simulators.parcels import ParcelSpec
from simulators.ptl.bank import LightBank, Module
from simulators.putwall.labels import Label, label_barcode, label_value, parse_stops
from simulators.putwall.loader import Container
from simulators.twin import Event, EventKind

log = logging.getLogger(__name__)

MAX_TRIES = 3
COUNTS = (
    *("taken", "scans", "puts", "wrong_presses", "no_presses", "shortages", "exceptions"),
    *("containers", "mismatches", "rechecks", "labels_missing", "handed_off"),
)
"""What :attr:`WallOperator.counts` counts."""
SLOW_LIGHT_S = 0.05
"""A scan whose light took longer than this is logged (with the time, in the log line)."""


class Weighing(Protocol):
    """A check scale the operator loads (:class:`simulators.putwall.scale.CheckScale`)."""

    def set_load(self, kg: float) -> None:
        """Put ``kg`` on it."""

    def clear(self) -> None:
        """Take everything off."""


def green_steady(module: Module) -> bool:
    """The put light: green, not flashing."""
    return module.lit and module.colour == "green" and not module.flash


def _stamp_green(stamps: list[float], module: Module) -> bool:
    """:func:`green_steady`, noting when the bank showed it (called in the bank's listener)."""
    if green_steady(module):
        stamps.append(module.changed_at)
        return True
    return False


def latency_figures(samples_s: Sequence[float]) -> dict[str, float | int | None]:
    """count, p50, p95, p99 (nearest rank) and max of ``samples_s``, in ms."""
    ordered = sorted(samples_s)
    n = len(ordered)

    def rank(q: float) -> float | None:
        return round(ordered[max(0, math.ceil(q * n) - 1)] * 1000, 3) if n else None

    return {
        "count": n,
        "p50": rank(0.50),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "max": round(ordered[-1] * 1000, 3) if n else None,
    }


@dataclass(frozen=True)
class OperatorTiming:
    """How long the operator waits for things (see the module docstring)."""

    light_timeout_s: float = 5.0
    walk_off_s: float = 10.0
    flash_timeout_s: float = 3.0
    clear_timeout_s: float = 2.0
    label_wait_s: float = 120.0
    weigh_hold_s: float = 1.5
    recheck_delay_s: float = 2.0
    handoff_delay_s: float = 1.0
    poll_s: float = 0.1


class _Watch:
    """Bank listener: resolves futures when a module of the wall changes as wanted."""

    def __init__(self, nodes: set[int]):
        self.nodes = nodes
        self._waiters: list[tuple[Callable[[Module], bool], asyncio.Future[Module]]] = []

    def __call__(self, module: Module) -> None:
        if module.node not in self.nodes:
            return
        for entry in list(self._waiters):
            predicate, future = entry
            if future.done():
                self._waiters.remove(entry)
            elif predicate(module):
                future.set_result(module)
                self._waiters.remove(entry)

    def expect(self, predicate: Callable[[Module], bool]) -> asyncio.Future[Module]:
        """A future resolved by the next change matching ``predicate``."""
        future: asyncio.Future[Module] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        return future


async def _within(future: asyncio.Future[Module], timeout_s: float) -> Module | None:
    try:
        async with asyncio.timeout(timeout_s):
            return await future
    except TimeoutError:
        return None


class WallOperator:
    """The person at one wall (``nodes``: its modules on ``bank``)."""

    def __init__(
        self,
        wall_id: str,
        bank: LightBank,
        nodes: Sequence[int],
        *,
        push: Callable[[str], None],
        serves: Callable[[ParcelSpec], bool],
        labels: Callable[[], Sequence[Label]] = list,
        scale: Weighing | None = None,
        handoff: Callable[[Container], None] | None = None,
        settings: PutWallSimulation | None = None,
        tare_kg: float = 0.8,
        truck_of: Callable[[str], str | None] = lambda _route: None,
        cubby_ids: Mapping[int, str] | None = None,
        timing: OperatorTiming | None = None,
        rng: random.Random | None = None,
    ):
        self.wall_id = wall_id
        self.bank = bank
        self.nodes = list(nodes)
        self.push = push
        self.serves = serves
        self.labels = labels
        self.scale = scale
        self.handoff = handoff
        self.settings = settings or PutWallSimulation()
        self.tare_kg = tare_kg
        self.truck_of = truck_of
        self.cubby_ids = dict(cubby_ids or {n: f"{wall_id}-{n:02d}" for n in self.nodes})
        self.timing = timing or OperatorTiming()
        self.rng = rng or random.Random(f"lanesort-putwall:{wall_id}")
        self.contents: dict[int, list[ParcelSpec]] = {}
        """The operator's truth: the parcels physically in each module's container."""
        self.damaged: list[ParcelSpec] = []
        self.exceptions: list[ParcelSpec] = []
        self.containers: list[Container] = []
        self.counts = dict.fromkeys(COUNTS, 0)
        self.scan_to_light_s: list[float] = []
        """Per parcel scan that lit a module: push of the code to the bank showing the light
        (the module's ``changed_at``, stamped as the bank calls its listeners)."""
        self.first_scan_at: float | None = None
        self.last_scan_at: float | None = None
        self._parcels: deque[tuple[float, ParcelSpec]] = deque()
        self._closing: dict[int, float] = {}
        self._taken: set[str] = set()
        self._busy_node: int | None = None
        self._wake = asyncio.Event()
        self._watch = _Watch(set(self.nodes))
        bank.subscribe(self._watch)
        bank.subscribe(self._on_light)
        self._task: asyncio.Task[None] | None = None
        self._handoffs: dict[str, asyncio.TimerHandle] = {}

    # ------------------------------------------------------------------ inputs

    def on_twin_event(self, event: Event) -> None:
        """Twin listener: a parcel diverted into a chute of this wall's trucks is taken."""
        if event.kind is not EventKind.LANDED or event.parcel.result is not SortResult.DIVERTED:
            return
        if self.serves(event.parcel.spec):
            self.take(event.parcel.spec)

    def take(self, spec: ParcelSpec) -> None:
        """A parcel reached the end of one of this wall's chutes."""
        self.counts["taken"] += 1
        self._parcels.append((time.monotonic(), spec))
        self._wake.set()

    def _on_light(self, module: Module) -> None:
        if module.node not in self._watch.nodes or module.colour != "orange" or not module.lit:
            return
        if module.node != self._busy_node and module.node not in self._closing:
            self._closing[module.node] = time.monotonic()
            self._wake.set()

    def idle(self) -> bool:
        """Nothing in hand, nothing in a cubby, nothing waiting to be weighed or handed off."""
        return (
            not self._parcels
            and self._busy_node is None
            and not self._closing
            and not self._handoffs
            and not any(self.contents.values())
        )

    def figures(self) -> dict[str, float | int | None]:
        """Scans, the span from the first to the last scan (s) and scans per second."""
        first, last = self.first_scan_at, self.last_scan_at
        span = last - first if first is not None and last is not None else 0.0
        scans = self.counts["scans"]
        return {
            "scans": scans,
            "span_s": round(span, 3),
            "scans_per_s": round((scans - 1) / span, 3) if span > 0 else None,
        }

    # --------------------------------------------------------------- the work

    async def start(self) -> None:
        """Start working."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"wall-operator-{self.wall_id}")

    async def stop(self) -> None:
        """Stop (mid-parcel if need be); containers not yet handed off stay here."""
        for handle in self._handoffs.values():
            handle.cancel()
        self._handoffs.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await self._take_ready_containers()
            if self._parcels:
                landed_at, spec = self._parcels.popleft()
                await self._put(spec, landed_at)
                continue
            self._wake.clear()
            timeout = self.timing.poll_s if self._closing else None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    def _scan(self, code: str) -> float:
        """Push ``code``; return the time it was pushed."""
        self.counts["scans"] += 1
        now = time.monotonic()
        if self.first_scan_at is None:
            self.first_scan_at = now
        self.last_scan_at = now
        self.push(code)
        return now

    async def _pause(self, span: tuple[float, float]) -> None:
        await asyncio.sleep(self.rng.uniform(*span))

    async def _put(self, spec: ParcelSpec, landed_at: float) -> None:
        s = self.settings
        due = landed_at + self.rng.uniform(*s.scan_delay_s)
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        walked_off = False
        for _ in range(MAX_TRIES):
            lit_at: list[float] = []
            lit = self._watch.expect(partial(_stamp_green, lit_at))
            pushed = self._scan(spec.barcode)
            module = await _within(lit, self.timing.light_timeout_s)
            if module is None:
                break
            self.scan_to_light_s.append(lit_at[0] - pushed)
            if lit_at[0] - pushed > SLOW_LIGHT_S:
                log.info(
                    "wall %s: %s lit %.1f ms after the scan",
                    self.wall_id,
                    spec.barcode,
                    (lit_at[0] - pushed) * 1000,
                )
            node = module.node
            await self._pause(s.press_delay_s)
            if not walked_off and self.rng.random() < s.no_press_rate:
                walked_off = True
                self.counts["no_presses"] += 1
                out = self._watch.expect(lambda m, n=node: m.node == n and not green_steady(m))
                await _within(out, self.timing.walk_off_s)
                continue
            if self.rng.random() < s.shortage_rate:
                if await self._press(node, "shortage"):
                    self.counts["shortages"] += 1
                    self.damaged.append(spec)
                    return
                continue
            if self.rng.random() < s.wrong_press_rate:
                await self._wrong_press(node)
            if await self._press(node, "confirm"):
                self.counts["puts"] += 1
                self.contents.setdefault(node, []).append(spec)
                return
        self.counts["exceptions"] += 1
        self.exceptions.append(spec)
        log.info("wall %s: %s to the exception cage (no put light)", self.wall_id, spec.barcode)

    async def _press(self, node: int, kind: str) -> bool:
        """Press; wait for the light to answer. False: the module is off the bus."""
        changed = self._watch.expect(lambda m: m.node == node)
        if not self.bank.press(node, kind):
            changed.cancel()
            return False
        await _within(changed, self.timing.clear_timeout_s)
        return True

    async def _wrong_press(self, right: int) -> None:
        others = [n for n in self.nodes if n != right and self.bank.modules[n].online]
        if not others:
            return
        flashing = self._watch.expect(lambda m: m.node == right and m.colour == "green" and m.flash)
        if self.bank.press(self.rng.choice(others), "confirm"):
            self.counts["wrong_presses"] += 1
            await _within(flashing, self.timing.flash_timeout_s)
            await self._pause(self.settings.press_delay_s)
        else:
            flashing.cancel()

    # --------------------------------------------------------------- containers

    async def _take_ready_containers(self) -> None:
        now = time.monotonic()
        for node, since in list(self._closing.items()):
            label = self.find_label(node)
            if label is not None:
                del self._closing[node]
                self._busy_node = node
                try:
                    await self._take_container(node, label)
                finally:
                    self._busy_node = None
            elif now - since > self.timing.label_wait_s:
                del self._closing[node]
                self.counts["labels_missing"] += 1
                log.warning("wall %s: no label for node %d's container", self.wall_id, node)

    def find_label(self, node: int) -> Label | None:
        """The newest label of ``node``'s cubby whose container was not taken yet."""
        cubby = self.cubby_ids.get(node)
        for label in reversed(list(self.labels())):
            cid = label_barcode(label)
            if not cid or cid in self._taken:
                continue
            wall = label_value(label, "WALL")
            if wall is not None and wall != self.wall_id:
                continue
            text = label_value(label, "CUBBY")
            if text is None:
                continue
            tail = re.search(r"(\d+)$", text)
            if text == cubby or (tail is not None and int(tail[1]) == node):
                return label
        return None

    async def _take_container(self, node: int, label: Label) -> None:
        cid = label_barcode(label)
        assert cid is not None
        self._taken.add(cid)
        parcels = self.contents.pop(node, [])
        weight = self.tare_kg + sum(p.weight_kg for p in parcels)
        self.counts["containers"] += 1
        t = self.timing
        if self.scale is not None:
            if parcels and self.rng.random() < self.settings.weight_mismatch_rate:
                fell = self.rng.choice(parcels)
                self.counts["mismatches"] += 1
                self.scale.set_load(weight - fell.weight_kg)
                self._scan(cid)
                await asyncio.sleep(t.weigh_hold_s + t.recheck_delay_s)
                self.counts["rechecks"] += 1
            self.scale.set_load(weight)
            self._scan(cid)
            await asyncio.sleep(t.weigh_hold_s)
            self.scale.clear()
        else:
            self._scan(cid)
        container = self._container(cid, label, parcels, weight)
        self.containers.append(container)
        handle = asyncio.get_running_loop().call_later(t.handoff_delay_s, self._hand_off, container)
        self._handoffs[cid] = handle

    def _container(
        self, cid: str, label: Label, parcels: list[ParcelSpec], weight: float
    ) -> Container:
        truck = label_value(label, "TRUCK")
        if not truck and parcels:
            truck = self.truck_of(parcels[0].route)
        stops = parse_stops(label_value(label, "STOPS")) or tuple(
            sorted({p.stop_sequence for p in parcels if p.stop_sequence is not None})
        )
        door = label_value(label, "DOOR")
        return Container(
            id=cid,
            truck=truck or "",
            stops=stops,
            door=door if door not in (None, "", "-") else None,
            wall=self.wall_id,
            cubby=label_value(label, "CUBBY") or "",
            parcels=tuple(p.barcode for p in parcels),
            weight_kg=weight,
        )

    def _hand_off(self, container: Container) -> None:
        self._handoffs.pop(container.id, None)
        self.counts["handed_off"] += 1
        if self.handoff is not None:
            self.handoff(container)

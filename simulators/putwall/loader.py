"""The loader at a dock door: scans each container into the truck, last stop first.

A :class:`DockLoader` receives the containers of the trucks at its door
(:meth:`DockLoader.receive`, from the wall operators once a container passed its check
weighing). The loader cannot know how many containers a truck will get, so a truck is
taken as complete when ``idle_s`` pass without a new container for it, or when
:meth:`DockLoader.truck_done` says so (a test, or a supervisor). Its containers are then
scanned at the door's scanner (a ``push(code)`` callable) in reverse stop order: the
container whose first stop comes last is loaded first (nearest the cab), the one for
stop 1 last (at the doors); ties by container id. ``load_delay_s`` (a range) passes
before each scan. With ``out_of_sequence_rate`` the loader slips: walking the order, each
pair of neighbours is swapped with that probability (a swapped pair is skipped over,
so swaps never chain), i.e. a container is scanned before its turn; each swap counts
one :attr:`DockLoader.out_of_sequence`. Containers arriving while a truck is being
loaded start the truck's next batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Container:
    """A closed, labelled, check-weighed container on its way to the dock."""

    id: str
    truck: str
    stops: tuple[int, ...] = ()
    door: str | None = None
    wall: str = ""
    cubby: str = ""
    parcels: tuple[str, ...] = ()
    weight_kg: float = 0.0

    @property
    def first_stop(self) -> int:
        """The earliest stop it holds parcels for (0 when unknown)."""
        return min(self.stops) if self.stops else 0


def load_order(containers: list[Container]) -> list[Container]:
    """Reverse stop order: latest first stop first, then latest last stop, then id."""
    return sorted(
        containers, key=lambda c: (-c.first_stop, -(max(c.stops) if c.stops else 0), c.id)
    )


def slip(order: list[Container], rate: float, rng: random.Random) -> tuple[list[Container], int]:
    """``order`` with neighbours swapped at ``rate`` (never chained); and the swap count."""
    out = list(order)
    swaps = 0
    i = 0
    while i < len(out) - 1:
        if rate > 0 and rng.random() < rate:
            out[i], out[i + 1] = out[i + 1], out[i]
            swaps += 1
            i += 2
        else:
            i += 1
    return out, swaps


@dataclass
class _Truck:
    containers: list[Container] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


class DockLoader:
    """The loader of one door's station."""

    def __init__(
        self,
        door: str,
        push: Callable[[str], None],
        *,
        load_delay_s: tuple[float, float] = (0.5, 2.0),
        out_of_sequence_rate: float = 0.0,
        idle_s: float | None = 30.0,
        rng: random.Random | None = None,
    ):
        self.door = door
        self.push = push
        self.load_delay_s = load_delay_s
        self.out_of_sequence_rate = out_of_sequence_rate
        self.idle_s = idle_s
        self.rng = rng or random.Random(f"lanesort-dock:{door}")
        self.received = 0
        self.loaded = 0
        self.out_of_sequence = 0
        self.scanned: list[str] = []
        """Container ids in the order they were scanned."""
        self.trucks_loaded: list[str] = []
        self.trucks_done: set[str] = set()
        """Trucks whose wall said they are complete (later containers load at once)."""
        self._trucks: dict[str, _Truck] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()

    def receive(self, container: Container) -> None:
        """A container for one of this door's trucks arrived at the dock."""
        self.received += 1
        truck = self._trucks.setdefault(container.truck, _Truck())
        truck.containers.append(container)
        if container.truck in self.trucks_done:
            self.truck_done(container.truck)  # a straggler: load it now
            return
        if truck.timer is not None:
            truck.timer.cancel()
        if self.idle_s is not None:
            loop = asyncio.get_running_loop()
            truck.timer = loop.call_later(self.idle_s, self.truck_done, container.truck)

    def truck_done(self, truck_id: str) -> None:
        """Every container of ``truck_id`` is here: load them (in the background)."""
        self.trucks_done.add(truck_id)
        truck = self._trucks.pop(truck_id, None)
        if truck is None or not truck.containers:
            return
        if truck.timer is not None:
            truck.timer.cancel()
        task = asyncio.get_running_loop().create_task(
            self._load(truck_id, truck.containers), name=f"dock-{self.door}-{truck_id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _load(self, truck_id: str, containers: list[Container]) -> None:
        async with self._lock:  # one loader: one truck at a time
            order, swaps = slip(load_order(containers), self.out_of_sequence_rate, self.rng)
            self.out_of_sequence += swaps
            for container in order:
                await asyncio.sleep(self.rng.uniform(*self.load_delay_s))
                self.push(container.id)
                self.scanned.append(container.id)
                self.loaded += 1
            self.trucks_loaded.append(truck_id)
            log.info("door %s: truck %s loaded (%d containers)", self.door, truck_id, len(order))

    async def idle(self) -> None:
        """Wait until every started load is scanned (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        """Stop: forget waiting trucks, cancel loads in progress."""
        for truck in self._trucks.values():
            if truck.timer is not None:
                truck.timer.cancel()
        self._trucks.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

"""A simulated put-wall operator: watches a :class:`LightBank` and presses its buttons.

One operator works one light at a time, in the order the lights came on. When a
module turns on in the pending colour, steady, the operator draws (at once, from the
seeded ``rng``, so the run is the same for the same seed and the same order of lights)
what to do and how long it takes:

* ``confirm`` (the rest of the time): press confirm on it after ``delay_s``;
* ``wrong`` (``wrong_press_rate``): press confirm on another module on the bus, then
  wait until the right one starts flashing (the controller's "not that one, this
  one"), and press it after a second delay;
* ``no_press`` (``no_press_rate``): walk away;
* ``shortage`` (``shortage_rate``): press shortage on it after ``delay_s``.

A light that is no longer on in the pending colour (steady) when its turn comes is
skipped (the controller took it back). A new show on a module whose press is still
queued does not queue a second press: the queued one presses whatever the module shows
by then. :attr:`PressingOperator.counts` says what was done.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass

from simulators.ptl.bank import LightBank, Module

ACTIONS = ("confirm", "wrong", "no_press", "shortage", "skipped", "missed")


@dataclass(frozen=True)
class _Plan:
    node: int
    action: str
    delay_s: float
    wrong_node: int | None = None
    second_delay_s: float = 0.0


class PressingOperator:
    """Presses what the bank lights; start with :meth:`start`, end with :meth:`stop`."""

    def __init__(
        self,
        bank: LightBank,
        rng: random.Random,
        *,
        delay_s: tuple[float, float] = (0.3, 1.0),
        wrong_press_rate: float = 0.0,
        no_press_rate: float = 0.0,
        shortage_rate: float = 0.0,
        pending_colour: str = "green",
        flash_wait_s: float = 30.0,
    ):
        if wrong_press_rate + no_press_rate + shortage_rate > 1.0:
            raise ValueError("wrong_press_rate + no_press_rate + shortage_rate is more than 1")
        self.bank = bank
        self.rng = rng
        self.delay_s = delay_s
        self.wrong_press_rate = wrong_press_rate
        self.no_press_rate = no_press_rate
        self.shortage_rate = shortage_rate
        self.pending_colour = pending_colour
        self.flash_wait_s = flash_wait_s
        """How long a wrong-pressing operator waits for the right module to flash."""
        self.counts: dict[str, int] = dict.fromkeys(ACTIONS, 0)
        """``missed``: the wrong press's right module never flashed in ``flash_wait_s``."""
        self._plans: asyncio.Queue[_Plan] = asyncio.Queue()
        self._queued: set[int] = set()
        self._flashing: dict[int, asyncio.Event] = {n: asyncio.Event() for n in bank.modules}
        self._task: asyncio.Task[None] | None = None
        bank.subscribe(self._changed)

    def start(self) -> None:
        """Start working (a task on the running loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._work(), name="ptl-operator")

    async def stop(self) -> None:
        """Stop working; queued presses are not made."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def idle(self) -> bool:
        """True when nothing is queued."""
        return not self._queued

    def _pending(self, module: Module) -> bool:
        return module.lit and module.colour == self.pending_colour and not module.flash

    def _changed(self, module: Module) -> None:
        event = self._flashing[module.node]
        if module.lit and module.flash:
            event.set()
        else:
            event.clear()
        if self._task is None or not self._pending(module) or module.node in self._queued:
            return
        self._queued.add(module.node)
        self._plans.put_nowait(self._draw(module.node))

    def _draw(self, node: int) -> _Plan:
        roll = self.rng.random()
        delay = self.rng.uniform(*self.delay_s)
        if roll < self.wrong_press_rate:
            others = sorted(n for n, m in self.bank.modules.items() if n != node and m.online)
            if others:
                wrong = self.rng.choice(others)
                return _Plan(node, "wrong", delay, wrong, self.rng.uniform(*self.delay_s))
            return _Plan(node, "confirm", delay)
        roll -= self.wrong_press_rate
        if roll < self.no_press_rate:
            return _Plan(node, "no_press", 0.0)
        if roll - self.no_press_rate < self.shortage_rate:
            return _Plan(node, "shortage", delay)
        return _Plan(node, "confirm", delay)

    async def _work(self) -> None:
        while True:
            plan = await self._plans.get()
            try:
                await self._carry_out(plan)
            finally:
                self._queued.discard(plan.node)

    async def _carry_out(self, plan: _Plan) -> None:
        if plan.action == "no_press":
            self.counts["no_press"] += 1
            return
        await asyncio.sleep(plan.delay_s)
        if not self._pending(self.bank.modules[plan.node]):
            self.counts["skipped"] += 1
            return
        if plan.action == "wrong" and plan.wrong_node is not None:
            self._flashing[plan.node].clear()
            self.bank.press(plan.wrong_node, "confirm")
            self.counts["wrong"] += 1
            try:
                async with asyncio.timeout(self.flash_wait_s):
                    await self._flashing[plan.node].wait()
            except TimeoutError:
                self.counts["missed"] += 1
                return
            await asyncio.sleep(plan.second_delay_s)
            if self.bank.press(plan.node, "confirm"):
                self.counts["confirm"] += 1
            return
        kind = "shortage" if plan.action == "shortage" else "confirm"
        if self.bank.press(plan.node, kind):
            self.counts[kind] += 1

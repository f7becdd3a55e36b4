"""The sort-plan optimiser: routes onto chutes, each truck on one block near its door.

:func:`optimise` makes a fresh plan for a wave or shift, or repairs ``current_plan``
(chutes failed or disabled, volumes shifted), and never hangs or returns nothing: the
rules, in their order of importance —

1. no chute over capacity and no chute shared by two trucks (hard);
2. every route has a chute (hard);
3. each truck's chutes form one block of adjacent chutes (hard);
4. the busiest chute as close to the mean as possible;
5. each route on as few chutes as its volume needs;
6. each truck's block as near its door as possible;
7. as few routes moved from the current plan as possible (a repair).

How (measured in ``benchmarks/sortplan.py``): block sizes by highest-averages
apportionment, which also gives the proven lower bound on the busiest chute
(:mod:`~controller.sortplan.blocks`); blocks laid out in door order; routes placed in
each block largest first on the fewest least-loaded chutes within the bound
(:mod:`~controller.sortplan.fill`); a block left over the bound is solved exactly with
CP-SAT within the time left. A naive route × chute assignment model for all trucks at
once finds nothing in 10 s at 1,000 routes; the blocks cut it into small independent
problems. A repair keeps every block and every route it can
(:mod:`~controller.sortplan.repair`).

CPU-bound and pure: callers on an event loop run it in a worker process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from controller.errors import PlanningError
from controller.sortplan.blocks import Blocks, fresh_blocks, relaxed_blocks
from controller.sortplan.figures import FALLBACK, FEASIBLE, OPTIMAL, Figures, figures
from controller.sortplan.fill import (
    EPS,
    Assignment,
    block_peak,
    compact,
    exact_fill,
    greedy_fill,
    over_capacity,
)
from controller.sortplan.instance import Instance
from controller.sortplan.repair import repair

BLOCK_TIME_S = 0.5
"""At most this long for CP-SAT on one block (the time limit shared by the blocks left)."""


@dataclass(frozen=True)
class PlanResult:
    """A plan (route -> chutes, in position order) and what it achieves."""

    plan: dict[str, list[int]]
    figures: Figures

    def as_dict(self) -> dict[str, Any]:
        """``{"plan": {...}, "figures": {...}}``, as ``lanesort plan`` writes it."""
        return {"plan": self.plan, "figures": self.figures.as_dict()}


def optimise(instance: Instance) -> PlanResult:
    """The best plan found within ``instance.time_limit_s`` (PlanningError when none exists)."""
    started = time.perf_counter()
    deadline = started + instance.time_limit_s
    fresh = fresh_blocks(instance)  # the proven bound, and the plan when there is nothing to repair
    bound = fresh.lower_bound
    plan: Assignment | None = None
    if instance.current_plan is not None:
        plan = repair(instance, bound)
        if plan is not None:
            status = OPTIMAL if _peak(instance, plan) <= bound + EPS else FEASIBLE
    if plan is None:
        plan, cut = _fill_blocks(instance, fresh, deadline)
        status = FALLBACK if cut else OPTIMAL if _peak(instance, plan) <= bound + EPS else FEASIBLE
    order = {c.id: i for i, c in enumerate(instance.enabled)}
    result = {r: sorted(chutes, key=order.__getitem__) for r, chutes in sorted(plan.items())}
    took = time.perf_counter() - started
    return PlanResult(result, figures(instance, result, bound, took, status))


def _peak(instance: Instance, plan: Assignment) -> float:
    return block_peak(plan, instance.routes)


def _fill_blocks(instance: Instance, fresh: Blocks, deadline: float) -> tuple[Assignment, bool]:
    """Greedy in every block, then CP-SAT in the blocks the greedy left over the bound;
    True when the time limit cut that short. Blocks that the greedy leaves over capacity
    are re-sized first to the lowest target their routes pack within
    (:func:`~controller.sortplan.blocks.relaxed_blocks`), when there is one."""
    routes_of = instance.routes_of()
    bound = fresh.lower_bound
    blocks = fresh.chutes
    fills = {
        t: compact(greedy_fill(routes_of[t], c, bound), routes_of[t], c) for t, c in blocks.items()
    }
    if not fresh.packed and any(
        over_capacity(fills[t], routes_of[t], c) for t, c in blocks.items()
    ):
        relaxed = relaxed_blocks(instance, bound)
        if relaxed is not None:
            plan: Assignment = {}
            for truck, chutes in relaxed.chutes.items():
                fill = greedy_fill(routes_of[truck], chutes, relaxed.target)
                plan.update(compact(fill, routes_of[truck], chutes))
            return plan, False
    plan = {}
    hard: list[tuple[int, float, str]] = []
    for truck, chutes in blocks.items():
        fill = fills[truck]
        plan.update(fill)
        over = over_capacity(fill, routes_of[truck], chutes)
        peak = block_peak(fill, routes_of[truck])
        if over or peak > bound + EPS:
            hard.append((-over, -peak, truck))
    hard.sort()  # blocks over capacity first, then the busiest: the plan's busiest chute
    for n, (_, _, truck) in enumerate(hard):
        left = deadline - time.perf_counter()
        if left <= 0.005:
            return plan, True
        routes = routes_of[truck]
        start = {r.id: plan[r.id] for r in routes}
        share = min(left / (len(hard) - n), BLOCK_TIME_S)
        found, proved = exact_fill(routes, blocks[truck], start, share, floor=bound)
        if proved == "infeasible":
            raise PlanningError(
                {
                    "plan": f"truck {truck}'s routes fit its {len(blocks[truck])} chutes only "
                    "with a chute over capacity (a route allowed too few chutes, or chutes "
                    "too small)"
                }
            )
        plan.update(compact(found, routes, blocks[truck]))
    return plan, False

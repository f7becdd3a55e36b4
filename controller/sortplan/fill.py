"""Routes onto the chutes of one truck's block: balanced, each on as few chutes as it needs.

A route on ``k`` chutes puts ``volume / k`` parcels on each. :func:`greedy_fill` takes
the routes largest first and gives each the fewest of the least-loaded chutes that keep
every chute under the target (the plan's lower bound on the busiest chute) and its
capacity. :func:`exact_fill` solves the block with CP-SAT (OR-Tools) when the greedy
plan leaves its busiest chute over the target: minimise the busiest chute, then the
chutes per route, starting from the greedy plan and never returning a worse one.
Pure (CP-SAT is a library call in this process).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from controller.sortplan.instance import Chute, Route

EPS = 1e-9
SCALE = 1000
"""CP-SAT works in integers: loads in thousandths of a parcel."""

SPREAD_TIME_S = 0.05
"""At most this long per block for the fewest chutes per route, once the balance is found."""

Assignment = dict[str, tuple[int, ...]]


def loads_of(
    assignment: Mapping[str, Sequence[int]], volume: Mapping[str, int]
) -> dict[int, float]:
    """Parcels per chute: each route's volume split evenly over its chutes."""
    loads: dict[int, float] = {}
    for route, chutes in assignment.items():
        for chute in chutes:
            loads[chute] = loads.get(chute, 0.0) + volume[route] / len(chutes)
    return loads


def place(
    route: Route,
    chutes: Sequence[Chute],
    loads: dict[int, float],
    target: float,
) -> tuple[int, ...]:
    """The chutes for ``route``: the fewest that stay within ``target`` and their
    capacity, taking the fullest such chutes (best fit: emptier chutes stay free for
    the routes still to come); else the count on the least-loaded chutes that keeps the
    busiest lowest. Updates ``loads``."""
    most = min(len(chutes), route.max_chutes or len(chutes))
    by_load = sorted(chutes, key=lambda c: (loads.get(c.id, 0.0), c.position_mm, c.id))
    chosen: Sequence[Chute] = ()
    for k in range(1, most + 1):
        share = route.volume / k
        fits = [c for c in by_load if loads.get(c.id, 0.0) + share <= min(target, c.capacity) + EPS]
        if len(fits) >= k:
            chosen = fits[-k:]
            break
    if not chosen:
        best: tuple[bool, float] | None = None
        for k in range(1, most + 1):
            share = route.volume / k
            picked = by_load[:k]
            score = (
                any(loads.get(c.id, 0.0) + share > c.capacity + EPS for c in picked),
                max(loads.get(c.id, 0.0) + share for c in picked),
            )
            if best is None or score < best:
                best, chosen = score, picked
    for c in chosen:
        loads[c.id] = loads.get(c.id, 0.0) + route.volume / len(chosen)
    return tuple(sorted(c.id for c in chosen))


def greedy_fill(
    routes: Sequence[Route],
    chutes: Sequence[Chute],
    target: float,
    fixed: Assignment | None = None,
) -> Assignment:
    """Routes onto the block, the least flexible first (the fewest chutes allowed for their
    volume: rigid small routes pack before large ones pour over what is left), then the
    largest; ``fixed`` routes stay where they are."""
    volume = {r.id: r.volume for r in routes}
    assignment: Assignment = dict(fixed or {})
    loads = loads_of(assignment, volume)
    n = len(chutes)

    def flexibility(r: Route) -> tuple[float, int, str]:
        spread = min(n, r.max_chutes or n) * target
        return (spread / r.volume if r.volume else float("inf"), -r.volume, r.id)

    for route in sorted(routes, key=flexibility):
        if route.id not in assignment:
            assignment[route.id] = place(route, chutes, loads, target)
    return assignment


def has_holes(assignment: Mapping[str, Sequence[int]], chutes: Sequence[Chute]) -> bool:
    """True when an unused chute of the block lies between chutes the assignment uses."""
    ordered = sorted(chutes, key=lambda c: (c.position_mm, c.id))
    used = {c for ids in assignment.values() for c in ids}
    spots = [i for i, c in enumerate(ordered) if c.id in used]
    return bool(spots) and spots[-1] - spots[0] + 1 != len(spots)


def compact(assignment: Assignment, routes: Sequence[Route], chutes: Sequence[Chute]) -> Assignment:
    """The same plan on adjacent chutes: the chutes it uses, moved (with their routes) onto
    a run of adjacent chutes of the block that holds their loads, the unused ones left
    free at its ends (a truck's chutes must be adjacent); else ``assignment`` unchanged."""
    ordered = sorted(chutes, key=lambda c: (c.position_mm, c.id))
    used = {c for ids in assignment.values() for c in ids}
    spots = [i for i, c in enumerate(ordered) if c.id in used]
    if not spots or spots[-1] - spots[0] + 1 == len(spots):
        return assignment
    loads = loads_of(assignment, {r.id: r.volume for r in routes})
    heaviest = sorted(used, key=lambda c: -loads.get(c, 0.0))
    for first in range(len(ordered) - len(used) + 1):
        window = sorted(ordered[first : first + len(used)], key=lambda c: -c.capacity)
        pairs = list(zip(heaviest, window, strict=True))
        if all(loads.get(u, 0.0) <= w.capacity + EPS for u, w in pairs):
            moved = {u: w.id for u, w in pairs}
            return {r: tuple(sorted(moved[c] for c in ids)) for r, ids in assignment.items()}
    return assignment


def block_peak(assignment: Mapping[str, Sequence[int]], routes: Sequence[Route]) -> float:
    """The busiest chute of a block."""
    return max(loads_of(assignment, {r.id: r.volume for r in routes}).values(), default=0.0)


def overfull_chutes(
    assignment: Mapping[str, Sequence[int]], routes: Sequence[Route], chutes: Sequence[Chute]
) -> list[int]:
    """The chutes (ids, in ``chutes``' order) the assignment loads over their capacity."""
    loads = loads_of(assignment, {r.id: r.volume for r in routes})
    return [c.id for c in chutes if loads.get(c.id, 0.0) > c.capacity + EPS]


def over_capacity(
    assignment: Mapping[str, Sequence[int]], routes: Sequence[Route], chutes: Sequence[Chute]
) -> int:
    """How many of ``chutes`` the assignment loads over their capacity."""
    return len(overfull_chutes(assignment, routes, chutes))


def _worse(a: Assignment, b: Assignment, routes: Sequence[Route], chutes: Sequence[Chute]) -> bool:
    """``a`` breaks more capacities than ``b``, or as many with a busier chute."""
    return (over_capacity(a, routes, chutes), block_peak(a, routes)) > (
        over_capacity(b, routes, chutes),
        block_peak(b, routes) + EPS,
    )


def exact_fill(
    routes: Sequence[Route],
    chutes: Sequence[Chute],
    start: Assignment,
    time_limit_s: float,
    floor: float = 0.0,
) -> tuple[Assignment, str]:
    """CP-SAT on one block: every chute within capacity, the busiest chute lowest (but no
    lower than ``floor``, the plan's lower bound: below it gains nothing), then the fewest
    chutes per route, each in its own solve (the second at most :data:`SPREAD_TIME_S`:
    balance comes first, and proving the fewest chutes can take long).

    Returns the better of the solver's plan and ``start``, and what the solver proved:
    ``optimal``, ``feasible`` (time ran out), ``infeasible`` (no assignment keeps every
    chute within capacity) or ``unknown`` (time ran out before any plan).
    """
    from ortools.sat.python import cp_model  # a compute library: loaded when first needed

    model = cp_model.CpModel()
    n = len(chutes)
    options = {r.id: range(1, min(n, r.max_chutes or n) + 1) for r in routes}
    x = {(r.id, c.id): model.new_bool_var(f"x_{r.id}_{c.id}") for r in routes for c in chutes}
    y = {(r.id, k): model.new_bool_var(f"y_{r.id}_{k}") for r in routes for k in options[r.id]}
    top = max(c.capacity for c in chutes) * SCALE
    peak = model.new_int_var(min(int(floor * SCALE), top), top, "peak")
    for r in routes:
        model.add_exactly_one(y[r.id, k] for k in options[r.id])
        model.add(sum(x[r.id, c.id] for c in chutes) == sum(k * y[r.id, k] for k in options[r.id]))
    loads = []
    for c in chutes:
        terms = []
        for r in routes:
            for k in options[r.id]:
                z = model.new_bool_var(f"z_{r.id}_{k}_{c.id}")
                model.add_bool_or([x[r.id, c.id].Not(), y[r.id, k].Not(), z])
                model.add_implication(z, x[r.id, c.id])
                model.add_implication(z, y[r.id, k])
                terms.append(round(r.volume * SCALE / k) * z)
        load = model.new_int_var(0, c.capacity * SCALE, f"load_{c.id}")
        model.add(load == sum(terms))
        model.add(load <= peak)
        loads.append((c, load))
    ordered = sorted(chutes, key=lambda c: (c.position_mm, c.id))
    used = {c.id: model.new_bool_var(f"used_{c.id}") for c in chutes}
    starts = []
    for i, c in enumerate(ordered):  # the used chutes are one run: it starts once
        model.add_max_equality(used[c.id], [x[r.id, c.id] for r in routes])
        begins = model.new_bool_var(f"begins_{c.id}")
        before = used[ordered[i - 1].id] if i else 0
        model.add(begins >= used[c.id] - before)
        starts.append(begins)
    model.add(sum(starts) <= 1)
    spread = sum(k * y[r.id, k] for r in routes for k in options[r.id])

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 2
    best = start
    proved = "unknown"
    for stage in ("peak", "spread"):
        model.clear_hints()
        for r in routes:
            mine = set(best.get(r.id, ()))
            for c in chutes:
                model.add_hint(x[r.id, c.id], c.id in mine)
            for k in options[r.id]:
                model.add_hint(y[r.id, k], k == len(mine))
        model.minimize(peak if stage == "peak" else spread)
        share = time_limit_s * 0.7 if stage == "peak" else min(time_limit_s * 0.3, SPREAD_TIME_S)
        solver.parameters.max_time_in_seconds = max(0.01, share)
        status = solver.solve(model)
        if status == cp_model.INFEASIBLE:
            return start, "infeasible"
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            break
        found: Assignment = {
            r.id: tuple(sorted(c.id for c in chutes if solver.value(x[r.id, c.id]))) for r in routes
        }
        if not _worse(found, best, routes, chutes):
            best = found
        proved = "optimal" if status == cp_model.OPTIMAL else "feasible"
        if stage == "peak":
            model.add(peak <= solver.value(peak))
    return best, proved

"""A sort plan's rules, pure: validation, patches, diffs and the plan's hash.

The active plan (:class:`~controller.parcels.decision.SortPlan`, route -> chutes) is
changed only through :mod:`controller.sortplan.history`, which validates every change
as a whole here (:func:`validate_plan`) before it becomes active. No I/O.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence

_ROUTE = re.compile(r"^[^\x00-\x1f\x7f]{1,64}$")


def validate_plan(
    plan: Mapping[str, Sequence[int]],
    chute_ids: Iterable[int],
    reject_chute: int,
    required_routes: Mapping[str, str] | None = None,
    trucks: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every problem of ``plan`` as field path -> why; empty when the plan is valid.

    ``required_routes`` maps a route that must stay in the plan to who needs it
    (a label route rule, say). ``trucks`` maps a route to its truck (the TMS's route
    plan): a chute may carry several routes of one truck (the put wall splits them by
    stop), never two trucks' routes, and a route the route plan does not know has its
    chutes to itself.
    """
    known = set(chute_ids)
    truck_of = trucks or {}
    problems: dict[str, str] = {}
    if not plan:
        problems["routes"] = "a sort plan needs at least one route"
    owner: dict[int, str] = {}
    for route, chutes in plan.items():
        field = f"routes.{route}"
        if not _ROUTE.match(route) or not route.strip():
            problems[field] = "route names are 1-64 characters without control characters"
            continue
        if not chutes:
            problems[field] = "expected at least one chute"
            continue
        for i, chute in enumerate(chutes):
            where = f"{field}.{i}"
            if chute == reject_chute:
                problems[where] = f"chute {chute} is the reject chute; it cannot carry a route"
            elif chute not in known:
                problems[where] = f"chute {chute} is not a sort chute of this line"
            elif chute in chutes[:i]:
                problems[where] = f"chute {chute} is listed twice"
            elif chute in owner and (why := _sharing(route, owner[chute], truck_of)):
                problems[where] = f"chute {chute} is already bound to route {owner[chute]}{why}"
            else:
                owner.setdefault(chute, route)
    for route, needed_by in (required_routes or {}).items():
        if route not in plan:
            problems[f"routes.{route}"] = f"route {route} is needed by {needed_by}"
    return problems


def _sharing(route: str, other: str, truck_of: Mapping[str, str]) -> str:
    """Why ``route`` may not share a chute with ``other``; empty when it may."""
    mine, theirs = truck_of.get(route), truck_of.get(other)
    if mine is None or theirs is None:
        unknown = route if mine is None else other
        return (
            " (routes share a chute only when the route plan puts them on one truck;"
            f" {unknown} is not in it)"
        )
    if mine != theirs:
        return f" of truck {theirs}; a chute never mixes trucks ({route} is on {mine})"
    return ""


def chutes_mixing_trucks(
    plan: Mapping[str, Sequence[int]], trucks: Mapping[str, str]
) -> dict[int, list[str]]:
    """Chute -> its routes, for every chute whose routes are not all of one known truck."""
    routes_of: dict[int, list[str]] = {}
    for route, chutes in plan.items():
        for chute in chutes:
            routes_of.setdefault(chute, []).append(route)
    return {
        chute: routes
        for chute, routes in routes_of.items()
        if len(routes) > 1
        and (len({trucks.get(r) for r in routes}) > 1 or None in {trucks.get(r) for r in routes})
    }


def apply_patch(
    current: Mapping[str, Sequence[int]], changes: Mapping[str, Sequence[int] | None]
) -> dict[str, list[int]]:
    """``current`` with each route in ``changes`` set to its chutes, or removed when None."""
    plan = {route: list(chutes) for route, chutes in current.items()}
    for route, chutes in changes.items():
        if chutes is None:
            plan.pop(route, None)
        else:
            plan[route] = list(chutes)
    return plan


def diff_plans(
    before: Mapping[str, Sequence[int]], after: Mapping[str, Sequence[int]]
) -> dict[str, dict[str, list[int] | None]]:
    """Route -> {"before", "after"} for every route whose chutes changed."""
    changes: dict[str, dict[str, list[int] | None]] = {}
    for route in sorted(set(before) | set(after)):
        old, new = before.get(route), after.get(route)
        if (list(old) if old is not None else None) != (list(new) if new is not None else None):
            changes[route] = {
                "before": list(old) if old is not None else None,
                "after": list(new) if new is not None else None,
            }
    return changes


def plan_hash(plan: Mapping[str, Sequence[int]]) -> str:
    """A stable hash of a plan (to notice that the config's plan changed)."""
    text = json.dumps({k: list(v) for k, v in sorted(plan.items())}, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]

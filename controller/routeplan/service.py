"""The active route plan: replaced as a whole by the TMS, versioned, restored after a restart.

:meth:`RoutePlanService.replace` checks a new plan as a whole
(:func:`~controller.routeplan.model.parse_route_plan`), then asks the ``constraint`` (the
sort plan's owner: would this plan make a chute carry two trucks' routes?) for more
problems; any problem refuses the plan and nothing changes. An accepted plan gets the
next version number, is stored with who sent it and why, becomes :attr:`active` and is
handed to every listener.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

from controller.errors import RoutePlanError
from controller.routeplan.model import RoutePlan, parse_route_plan
from controller.routeplan.store import RoutePlanStore, RoutePlanVersion

log = logging.getLogger(__name__)

Constraint = Callable[[RoutePlan], dict[str, str]]
"""More problems of a candidate plan (field path -> why), from outside the route plan."""
Listener = Callable[[RoutePlan], None]
"""Called with the new active plan after each accepted replace (and a restore)."""


class RoutePlanService:
    """The active :class:`RoutePlan`, its validation and its versions."""

    def __init__(
        self,
        store: RoutePlanStore,
        door_ids: Collection[str],
        constraint: Constraint | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.door_ids = frozenset(door_ids)
        self.constraint = constraint
        self.clock = clock
        self.active = RoutePlan.empty()
        self._listeners: list[Listener] = []
        self._lock = asyncio.Lock()

    def add_listener(self, callback: Listener) -> None:
        """Call ``callback(plan)`` after each accepted replace and after a restore."""
        self._listeners.append(callback)

    async def load(self) -> str:
        """Make the newest stored version active again; says what happened.

        A stored plan that names a dock door the line config no longer has is not
        restored: the plan stays empty until the TMS sends a new one.
        """
        latest = await asyncio.to_thread(self.store.latest)
        if latest is None:
            return "no route plan yet; the TMS sends one with PUT /api/v1/route-plan"
        gone = sorted({t.door for t in latest.trucks} - self.door_ids)
        if gone:
            message = (
                f"route plan version {latest.version} not restored: its doors {', '.join(gone)}"
                " are not in the line config's topology.doors; waiting for a new plan"
            )
            log.warning("%s", message)
            return message
        self.active = latest
        self._tell(latest)
        return (
            f"route plan version {latest.version} (by {latest.actor}) restored: "
            f"{len(latest.trucks)} trucks, {len(latest.routes)} routes"
        )

    async def replace(
        self,
        body: Mapping[str, Any],
        actor: str,
        role: str | None,
        reason: str | None = None,
        expected_version: int | None = None,
    ) -> RoutePlan:
        """Check ``body`` (the TMS's JSON) as a whole, store it, make it active.

        Raises :class:`RoutePlanError` with every problem (``expected_version`` alone when
        the active plan is not that version); then nothing is stored or changed.
        """
        async with self._lock:
            current = self.active.version
            if expected_version is not None and expected_version != current:
                raise RoutePlanError(
                    {
                        "expected_version": f"the route plan is at version {current}, not "
                        f"{expected_version}; read it again and send your plan again"
                    }
                )
            trucks, routes = parse_route_plan(body, self.door_ids)
            # A stored plan that was not restored (its door is gone) keeps its number.
            number = max(current, await asyncio.to_thread(self.store.last_version)) + 1
            plan = RoutePlan(number, trucks, routes, self.clock(), actor, reason)
            if self.constraint is not None and (problems := self.constraint(plan)):
                raise RoutePlanError(problems)
            await asyncio.to_thread(self.store.add, plan, role)
            self.active = plan
            log.warning(
                "route plan version %d by %s (%s): %d trucks, %d routes, %d stops",
                plan.version,
                actor,
                reason or "no reason given",
                len(trucks),
                len(routes),
                plan.stop_count(),
            )
            self._tell(plan)
            return plan

    async def history(self, limit: int = 50, before: int | None = None) -> list[RoutePlanVersion]:
        """Versions newest first (without their plans)."""
        return await asyncio.to_thread(self.store.history, limit, before)

    def _tell(self, plan: RoutePlan) -> None:
        for listener in self._listeners:
            try:
                listener(plan)
            except Exception:
                # The plan is stored and active; a listener's bug must not undo that.
                log.exception("a route plan listener failed on version %d", plan.version)

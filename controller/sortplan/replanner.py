"""Live re-planning: the line proposes a sort plan, a supervisor (or the policy) applies it.

The :class:`Replanner` runs beside the line. It makes a **fresh** plan when the TMS
sends a new route plan, and a **repair** of the plan in force when a trigger fires
(:mod:`~controller.sortplan.triggers`: a chute taken out, full too long, volumes
shifted). The optimiser runs in the planning worker process
(:mod:`~controller.sortplan.worker`), never on the event loop. The result is a
:class:`Proposal`: the whole new sort plan, the routes it moves, the optimiser's
figures. With ``replanning.policy: manual`` it waits for a supervisor (HMI planning
page or ``POST /api/v1/sort-plan/proposal/{id}/apply``); with ``auto`` it is applied at
once. Applying is a sort-plan change like any other (validated as a whole, a new
version with who and why, :mod:`~controller.sortplan.history`); a proposal made for
an older version of the plan is refused as stale. A plan the optimiser cannot make
raises the alarm ``replan`` with the optimiser's cause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from controller.alarms import AlarmBoard
from controller.errors import PlanningError, SortPlanError
from controller.sortplan.history import PlanVersion, SortPlanService
from controller.sortplan.line_instance import line_instance, line_plan
from controller.sortplan.plan import diff_plans
from controller.sortplan.triggers import ReplanTriggers
from controller.sortplan.worker import PlanningWorker
from plc_configs.replanning import ReplanningSection

log = logging.getLogger(__name__)

ALARM = "replan"
ACTOR = "replanner"

PENDING, APPLIED, DISCARDED, SUPERSEDED = "pending", "applied", "discarded", "superseded"
UNCHANGED = "unchanged"
"""A repair that moves no route: nothing to apply, the plan in force now stands for the
new volumes (so the same cause is not proposed again)."""


@dataclass(frozen=True)
class LineState:
    """What the replanner reads of the line now (given by the line, see ``state=``)."""

    chutes: tuple[tuple[int, float], ...]
    """Sort chutes: (id, position_mm)."""
    doors: tuple[tuple[str, float], ...]
    """Dock doors: (id, position_mm)."""
    trucks: dict[str, str]
    """The route plan's trucks: truck -> door."""
    routes: dict[str, str]
    """The route plan's routes: route -> truck."""
    route_plan_version: int
    out: frozenset[int]
    """Chutes out of service: taken out by a supervisor, or disabled by the PLC."""
    full: frozenset[int]
    arrived: dict[str, int]
    """Parcels answered per route this session."""


@dataclass(frozen=True)
class Proposal:
    """A proposed sort plan, what it changes and what it achieves."""

    id: int
    created: float
    """Wall-clock time (epoch s)."""
    trigger: str
    mode: str
    """``fresh`` (a new route plan) or ``repair`` (of the plan in force)."""
    base_version: int
    """The sort-plan version it was made from: applying it later is refused."""
    route_plan_version: int
    plan: dict[str, list[int]]
    moves: dict[str, dict[str, list[int] | None]]
    figures: dict[str, Any]
    volumes: dict[str, int] = field(repr=False)
    state: str = PENDING
    decided_by: str | None = None
    decided_at: float | None = None
    version: int | None = None
    """The sort-plan version it became, once applied."""

    def as_dict(self) -> dict[str, Any]:
        """The proposal for the API and the HMI (without the volumes)."""
        return {
            "id": self.id,
            "created": self.created,
            "trigger": self.trigger,
            "mode": self.mode,
            "base_version": self.base_version,
            "route_plan_version": self.route_plan_version,
            "state": self.state,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at,
            "version": self.version,
            "plan": self.plan,
            "moves": self.moves,
            "figures": self.figures,
        }


class Replanner:
    """Proposes, applies and discards sort plans for the running line."""

    def __init__(
        self,
        settings: ReplanningSection,
        service: SortPlanService,
        state: Callable[[], LineState],
        volumes: Callable[[], Awaitable[Mapping[str, int]]],
        alarms: AlarmBoard,
        worker: PlanningWorker | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.settings = settings
        self.service = service
        self.state = state
        self.volumes = volumes
        self.alarms = alarms
        self.worker = worker or PlanningWorker()
        self.clock = clock
        self.proposal: Proposal | None = None
        """The newest proposal (pending, or what became of it)."""
        self.error: str | None = None
        """Why the last attempt to plan failed (None after a success)."""
        self.triggers = ReplanTriggers(
            settings.full_after_s, settings.volume_departure, settings.volume_min_parcels
        )
        self.planned_route_plan = 0
        """The route-plan version the plan in force was made for (0: none)."""
        self._lock = asyncio.Lock()
        self._route_plan_changed = asyncio.Event()
        self._next_id = 1

    # -- proposals ---------------------------------------------------------------------

    async def propose(
        self,
        trigger: str,
        volumes: Mapping[str, int] | None = None,
        fresh: bool | None = None,
    ) -> Proposal:
        """Plan now (fresh when the route plan changed since the plan in force, else a
        repair) and keep the result as the pending proposal; auto policy applies it.
        Chutes out of service or full now are planned without: a full chute takes
        nothing until it is emptied.
        Raises PlanningError (and raises the ``replan`` alarm) when no plan is found."""
        async with self._lock:
            line = self.state()
            if not line.routes:
                raise PlanningError(
                    {"route_plan": "no route plan yet: the TMS sends trucks and routes first"}
                )
            if fresh is None:
                fresh = line.route_plan_version != self.planned_route_plan
            wanted = dict(volumes) if volumes is not None else dict(await self.volumes())
            current = self.service.plan.as_dict()
            needed = self.service.required_routes
            try:
                instance = line_instance(
                    line.chutes,
                    line.doors,
                    line.trucks,
                    line.routes,
                    wanted,
                    current,
                    line.out | line.full,
                    needed,
                    self.settings.chute_capacity,
                    self.settings.time_limit_s,
                    repair=not fresh,
                )
                result = await self.worker.plan(instance)
            except PlanningError as err:
                self.error = f"{trigger}: no plan: {err}"
                self.alarms.raise_(ALARM, f"Re-planning failed: {err}", self.clock())
                log.warning("%s", self.error)
                raise
            self.error = None
            self.alarms.clear(ALARM, self.clock())
            plan = line_plan(result.plan, current, needed)
            if self.proposal is not None and self.proposal.state == PENDING:
                self.proposal = replace(self.proposal, state=SUPERSEDED)
            moves = diff_plans(current, plan)
            proposal = Proposal(
                self._next_id,
                time.time(),
                trigger,
                "fresh" if fresh else "repair",
                self.service.plan.version,
                line.route_plan_version,
                plan,
                moves,
                result.figures.as_dict(),
                {r: wanted.get(r, 0) for r in line.routes},
                state=PENDING if fresh or moves else UNCHANGED,
            )
            self._next_id += 1
            self.proposal = proposal
            if proposal.state == UNCHANGED:
                self.triggers.reset(plan, proposal.volumes, line.out, line.arrived)
            log.warning(
                "sort plan proposal %d (%s, %s): %d routes move, status %s",
                proposal.id,
                proposal.mode,
                trigger,
                len(proposal.moves),
                proposal.figures.get("status"),
            )
        if self.settings.policy == "auto" and proposal.state == PENDING:
            await self.apply(proposal.id, ACTOR, None)
        return self.proposal

    def _pending(self, proposal_id: int) -> Proposal:
        proposal = self.proposal
        if proposal is None or proposal.id != proposal_id:
            raise SortPlanError({"proposal": f"proposal {proposal_id} is not the newest one"})
        if proposal.state != PENDING:
            raise SortPlanError({"proposal": f"proposal {proposal_id} is {proposal.state}"})
        return proposal

    async def apply(self, proposal_id: int, actor: str, role: str | None) -> PlanVersion:
        """Make the proposal the sort plan (a new version by ``actor``); SortPlanError
        when it is not pending or the plan changed since it was made."""
        async with self._lock:
            proposal = self._pending(proposal_id)
            if proposal.base_version != self.service.plan.version:
                self.proposal = replace(proposal, state=SUPERSEDED)
                raise SortPlanError(
                    {
                        "proposal": f"the sort plan is at version {self.service.plan.version}, "
                        f"the proposal was made from {proposal.base_version}; propose again"
                    }
                )
            version = await self.service.change(
                proposal.plan,
                "replan",
                actor,
                role,
                f"{proposal.mode}: {proposal.trigger} (proposal {proposal.id}, "
                f"{len(proposal.moves)} routes moved)",
                proposal.base_version,
            )
            self.proposal = replace(
                proposal,
                state=APPLIED,
                decided_by=actor,
                decided_at=time.time(),
                version=version.version,
            )
            self.planned_route_plan = proposal.route_plan_version
            line = self.state()
            self.triggers.reset(proposal.plan, proposal.volumes, line.out, line.arrived)
            return version

    def discard(self, proposal_id: int, actor: str) -> Proposal:
        """Drop the pending proposal; the plan in force stays (its cause is not proposed
        again until the next plan)."""
        proposal = self._pending(proposal_id)
        self.proposal = replace(proposal, state=DISCARDED, decided_by=actor, decided_at=time.time())
        log.warning("sort plan proposal %d discarded by %s", proposal_id, actor)
        return self.proposal

    # -- running -----------------------------------------------------------------------

    async def restored(self, route_plan_version: int) -> None:
        """After a restart: a sort plan the replanner made (restored by the sort-plan
        history) stands for the route plan restored with it, so no fresh plan is
        proposed for it; its triggers watch it again."""
        if self.service.action != "replan" or route_plan_version == 0:
            return
        self._route_plan_changed.clear()
        self.planned_route_plan = route_plan_version
        line = self.state()
        volumes = await self.volumes()
        plan = self.service.plan.as_dict()
        wanted = {r: volumes.get(r, 0) for r in line.routes}
        self.triggers.reset(plan, wanted, line.out, line.arrived)

    def route_plan_changed(self, *_: object) -> None:
        """A new route plan arrived: the next check makes a fresh plan (listener)."""
        self._route_plan_changed.set()

    async def check(self) -> Proposal | None:
        """One round of the triggers; a proposal when one fired (None: nothing to do, or
        the optimiser failed: see :attr:`error` and the alarm)."""
        if self._route_plan_changed.is_set():
            self._route_plan_changed.clear()
            line = self.state()
            reason = f"route plan version {line.route_plan_version}"
            return await self._try(reason, None, fresh=True)
        line = self.state()
        if not self.triggers.plan or not self.settings.repairs:
            return None  # nothing planned by the optimiser yet, or repairs are off
        fired = self.triggers.check(self.clock(), line.out, line.full, line.arrived)
        if fired is None:
            return None
        return await self._try(fired.reason, fired.volumes, fresh=False)

    async def _try(
        self,
        reason: str,
        volumes: Mapping[str, int] | None,
        fresh: bool,
    ) -> Proposal | None:
        try:
            return await self.propose(reason, volumes, fresh)
        except SortPlanError as err:  # PlanningError too; the alarm says it
            log.warning("re-planning (%s) failed: %s", reason, err)
            return None

    async def run(self) -> None:
        """Check the triggers every ``check_interval_s`` until cancelled."""
        if not self.settings.enabled:
            return
        try:
            while True:
                try:
                    await self.check()
                except Exception as err:  # a defect must not stop the line: say it, go on
                    log.exception("re-planning check failed")
                    self.error = f"re-planning failed: {type(err).__name__}: {err}"
                    self.alarms.raise_(ALARM, self.error, self.clock())
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.check_interval_s):
                        await self._route_plan_changed.wait()
        finally:
            await self.worker.close()

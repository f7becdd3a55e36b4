"""Changing the active sort plan mid-shift: validation, versions and the audit trail.

The plan starts from the line config's ``sort_plan``. The TMS (or a supervisor
tool) may replace it or patch single routes through the API; every change is
validated as a whole (:func:`~controller.sortplan.plan.validate_plan`) before it
becomes active, gets a new version number, and is recorded with who made it, what changed (route by
route, before and after) and why, in ``sort-plan.sqlite``. After a restart the
last version is active again, unless the config file's plan changed since
(then the config wins, recorded as a version by ``config``).

Validation and diffs are pure (:mod:`controller.sortplan.plan`); :class:`SortPlanService`
does the I/O in a thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.errors import SortPlanError
from controller.parcels.decision import SortPlan
from controller.sortplan.plan import (
    apply_patch,
    chutes_mixing_trucks,
    diff_plans,
    plan_hash,
    validate_plan,
)

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS plan_versions(
    version INTEGER PRIMARY KEY, time REAL NOT NULL, actor TEXT NOT NULL, role TEXT,
    action TEXT NOT NULL, reason TEXT, config_hash TEXT NOT NULL, plan TEXT NOT NULL,
    change TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class PlanVersion:
    """One version of the sort plan and the change that made it."""

    version: int
    time: float
    actor: str
    role: str | None
    action: str
    reason: str | None
    plan: dict[str, list[int]]
    change: dict[str, dict[str, list[int] | None]]


class SortPlanStore:
    """Plan versions in SQLite; synchronous, run in a thread."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)
        return conn

    def latest(self) -> tuple[PlanVersion, str] | None:
        """The newest version and the config hash it was based on."""
        conn = self._connect()
        try:
            row = conn.execute(
                "SELECT version, time, actor, role, action, reason, plan, change, config_hash"
                " FROM plan_versions ORDER BY version DESC LIMIT 1"
            ).fetchone()
        finally:
            conn.close()
        return (_version(row), row[8]) if row else None

    def add(self, version: PlanVersion, config_hash: str) -> None:
        """Record a new version."""
        conn = self._connect()
        try:
            with conn:
                conn.execute(
                    "INSERT INTO plan_versions(version, time, actor, role, action, reason,"
                    " config_hash, plan, change) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        version.version,
                        version.time,
                        version.actor,
                        version.role,
                        version.action,
                        version.reason,
                        config_hash,
                        json.dumps(version.plan),
                        json.dumps(version.change),
                    ),
                )
        finally:
            conn.close()

    def history(self, limit: int, before: int | None = None) -> list[PlanVersion]:
        """Versions newest first; ``before`` pages back from a version number."""
        conn = self._connect()
        try:
            rows = conn.execute(
                "SELECT version, time, actor, role, action, reason, plan, change"
                " FROM plan_versions WHERE version < ? ORDER BY version DESC LIMIT ?",
                (before if before is not None else 2**62, limit),
            ).fetchall()
        finally:
            conn.close()
        return [_version(r) for r in rows]


def _version(row: Sequence[Any]) -> PlanVersion:
    return PlanVersion(
        row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]), json.loads(row[7])
    )


class SortPlanService:
    """The active :class:`SortPlan`, its validation and its history."""

    def __init__(
        self,
        plan: SortPlan,
        store: SortPlanStore,
        config_plan: Mapping[str, Sequence[int]],
        chute_ids: Iterable[int],
        required_routes: Mapping[str, str] | None = None,
        trucks: Callable[[], Mapping[str, str]] | None = None,
    ):
        """``trucks`` gives route -> truck of the TMS's route plan now (routes of one
        truck may share a chute); None: no route plan, no chute is shared."""
        self.plan = plan
        self.store = store
        self.config_plan = {k: list(v) for k, v in config_plan.items()}
        self.config_hash = plan_hash(self.config_plan)
        self.chute_ids = frozenset(chute_ids)
        self.required_routes = dict(required_routes or {})
        self.trucks = trucks or dict
        self.action = "config"
        """How the active version was made: config, replace, patch, replan."""
        self._lock = asyncio.Lock()

    async def load(self) -> str:
        """Activate the last stored version (or record the config's); says which."""
        latest = await asyncio.to_thread(self.store.latest)
        if latest is not None:
            version, based_on = latest
            if based_on == self.config_hash and not self.problems(version.plan):
                self.plan.replace(version.plan, version.version)
                self.action = version.action
                return f"sort plan version {version.version} (by {version.actor}) restored"
        number = latest[0].version + 1 if latest else 1
        before = latest[0].plan if latest else {}
        await asyncio.to_thread(
            self.store.add,
            PlanVersion(
                number,
                time.time(),
                "config",
                None,
                "config",
                "the line config's sort_plan",
                self.config_plan,
                diff_plans(before, self.config_plan),
            ),
            self.config_hash,
        )
        self.plan.replace(self.config_plan, number)
        self.action = "config"
        return f"sort plan version {number} from the line config"

    def problems(self, plan: Mapping[str, Sequence[int]]) -> dict[str, str]:
        """Every problem of ``plan`` on this line, with the route plan now."""
        return validate_plan(
            plan, self.chute_ids, self.plan.reject_chute, self.required_routes, self.trucks()
        )

    def route_plan_problems(self, trucks: Mapping[str, str]) -> dict[str, str]:
        """Why a route plan giving route -> ``trucks`` would break the active sort plan:
        a chute it shares would then mix trucks (or carry a route the plan drops)."""
        problems: dict[str, str] = {}
        for chute, routes in chutes_mixing_trucks(self.plan.as_dict(), trucks).items():
            owners = ", ".join(f"{r}: {trucks.get(r, 'none')}" for r in routes)
            problems[f"routes.{routes[0]}.truck"] = (
                f"chute {chute} carries {', '.join(routes)} in the active sort plan (version "
                f"{self.plan.version}); with this route plan they are not on one truck ({owners})"
            )
        return problems

    async def change(
        self,
        new_plan: Mapping[str, Sequence[int]],
        action: str,
        actor: str,
        role: str | None,
        reason: str | None = None,
        expected_version: int | None = None,
    ) -> PlanVersion:
        """Validate ``new_plan``, record it, make it active. Raises SortPlanError."""
        async with self._lock:
            current = self.plan.version
            if expected_version is not None and expected_version != current:
                raise SortPlanError(
                    {
                        "expected_version": f"the plan is at version {current}, not "
                        f"{expected_version}; read it again and reapply your change"
                    }
                )
            plan = {k: list(v) for k, v in new_plan.items()}
            changed = diff_plans(self.plan.as_dict(), plan)
            # Unchanged routes first: a conflict is reported on the route being changed.
            ordered = dict(sorted(plan.items(), key=lambda item: item[0] in changed))
            if problems := self.problems(ordered):
                raise SortPlanError(problems)
            version = PlanVersion(
                current + 1,
                time.time(),
                actor,
                role,
                action,
                reason,
                plan,
                changed,
            )
            await asyncio.to_thread(self.store.add, version, self.config_hash)
            self.plan.replace(plan, version.version)
            self.action = action
            log.warning(
                "sort plan version %d by %s (%s): %s",
                version.version,
                actor,
                reason or "no reason given",
                ", ".join(f"{r}: {c['before']} -> {c['after']}" for r, c in changed.items()),
            )
            return version

    async def patch(
        self,
        changes: Mapping[str, Sequence[int] | None],
        actor: str,
        role: str | None,
        reason: str | None = None,
        expected_version: int | None = None,
    ) -> PlanVersion:
        """Set or remove single routes; the rest of the plan stays."""
        return await self.change(
            apply_patch(self.plan.as_dict(), changes),
            "patch",
            actor,
            role,
            reason,
            expected_version,
        )

    async def history(self, limit: int = 50, before: int | None = None) -> list[PlanVersion]:
        """Versions newest first."""
        return await asyncio.to_thread(self.store.history, limit, before)

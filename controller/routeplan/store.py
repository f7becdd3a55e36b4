"""Route plan versions in SQLite (``route-plan.sqlite`` in the line's data dir).

One row per version: when, who (actor and role), why, the counts of trucks, routes and
stops (so the history is read without decoding plans) and the plan as JSON (times as
epoch seconds). Synchronous; :class:`~controller.routeplan.service.RoutePlanService`
runs it in a thread.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from controller.routeplan.model import Route, RoutePlan, Stop, Truck

_SCHEMA = """
CREATE TABLE IF NOT EXISTS route_plan_versions(
    version INTEGER PRIMARY KEY, time REAL NOT NULL, actor TEXT NOT NULL, role TEXT,
    reason TEXT, trucks INTEGER NOT NULL, routes INTEGER NOT NULL, stops INTEGER NOT NULL,
    plan TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class RoutePlanVersion:
    """One stored version, without its plan: who sent it, when, why, and its size."""

    version: int
    time: float
    actor: str
    role: str | None
    reason: str | None
    trucks: int
    routes: int
    stops: int


class RoutePlanStore:
    """Route plan versions in SQLite; synchronous, run in a thread."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)
        return conn

    def latest(self) -> RoutePlan | None:
        """The newest version, or None when no plan was ever stored."""
        conn = self._connect()
        try:
            row = conn.execute(
                "SELECT version, time, actor, reason, plan FROM route_plan_versions"
                " ORDER BY version DESC LIMIT 1"
            ).fetchone()
        finally:
            conn.close()
        return _plan(row) if row else None

    def last_version(self) -> int:
        """The newest version's number (0 when none), restored or not."""
        conn = self._connect()
        try:
            return conn.execute("SELECT max(version) FROM route_plan_versions").fetchone()[0] or 0
        finally:
            conn.close()

    def add(self, plan: RoutePlan, role: str | None) -> None:
        """Record ``plan`` as a new version (its number must be new)."""
        data = {
            "trucks": [asdict(t) for t in plan.trucks],
            "routes": [asdict(r) for r in plan.routes],
        }
        conn = self._connect()
        try:
            with conn:
                conn.execute(
                    "INSERT INTO route_plan_versions(version, time, actor, role, reason, trucks,"
                    " routes, stops, plan) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        plan.version,
                        plan.time,
                        plan.actor,
                        role,
                        plan.reason,
                        len(plan.trucks),
                        len(plan.routes),
                        plan.stop_count(),
                        json.dumps(data, separators=(",", ":")),
                    ),
                )
        finally:
            conn.close()

    def history(self, limit: int, before: int | None = None) -> list[RoutePlanVersion]:
        """Versions newest first; ``before`` pages back from a version number."""
        conn = self._connect()
        try:
            rows = conn.execute(
                "SELECT version, time, actor, role, reason, trucks, routes, stops"
                " FROM route_plan_versions WHERE version < ? ORDER BY version DESC LIMIT ?",
                (before if before is not None else 2**62, limit),
            ).fetchall()
        finally:
            conn.close()
        return [RoutePlanVersion(*row) for row in rows]


def _plan(row: Sequence[Any]) -> RoutePlan:
    version, at, actor, reason, text = row
    data = json.loads(text)
    trucks = tuple(Truck(**t) for t in data["trucks"])
    routes = tuple(
        Route(r["id"], r["truck"], tuple(Stop(**s) for s in r["stops"])) for r in data["routes"]
    )
    return RoutePlan(version, trucks, routes, at, actor, reason)

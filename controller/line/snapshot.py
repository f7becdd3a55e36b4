"""A frozen picture of the line for the screens, the API, SCADA and Sparkplug.

:func:`take_snapshot` reads the running :class:`~controller.line.LineController` once and
hands out a :class:`LineSnapshot` nobody can change, so a screen never sees half an update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from controller.alarms.board import Alarm
from controller.containers.book import ContainerInfo
from controller.devices.links import LinkState
from controller.histogram import percentiles
from plc_configs.contract import PackMLState

if TYPE_CHECKING:
    from controller.line.controller import LineController


@dataclass(frozen=True)
class LineSnapshot:
    """Everything a screen shows about the line, at one moment."""

    line: str
    packml_state: PackMLState | None
    conveyor_running: bool
    heartbeat_ok: bool
    links: tuple[LinkState, ...]
    counts: dict[str, int]
    reasons: dict[str, int]
    on_belt: int
    alarms: tuple[Alarm, ...]
    """The displayed alarms (active and returned-unacknowledged, not shelved), oldest first."""
    shelved: tuple[Alarm, ...]
    chute_full: frozenset[int]
    chute_disabled: frozenset[int]
    answer_p50_ms: float | None
    answer_p99_ms: float | None
    manifest_size: int
    per_chute: dict[int, int]
    chute_fill: dict[int, int]
    containers: dict[int, ContainerInfo]
    """The container filling in each chute (the reject chute's too)."""
    plan_version: int


def take_snapshot(line: LineController) -> LineSnapshot:
    """A frozen picture of the line now (ended alarm shelves expire first)."""
    line.alarms.expire_shelves(line.clock())
    status = line.plc.status
    p50, p99 = percentiles(list(line.plc.latencies_ms), (50, 99))
    return LineSnapshot(
        line=line.config.line.name,
        packml_state=status.packml_state if status else None,
        conveyor_running=bool(status and status.conveyor_running),
        heartbeat_ok=line.plc.heartbeat_ok,
        links=(
            line.plc.link,
            *(d.link for d in (*line.readers, *line.scales, *line.dimensioners)),
        ),
        counts=dict(line.tracker.counts),
        reasons=dict(line.tracker.reasons),
        on_belt=len(line.tracker),
        alarms=tuple(line.alarms.active()),
        shelved=tuple(line.alarms.shelved()),
        chute_full=status.chute_full if status else frozenset(),
        chute_disabled=(status.chute_disabled if status else frozenset())
        | line.plc.disabled_by_host,
        answer_p50_ms=p50,
        answer_p99_ms=p99,
        manifest_size=len(line.manifest),
        per_chute=dict(line.tracker.per_chute),
        chute_fill=line.plc.chute_fill.counts(),
        containers=line.containers.infos(),
        plan_version=line.plan.version,
    )

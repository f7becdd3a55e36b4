"""What operators do to a running line, and the reports they read.

:class:`LineActions` is the part of :class:`~controller.line.controller.LineController` that
takes operator actions (PackML commands, chutes, alarms, containers) and answers
for reports; every action is written to the audit log under the acting
:class:`~controller.auth.audit.Actor`, refusals included.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from controller.auth.audit import CONSOLE, Actor, AuditLog
from controller.errors import CommandRefused, ReportError, SortPlanError
from controller.packml.commands import check_command
from controller.reports.shift import ShiftReport, shift_report, throughput_series
from plc_configs.contract import PackMLCommand, PackMLState

if TYPE_CHECKING:
    from controller.alarms.board import AlarmBoard
    from controller.containers.book import ContainerBook, ContainerInfo
    from controller.journal.images import ImageStore
    from controller.journal.writer import Journal
    from controller.line.plc_link import PlcLink
    from controller.packml.history import LineStates
    from controller.sortplan.history import PlanVersion
    from controller.sortplan.replanner import Proposal, Replanner
    from plc_configs.schema import LineConfig


class LineActions:
    """Operator actions and reports over the line's parts (a mixin of LineController)."""

    config: LineConfig
    plc: PlcLink
    alarms: AlarmBoard
    audit: AuditLog
    containers: ContainerBook
    images: ImageStore
    journal: Journal
    line_states: LineStates
    replanner: Replanner
    clock: Callable[[], float]

    # -- commands --------------------------------------------------------------------------

    def command(self, command: PackMLCommand, actor: Actor = CONSOLE) -> None:
        """Send a PackML command to the PLC, or raise CommandRefused saying why not.

        Both outcomes are written to the audit log under ``actor``.
        """
        if not self.plc.link.up:
            why: str | None = f"{self.plc.driver.name} ({self.plc.driver.address}) is not connected"
        else:
            status = self.plc.status
            why = check_command(command, status.packml_state if status else PackMLState.UNDEFINED)
        self.audit.record(actor, f"line.{command.name.lower()}", "line", why, ok=why is None)
        if why:
            raise CommandRefused(why)
        self.plc.queue_command(command)
        self.line_states.on_command(command.name.lower(), actor.name, self.clock())

    def set_chute_enabled(self, chute: int, enabled: bool, actor: Actor = CONSOLE) -> None:
        """Enable or disable a sort chute (audited under ``actor``)."""
        if chute not in self.config.topology.chute_ids:
            raise CommandRefused(f"chute {chute} is not a sort chute of this line")
        disabled = set(self.plc.disabled_by_host)
        (disabled.discard if enabled else disabled.add)(chute)
        self.plc.set_disabled(frozenset(disabled))
        self.audit.record(actor, "chute.enable" if enabled else "chute.disable", f"chute {chute}")

    def acknowledge_alarm(self, key: str, actor: Actor = CONSOLE) -> None:
        """Acknowledge alarm ``key`` (ISA-18.2); audited as ``alarm.ack``, refusals too."""
        self._alarm_action(
            actor, "alarm.ack", key, None, lambda now: self.alarms.acknowledge(key, actor.name, now)
        )

    def shelve_alarm(
        self, key: str, minutes: float, reason: str | None = None, actor: Actor = CONSOLE
    ) -> None:
        """Hide alarm ``key`` from the active list for ``minutes`` (at most 8 h); audited."""
        self._alarm_action(
            actor,
            "alarm.shelve",
            key,
            f"{minutes:g} min" + (f": {reason}" if reason else ""),
            lambda now: self.alarms.shelve(key, actor.name, now + minutes * 60, now, reason),
        )

    def unshelve_alarm(self, key: str, actor: Actor = CONSOLE) -> None:
        """Show a shelved alarm again; audited as ``alarm.unshelve``."""
        self._alarm_action(
            actor, "alarm.unshelve", key, None, lambda t: self.alarms.unshelve(key, actor.name, t)
        )

    def _alarm_action(
        self,
        actor: Actor,
        action: str,
        key: str,
        detail: str | None,
        change: Callable[[float], None],
    ) -> None:
        """Run ``change`` on the board at the clock's now and audit it; re-raise a refusal."""
        try:
            change(self.clock())
        except CommandRefused as err:
            self.audit.record(actor, action, key, str(err), ok=False)
            raise
        self.audit.record(actor, action, key, detail)

    # -- re-planning -------------------------------------------------------------------------

    async def propose_plan(self, actor: Actor = CONSOLE, fresh: bool | None = None) -> Proposal:
        """Ask the optimiser for a sort plan now (PlanningError when there is none);
        audited as ``plan.propose``, failures too."""
        try:
            proposal = await self.replanner.propose(f"requested by {actor.name}", fresh=fresh)
        except SortPlanError as err:
            self.audit.record(actor, "plan.propose", None, str(err), ok=False)
            raise
        self.audit.record(
            actor, "plan.propose", f"proposal {proposal.id}", f"{len(proposal.moves)} routes move"
        )
        return proposal

    async def apply_proposal(self, proposal_id: int, actor: Actor = CONSOLE) -> PlanVersion:
        """Make proposal ``proposal_id`` the sort plan; audited as ``plan.apply``, refusals too."""
        target = f"proposal {proposal_id}"
        try:
            version = await self.replanner.apply(proposal_id, actor.name, actor.role)
        except SortPlanError as err:
            self.audit.record(actor, "plan.apply", target, str(err), ok=False)
            raise
        self.audit.record(actor, "plan.apply", target, f"sort plan version {version.version}")
        return version

    def discard_proposal(self, proposal_id: int, actor: Actor = CONSOLE) -> Proposal:
        """Drop proposal ``proposal_id``; audited as ``plan.discard``, refusals too."""
        target = f"proposal {proposal_id}"
        try:
            proposal = self.replanner.discard(proposal_id, actor.name)
        except SortPlanError as err:
            self.audit.record(actor, "plan.discard", target, str(err), ok=False)
            raise
        self.audit.record(actor, "plan.discard", target)
        return proposal

    def image_file(self, relative: str) -> Path:
        """The file of a parcel image's relative path (``images[].path`` of a parcel lookup).

        Raises CommandRefused for a path that leads outside ``<data_dir>/images`` (``..``,
        absolute, a symlink out). Blocking (resolves symlinks): call it in a thread.
        """
        return self.images.resolve(relative)

    def close_container(
        self, chute: int, actor: Actor = CONSOLE, reason: str | None = None
    ) -> ContainerInfo:
        """Close out ``chute``'s container (full, or its route is done): the closed one.

        The chute's count and fill estimate start again; the record and its
        ``container.closed`` event are journaled. Audited as ``chute.close-out``;
        CommandRefused (audited too) for a chute this line does not have.
        """
        try:
            info = self.containers.close(chute, actor, reason)
        except CommandRefused as err:
            self.audit.record(actor, "chute.close-out", f"chute {chute}", str(err), ok=False)
            raise
        detail = f"container {info.id}: {info.count} parcels" + (f"; {reason}" if reason else "")
        self.audit.record(actor, "chute.close-out", f"chute {chute}", detail)
        return info

    async def container_history(self, chute: int | None = None, limit: int = 50) -> list[dict]:
        """Closed-out containers, newest first (of ``chute``, or of every chute).

        Each: ``id, session, chute, route, opened, closed, parcels, closed_by, reason``
        (times in wall-clock epoch seconds). JournalError when the journal cannot be read.
        """
        return await self.containers.history(chute, limit)

    # -- reports ---------------------------------------------------------------------------

    async def shift_report(self, since: float, until: float) -> ShiftReport:
        """The KPIs of ``[since, until)`` (wall-clock epoch s; see :mod:`controller.reports.shift`).

        ReportError for since >= until or a span over 31 days; JournalError when unreadable.
        """
        return await shift_report(self.journal.path, since, until)

    async def throughput_series(
        self, minutes: int = 60, bucket_s: int = 60
    ) -> list[tuple[float, int]]:
        """Terminal parcels per ``bucket_s`` bucket over the last ``minutes`` (wall clock).

        Buckets are aligned to multiples of ``bucket_s``; the last one holds now and is
        still filling. Each item is (bucket start epoch s, parcels).
        """
        if bucket_s <= 0:
            raise ReportError("bucket_s", "bucket_s must be positive")
        until = (time.time() // bucket_s + 1) * bucket_s
        since = until - math.ceil(minutes * 60 / bucket_s) * bucket_s
        return await throughput_series(self.journal.path, since, until, bucket_s)

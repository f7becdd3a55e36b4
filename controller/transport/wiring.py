"""The line's fleet, AS/RS buffer and container transport, built from the line config."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from controller.alarms.board import AlarmBoard
from controller.auth.audit import AuditLog
from controller.buffer.service import BufferService
from controller.fleet.service import FleetService
from controller.journal.writer import Journal
from controller.transport.mover import FleetMover
from controller.transport.service import TransportService
from drivers.vda5050.fleet_link import FleetLink
from plc_configs.schema import LineConfig

if TYPE_CHECKING:
    from controller.loading.service import LoadingService
    from controller.putwall.service import PutWallService
    from controller.routeplan.service import RoutePlanService


@dataclass
class TransportParts:
    """The fleet (None without ``fleet.enabled``), the buffer and the transport."""

    fleet: FleetService | None = None
    buffer: BufferService | None = None
    transport: TransportService | None = None


def build_transport(
    config: LineConfig,
    journal: Journal,
    alarms: AlarmBoard,
    audit: AuditLog,
    putwall: PutWallService,
    loading: LoadingService,
    route_plan: RoutePlanService,
    clock: Callable[[], float],
) -> TransportParts:
    """The parts a line with an AMR fleet runs (none without one)."""
    if not config.fleet.enabled or config.fleet.layout is None:
        return TransportParts()
    link = FleetLink.create(config.fleet, client_id=f"lanesort-{config.line.name}-fleet")
    fleet = FleetService(config, journal, alarms, audit, link, clock)
    buffer = BufferService(config, alarms, clock) if config.buffer.asrs else None
    doors = {s.id: s.ref for s in config.fleet.layout.stations if s.kind == "dock_door"}
    mover = FleetMover(fleet, doors.get)
    transport = TransportService(
        config, journal, alarms, audit, putwall, loading, route_plan, mover, buffer, clock
    )
    return TransportParts(fleet, buffer, transport)

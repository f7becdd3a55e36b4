"""The fleet as the transport's mover: one transport task per move, its locations followed.

:class:`FleetMover` creates a :class:`~controller.fleet.tasks.TransportTask` for a move and
waits for it to end. Each change of the container's location the fleet reports (at the
source station, on vehicle V last at node N, at the target) becomes a
:class:`~controller.transport.locations.Location`; a task that fails or is cancelled
raises :class:`~controller.errors.TransportError` with the fleet's reason, and the
container keeps the last location the fleet knew.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from controller.errors import CommandRefused, TransportError
from controller.fleet.tasks import Location as FleetLocation
from controller.fleet.tasks import TaskState, TransportTask
from controller.transport.locations import Location

if TYPE_CHECKING:
    from controller.fleet.service import FleetService


class Mover(Protocol):
    """What the transport needs of the fleet: a container from one station to another."""

    async def move(
        self, container_id: str, from_station: str, to_station: str, on_location: Callable
    ) -> None:
        """Move it; ``on_location(Location)`` on each change; :class:`TransportError`."""
        ...


class Buffer(Protocol):
    """What the transport needs of the AS/RS buffer."""

    async def store(self, container_id: str) -> str:
        """Store the container from the in-port; its storage location; TransportError."""
        ...

    async def retrieve(self, container_id: str) -> None:
        """Bring the container to the out-port; TransportError."""
        ...


def location_of(place: FleetLocation, task: TransportTask, door_of: Callable[[str], str | None]):
    """The transport's location for the fleet's (a door station becomes the door)."""
    now = time.time()
    if place.vehicle is not None:
        return Location(
            "vehicle", place.vehicle, now, f"last at node {place.last_node or '?'}", task.id
        )
    station = place.station or task.source
    door = door_of(station)
    if door is not None:
        return Location("door", door, now, station, task.id)
    return Location("station", station, now, "", task.id)


class FleetMover:
    """Moves containers with the AMR fleet (see the module docstring)."""

    def __init__(self, fleet: FleetService, door_of: Callable[[str], str | None]):
        self.fleet = fleet
        self.door_of = door_of
        self._waiting: dict[str, tuple[asyncio.Future[TransportTask], Callable]] = {}
        fleet.listeners.append(self._changed)

    async def move(
        self,
        container_id: str,
        from_station: str,
        to_station: str,
        on_location: Callable[[Location], None],
    ) -> None:
        """Move the container; TransportError if the fleet refuses or the task fails."""
        try:
            task = self.fleet.create_task(container_id, from_station, to_station)
        except CommandRefused as err:
            raise TransportError(f"fleet refused the move: {err}") from err
        future: asyncio.Future[TransportTask] = asyncio.get_running_loop().create_future()
        self._waiting[task.id] = (future, on_location)
        try:
            done = await future
        finally:
            self._waiting.pop(task.id, None)
        if done.state is not TaskState.DELIVERED:
            raise TransportError(f"fleet task {done.id} {done.state}: {done.reason}")

    def _changed(self, task: TransportTask, change: str) -> None:
        entry = self._waiting.get(task.id)
        if entry is None:
            return
        future, on_location = entry
        if task.state is not TaskState.DELIVERED or task.location.station is not None:
            on_location(location_of(task.location, task, self.door_of))
        if task.done and not future.done():
            future.set_result(task)

"""What a sorter PLC driver offers, whatever the wire (Modbus TCP or OPC UA).

The handshake (see ``plc_configs.register_map`` and ``plc_configs.node_map``):

1. the PLC reports a parcel at the scan point (``ScanEvent``, from a ring);
2. the PLC asks for a destination (``DestinationRequest``: sequence number and
   tracking id, in a mailbox); the host answers with the same sequence number,
   the tracking id and a chute;
3. the PLC reports what happened (``SortConfirmation``, from a ring);
4. both sides tick a life counter; the host sends PackML commands.

Ring entries are delivered at least once: :meth:`SorterPlc.poll` returns new
entries, and the host acknowledges them with :meth:`SorterPlc.acknowledge` once
they are safely recorded. After a reconnect, entries not yet acknowledged are
delivered again, so the caller must treat them idempotently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from plc_configs.contract import PackMLCommand, PackMLState, SortResult


@dataclass(frozen=True, slots=True)
class DestinationRequest:
    """The PLC's question: where does the parcel with this tracking id go?"""

    seq: int
    tracking_id: int


PLC_CLOCK_RESOLUTION_S = 0.001
"""A PLC time stamp counts whole milliseconds, unless the driver says its clock steps
coarser (``clock_resolution_s``)."""
STAMP_SLACK_S = 0.05
"""A new scan entered after the read before this one, give or take the PLC writing its
entry a few cycles after stamping it: a stamp older than that (the entry waited in a
full ring, the clock register is not the counter the stamps come from, a 16-bit wrap)
is not trusted, and the scan is taken as not stamped."""


@dataclass(frozen=True, slots=True)
class ScanEvent:
    """A parcel entered the scan tunnel. ``ring_index`` is its position in the ring.

    ``age_s``: how long before the PLC's image that was read the parcel entered, by the
    PLC's own clock (a PLC that time-stamps its scans); None when the PLC does not tell.
    """

    tracking_id: int
    ring_index: int
    age_s: float | None = None


@dataclass(frozen=True, slots=True)
class SortConfirmation:
    """What happened to a parcel at the sorter. ``chute`` is where it physically went."""

    tracking_id: int
    chute: int
    result: SortResult
    ring_index: int


@dataclass(frozen=True, slots=True)
class PlcStatus:
    """A frozen snapshot of the PLC area."""

    heartbeat: int
    packml_state: PackMLState
    conveyor_running: bool
    fault_word: int
    pending_requests: int
    chute_full: frozenset[int]
    chute_disabled: frozenset[int]


@dataclass(frozen=True, slots=True)
class RegisterProblem:
    """A PLC register held a value outside its range; the entry was skipped, not guessed."""

    register: str
    """What held it: a register map or node map entry (``confirm_ring[3].result …``)."""
    address: int
    """The register's address; -1 for an OPC UA variable (named by ``register``)."""
    value: int
    expected: str

    def __str__(self) -> str:
        where = f"register {self.register} at {self.address}"
        if self.address < 0:
            where = f"node {self.register}"
        return f"{where} = {self.value}, expected {self.expected}"


@dataclass(frozen=True, slots=True)
class PlcPoll:
    """Everything one read of the PLC area brought."""

    status: PlcStatus
    request: DestinationRequest | None
    """The mailbox's request, if its sequence number has not been answered yet."""
    scans: tuple[ScanEvent, ...] = ()
    confirmations: tuple[SortConfirmation, ...] = ()
    problems: tuple[RegisterProblem, ...] = field(default=())
    scans_age_s: float | None = None
    """The new scans entered at most this long before the poll returned (a subscription's
    driver knows it from the PLC's timestamps, a Modbus one from the PLC's clock and the
    scans' stamps); None: they entered after the previous poll was sent, as for a read
    on the wire of a PLC that does not stamp its scans."""


class SorterPlc(Protocol):
    """A sorter PLC link. Every method raises :class:`drivers.errors.DriverError`."""

    name: str
    address: str

    async def connect(self) -> None:
        """Open the link and restore ring read positions from the PLC."""

    async def close(self) -> None:
        """Close the link; safe to call twice."""

    async def poll(self) -> PlcPoll:
        """Read the PLC area once and return what is new."""

    async def answer(self, request: DestinationRequest, chute: int) -> None:
        """Answer ``request`` with ``chute`` (in one write: seq, tracking id, chute)."""

    async def acknowledge(self, scans_through: int | None, confirms_through: int | None) -> None:
        """Acknowledge ring entries up to and including these ring indices."""

    async def write_heartbeat(self, value: int) -> None:
        """Write the host's life counter."""

    async def send_command(self, command: PackMLCommand) -> None:
        """Send a PackML command (the PLC runs its own state machine)."""

    async def request_chutes_disabled(self, chutes: frozenset[int]) -> None:
        """Ask the PLC to treat exactly these chutes as disabled."""

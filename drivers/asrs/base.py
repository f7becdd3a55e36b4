"""The AS/RS buffer's interface: what the controller calls, whatever telegrams are spoken.

Types only (no I/O imports). A store or a retrieval is an *order*: :meth:`store` and
:meth:`retrieve` return its id once the AS/RS has taken the telegram (its reply or ack
received, retransmitting the same sequence when it is lost); what becomes of it comes
later as :class:`AsrsEvent` values, to every listener, and :meth:`wait` returns the
order's final event (``stored``/``retrieved``) or raises ``DeviceFault`` with the
device's error code and text (``refused``, or a ``fault`` hitting the order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

EventKind = Literal["stored", "retrieved", "moved", "fault", "refused", "cleared"]
FINAL_KINDS: frozenset[str] = frozenset({"stored", "retrieved", "refused", "fault"})
"""Kinds that end an order when they name one."""


@dataclass(frozen=True, slots=True)
class AsrsEvent:
    """Something the AS/RS reported.

    ``stored``/``retrieved``: an order done, ``location`` where the unit is now;
    ``moved``: a unit seen on its way (or at a port) outside any final state;
    ``refused``: an order not executed (``error_code``/``error_text`` say why: location
    occupied, unknown handling unit …); ``fault``: a device fault (crane fault), with
    ``order_id`` when it ended an order; ``cleared``: a fault is gone.
    """

    kind: EventKind
    hu: str | None = None
    location: str | None = None
    order_id: str | None = None
    error_code: str | None = None
    error_text: str | None = None
    raw: str = ""


Listener = Callable[[AsrsEvent], None]


class StorageSystem(Protocol):
    """An AS/RS buffer for closed containers (handling units, HU)."""

    name: str
    address: str

    @property
    def connected(self) -> bool:
        """True while the link is up."""

    @property
    def in_location(self) -> str:
        """The in-port (where containers are handed over for storing)."""

    @property
    def out_location(self) -> str:
        """The out-port (where retrieved containers are delivered)."""

    async def connect(self) -> None:
        """Open the link (ConnectionLost if it cannot); resends orders not yet taken."""

    async def close(self) -> None:
        """Close the link; orders waited for fail with ConnectionLost. Safe twice."""

    async def run(self) -> None:
        """Return never while the link is up; raise ConnectionLost when it drops (the
        supervisor's session: reconnect with backoff, then ``connect()`` again)."""

    async def store(
        self,
        hu: str,
        *,
        source: str | None = None,
        dest: str | None = None,
        order_id: str | None = None,
    ) -> str:
        """Order ``hu`` stored from ``source`` (default the in-port) into ``dest`` (None:
        the AS/RS chooses); the order id once the device took it. Passing the id of an
        order not yet taken sends the same telegram (same sequence) again."""

    async def retrieve(
        self, hu: str, *, dest: str | None = None, order_id: str | None = None
    ) -> str:
        """Order ``hu`` brought to ``dest`` (default the out-port); the order id."""

    async def wait(self, order_id: str, timeout_s: float | None = None) -> AsrsEvent:
        """The order's final event; DeviceFault if refused or faulted, DeviceTimeout
        after ``timeout_s``."""

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every event; returns the function that removes it."""

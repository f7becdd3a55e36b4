"""Upstream reporting: every parcel's measured/sorted/rejected/lost event to the TMS webhook.

- :mod:`controller.upstream.payload` — the JSON body of one event (pure).
- :mod:`controller.upstream.outbox` — the durable outbox table in the journal's
  SQLite file; the journal writer adds a row in the transaction of the event.
- :mod:`controller.upstream.store` — the deliverer's connection, queried in one
  worker thread, never on the event loop.
- :mod:`controller.upstream.delivery` — :class:`~controller.upstream.delivery.UpstreamDelivery`
  posts the rows, in order per parcel, with retries, dead-letters and replay.

Wiring (the composition root)::

    journal = Journal(path, line, text, clock, upstream_events=config.upstream.events)
    alarms = AlarmBoard(journal.append)
    delivery = UpstreamDelivery(config.upstream, path, alarms, clock, secret)
    journal.on_commit = delivery.notify_threadsafe
    group.create_task(delivery.run())   # in the TaskGroup, after journal.open()

May use: :mod:`controller.parcels`, and for the deliverer :mod:`controller.alarms`.

The package spans two layers: the outbox and its payload sit under the journal, which
writes them in the event's transaction; the deliverer sits above the alarms it raises,
which the journal records. So this ``__init__`` imports nothing until a name is asked
for (:func:`__getattr__`): importing the outbox never drags in the deliverer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from controller.upstream.delivery import UpstreamDelivery
    from controller.upstream.outbox import OutboxCounts, OutboxRow
    from controller.upstream.payload import build_payload, encode, event_type, iso_utc
    from controller.upstream.store import OutboxStore

_EXPORTS = {
    "UpstreamDelivery": "delivery",
    "OutboxCounts": "outbox",
    "OutboxRow": "outbox",
    "OutboxStore": "store",
    "build_payload": "payload",
    "encode": "payload",
    "event_type": "payload",
    "iso_utc": "payload",
}

__all__ = [
    "OutboxCounts",
    "OutboxRow",
    "OutboxStore",
    "UpstreamDelivery",
    "build_payload",
    "encode",
    "event_type",
    "iso_utc",
]


def __getattr__(name: str) -> Any:
    """Import the exported ``name`` from its module on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)

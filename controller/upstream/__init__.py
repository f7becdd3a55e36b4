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

This package imports nothing at its top level: the journal imports
:mod:`~controller.upstream.outbox`, and the deliverer imports the alarms, which
import the journal.
"""

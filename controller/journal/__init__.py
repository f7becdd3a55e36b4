"""The journal: what happened on the line, in SQLite, written off the event loop.

Owns the journal file (``journal.sqlite``, WAL) and its writer thread
(:mod:`~controller.journal.writer`: parcel events, alarm records, and in the same
transaction the upstream outbox rows), camera images kept with the parcels
(:mod:`~controller.journal.images`), the records a crashed run left open
(:mod:`~controller.journal.open_parcels`) and read-only parcel queries for the API
(:mod:`~controller.journal.parcel_queries`); its tables are in
:mod:`~controller.journal.schema`, whose :func:`reading` opens a read-only connection
for any package that reads the file (alarm history, audit, reports).

May use: :mod:`controller.parcels` (the events it stores) and the upstream outbox
(:mod:`controller.upstream.outbox`, the table it writes in the event's transaction).
"""

from controller.journal.images import ImageRecord, ImageStore
from controller.journal.open_parcels import read_open_records, read_recent_finished
from controller.journal.parcel_queries import ParcelQueries
from controller.journal.schema import reading
from controller.journal.writer import AlarmRecord, Journal, JournalRecord

__all__ = [
    "AlarmRecord",
    "ImageRecord",
    "ImageStore",
    "Journal",
    "JournalRecord",
    "ParcelQueries",
    "read_open_records",
    "read_recent_finished",
    "reading",
]

"""The AS/RS buffer: one :class:`StorageSystem` interface, two telegram protocols.

``osip`` (:class:`OsipStorage`, OpenWMS OSIP fixed-length telegrams) and ``gebhardt``
(:class:`GebhardtStorage`, ``/Seq:…/End/`` telegrams with acks); the shared machinery
(retransmission, duplicates, orders and events) is in :mod:`drivers.asrs.engine`.
"""

from drivers.asrs.base import AsrsEvent, EventKind, StorageSystem
from drivers.asrs.gebhardt import GebhardtStorage
from drivers.asrs.osip import OsipStorage

__all__ = ["AsrsEvent", "EventKind", "GebhardtStorage", "OsipStorage", "StorageSystem"]

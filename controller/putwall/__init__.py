"""Put walls: parcels from the chutes into cubbies by stop (or consignee), under pick-to-light.

Owns the pure wall state machine (:mod:`.wall`), its journal records and upstream events
(:mod:`.records`), the device supervisors of light buses and hand scanners (:mod:`.links`),
the close-out of a cubby's container (:mod:`.closeout`: label, check-weigh, hold/release)
and the service running every wall (:mod:`.service`).

May use: :mod:`controller.manifest` and :mod:`controller.routeplan` (where a parcel goes),
:mod:`controller.journal`, :mod:`controller.alarms`, :mod:`controller.auth` (audit),
:mod:`controller.printing` (labels), :mod:`controller.loading` (the weight check), the
upstream outbox, and the ``drivers`` (pick-to-light, scanners, printers, scales).
"""

"""Loading at the dock doors, last stop first: load plans, sheets, door checks, accounting.

Owns the load plan of a truck (:mod:`.plan`: its containers in reverse stop order with a
load position), the load sheet as CSV and PDF (:mod:`.sheet`), the door's scan check
(:mod:`.dock`: this truck, in sequence), the truck's ledger (:mod:`.accounting`: every
manifest parcel loaded or accounted for, the ``truck.loaded`` summary), the check-weigh
policy of a closed container (:mod:`.weight_check`) and the service running the doors
(:mod:`.service`). All but the service are pure.

May use: :mod:`controller.putwall` (the containers that leave the walls),
:mod:`controller.routeplan` (trucks, doors), the journal, alarms, audit and the drivers
(door scanners).
"""

"""The AMR fleet: transport tasks for containers, driven by VDA 5050 vehicles over MQTT.

Owns the layout graph's paths (:mod:`.graph`), the orders built from them with base and
horizon and their stitched updates (:mod:`.orders`), what each vehicle last reported
(:mod:`.tracker`), instant actions sent until the vehicle shows them (:mod:`.instant`),
transport tasks and their journal records (:mod:`.tasks`), the choice of a vehicle for a
task, a charger or the way home (:mod:`.dispatcher`) and the service running it all
(:mod:`.service`). Which container goes where and when is decided above (the
orchestration calls :class:`~controller.fleet.service.FleetService`).

May use: :mod:`controller.journal`, :mod:`controller.alarms`, :mod:`controller.auth`
(audit) and the ``drivers.vda5050`` link. The pure modules (graph, orders, tracker,
instant, tasks' state machine, dispatcher) do no I/O.
"""

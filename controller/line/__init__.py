"""The running line: the composition root and everything that talks to the line's devices.

Owns :class:`LineController` (:mod:`~controller.line.controller`: builds the line from its
config and runs it in one TaskGroup, hands out frozen :class:`LineSnapshot` objects:
:mod:`~controller.line.snapshot`; its claims on the machine:
:mod:`~controller.line.machine_grants`), the PLC handshake cycle
(:mod:`~controller.line.plc_link`: scans, destination requests and answers, sort
confirmations; its status side, :mod:`~controller.line.plc_status`: faults, life counters,
auto start, housekeeping writes), the tunnel (:mod:`~controller.line.tunnel_binding`
triggers the readers, scale and dimensioner for each parcel and binds what they return
within its window; :mod:`~controller.line.reader_link`, :mod:`~controller.line.tunnel_link`;
what both work with: :mod:`~controller.line.parts`),
one supervisor per device (built on :mod:`controller.devices`: reconnect with backoff,
link state, alarms), operator
actions (:mod:`~controller.line.actions`), what screens derive from a snapshot
(:mod:`~controller.line.views`), the manifest as the line sees it (the decision's lookup,
the manifest file: :mod:`~controller.line.manifest_feed`) and the event-loop lag monitor
(:mod:`~controller.line.loop_lag`).

May use: every capability package below the front doors, ``drivers`` (through the
registry) and ``plc_configs``. Used by the front doors only (CLI, API, OPC UA, HMI).
"""

from controller.devices.links import Backoff, LinkState
from controller.line.controller import LineController
from controller.line.snapshot import LineSnapshot
from controller.line.views import (
    ChuteState,
    ThroughputMeter,
    chute_fill,
    chute_routes,
    chute_state,
    terminal_count,
)

__all__ = [
    "Backoff",
    "ChuteState",
    "LineController",
    "LineSnapshot",
    "LinkState",
    "ThroughputMeter",
    "chute_fill",
    "chute_routes",
    "chute_state",
    "terminal_count",
]

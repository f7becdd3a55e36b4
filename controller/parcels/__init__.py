"""Parcels: the pure logic of one parcel's pass over the line. No I/O, no event loop.

Owns the decision (:mod:`~controller.parcels.decision`: barcode -> route -> chute, or a
typed reject reason), the parcel state machine and tracker
(:mod:`~controller.parcels.state`: one terminal state per parcel), the label rules and
the GS1 parser (:mod:`~controller.parcels.labels`, :mod:`~controller.parcels.gs1`), the
measurement policy (:mod:`~controller.parcels.measurement`), incident policies
(:mod:`~controller.parcels.incidents`) and the restart recovery of parcels an earlier run
left on the belt (:mod:`~controller.parcels.resume`).

May use: :mod:`controller.errors`, ``plc_configs`` (the config schema). Nothing that
does I/O: no SQLite, sockets, asyncio, drivers or other controller packages (checked by
import-linter). Everything here is tested without an event loop.
"""

from controller.parcels.decision import (
    Decision,
    Identification,
    RejectReason,
    RouteLookup,
    SortPlan,
    decide,
)
from controller.parcels.gs1 import Gs1Error, parse_gs1
from controller.parcels.incidents import IncidentResponse, respond
from controller.parcels.labels import LabelRules
from controller.parcels.measurement import Measurement, check_measurement, volumetric_kg
from controller.parcels.resume import OpenRecord, remember_finished, resume_open
from controller.parcels.state import (
    KEEP_TERMINAL,
    TERMINAL_STATES,
    Parcel,
    ParcelEvent,
    ParcelState,
    ParcelTracker,
)

__all__ = [
    "KEEP_TERMINAL",
    "TERMINAL_STATES",
    "Decision",
    "Gs1Error",
    "Identification",
    "IncidentResponse",
    "LabelRules",
    "Measurement",
    "OpenRecord",
    "Parcel",
    "ParcelEvent",
    "ParcelState",
    "ParcelTracker",
    "RejectReason",
    "RouteLookup",
    "SortPlan",
    "check_measurement",
    "decide",
    "parse_gs1",
    "remember_finished",
    "respond",
    "resume_open",
    "volumetric_kg",
]

"""What the line publishes over Sparkplug: devices, metric names, datatypes and values.

Pure: a :class:`~controller.line.LineSnapshot` in, values out. Devices: ``line`` (state,
throughput, totals, alarms, answer time), ``chute-N`` per sort chute (enabled, full,
count, state) and one per field device link (connected, last error; while its link is down
the device is dead: its DDEATH, then its DBIRTH when the link is back). The edge node
itself carries the writable ``Line Control/Start`` and ``Line Control/Stop``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from controller.line.views import chute_state
from drivers.sparkplug.codec import DataType, Value

if TYPE_CHECKING:
    from controller.line.snapshot import LineSnapshot

LINE = "line"
START = "Line Control/Start"
STOP = "Line Control/Stop"
ENABLED = "Enabled"

NODE_METRICS: dict[str, DataType] = {START: DataType.BOOLEAN, STOP: DataType.BOOLEAN}
"""The edge node's own metrics (beside bdSeq and Node Control/Rebirth); writable."""

LINE_METRICS: dict[str, DataType] = {
    "State": DataType.STRING,
    "Conveyor Running": DataType.BOOLEAN,
    "Heartbeat OK": DataType.BOOLEAN,
    "Throughput per h": DataType.DOUBLE,
    "Parcels/Sorted": DataType.INT64,
    "Parcels/Rejected": DataType.INT64,
    "Parcels/Lost": DataType.INT64,
    "Parcels/On Belt": DataType.INT32,
    "Alarms/Active": DataType.INT32,
    "Answer p99 ms": DataType.DOUBLE,
    "Sort Plan Version": DataType.INT32,
}
CHUTE_METRICS: dict[str, DataType] = {
    ENABLED: DataType.BOOLEAN,
    "Full": DataType.BOOLEAN,
    "Count": DataType.INT64,
    "State": DataType.STRING,
}
FIELD_METRICS: dict[str, DataType] = {
    "Connected": DataType.BOOLEAN,
    "Address": DataType.STRING,
    "Last Error": DataType.STRING,
}


def chute_device(chute: int) -> str:
    """The device id of sort chute ``chute``."""
    return f"chute-{chute}"


def chute_of(device: str | None) -> int | None:
    """The chute number of a ``chute-N`` device id, else None."""
    if device is None or not device.startswith("chute-"):
        return None
    number = device.removeprefix("chute-")
    return int(number) if number.isdigit() else None


def field_device(name: str) -> str:
    """The device id of a field device (``+ / #`` cannot be in a Sparkplug id)."""
    return "".join("_" if c in "+/#" else c for c in name) or "_"


def line_values(snap: LineSnapshot, throughput: float) -> dict[str, Value]:
    """The ``line`` device's values."""
    counts = snap.counts
    return {
        "State": snap.packml_state.name if snap.packml_state is not None else "UNKNOWN",
        "Conveyor Running": snap.conveyor_running,
        "Heartbeat OK": snap.heartbeat_ok,
        "Throughput per h": float(throughput),
        "Parcels/Sorted": counts.get("sorted", 0),
        "Parcels/Rejected": counts.get("rejected", 0),
        "Parcels/Lost": counts.get("lost", 0),
        "Parcels/On Belt": snap.on_belt,
        "Alarms/Active": len(snap.alarms),
        "Answer p99 ms": float(snap.answer_p99_ms) if snap.answer_p99_ms is not None else None,
        "Sort Plan Version": snap.plan_version,
    }


def chute_values(
    snap: LineSnapshot, chutes: Iterable[int], disabled_by_host: frozenset[int]
) -> dict[str, dict[str, Value]]:
    """Each ``chute-N`` device's values."""
    return {
        chute_device(chute): {
            ENABLED: chute not in disabled_by_host,
            "Full": chute in snap.chute_full,
            "Count": snap.per_chute.get(chute, 0),
            "State": chute_state(chute, snap, disabled_by_host).word,
        }
        for chute in chutes
    }


def field_online(snap: LineSnapshot) -> dict[str, bool]:
    """Each field device's link up or not, by device id (down: its DDEATH)."""
    return {field_device(link.device): link.up for link in snap.links}


def field_values(snap: LineSnapshot) -> dict[str, dict[str, Value]]:
    """Each field device's values, by device id."""
    return {
        field_device(link.device): {
            "Connected": link.up,
            "Address": link.address,
            "Last Error": link.last_error,
        }
        for link in snap.links
    }

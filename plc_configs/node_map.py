"""The sorter PLC's OPC UA node map: one model shared by the OPC UA driver and simulator.

The handshake is the Modbus one (see :mod:`plc_configs.register_map`), carried by typed
OPC UA variables instead of registers. Each entry names one variable, either

* as a **browse path** relative to ``root`` (``"PackTags/StateCurrent"``), every element
  in ``namespace_uri`` unless it carries its own ``"<uri-index>:"`` prefix (``"0:Name"``), or
* as a **node id** in ``namespace_uri``: ``s=…``, ``i=…``, ``g=…`` or ``b=…`` (a Siemens
  S7-1500 names its variables ``s="DB_Sorter"."Heartbeat"``).

The namespace is named by its URI, never by its index: a PLC may renumber namespaces
after a download, and the driver looks the index up at every connect.

Values that must change together are one variable, so a client never sees half of a
change (one variable is sampled consistently; two are not):

===================== ============ ===========================================================
entry                 type         meaning
===================== ============ ===========================================================
plc.heartbeat         UInt16       the PLC's life counter
plc.packml_state      Int32        PackTags ``StateCurrent`` (ISA-TR88 numbers)
plc.conveyor_running  Boolean      the sorter belt runs
plc.request           UInt32[2]    destination request: sequence number, tracking id
plc.scan_ring         UInt32[1+n]  write index, then n tracking ids
plc.confirm_ring      UInt32[1+3n] write index, then n × (tracking id, chute, SortResult)
plc.fault_word        UInt16       :class:`~plc_configs.contract.PlcFault` bits
plc.pending_requests  UInt16       requests queued behind the mailbox
plc.chute_full        Boolean[c]   chute ``k`` full is element ``k - 1``
plc.chute_disabled    Boolean[c]   chute ``k`` disabled (by the PLC or at our request)
host.heartbeat        UInt16       our life counter
host.command          Int32[2]     PackTags ``CntrlCmd``, command sequence number
host.answer           UInt32[3]    sequence number, tracking id, chute (one write)
host.scan_read_index  UInt16       scan ring entries before this index are recorded
host.confirm_read_index UInt16     confirmation ring entries before this index are recorded
host.chute_disable_request Boolean[c] chutes the controller wants disabled
===================== ============ ===========================================================

Ring sizes and the chute count are the arrays' lengths, read at connect.
"""

from __future__ import annotations

import re
from enum import Enum

from pydantic import Field, field_validator

from plc_configs.base import Strict

_NODE_ID = re.compile(r"^[isgb]=.+")


class NodeType(Enum):
    """The OPC UA built-in type of a node-map variable (names as asyncua's VariantType)."""

    BOOLEAN = "Boolean"
    UINT16 = "UInt16"
    INT32 = "Int32"
    UINT32 = "UInt32"


def is_node_id(entry: str) -> bool:
    """True when ``entry`` is a node id (``s=…``, ``i=…``, ``g=…``, ``b=…``), not a path."""
    return bool(_NODE_ID.match(entry))


def _check_entry(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("expected a browse path (Name/Name) or a node id (s=…, i=…)")
    if not is_node_id(value) and any(not part for part in value.split("/")):
        raise ValueError(f"{value!r}: empty element in the browse path")
    return value


class _Entries(Strict):
    """Entries are browse paths or node ids, checked when the config is loaded."""

    @field_validator("*")
    @classmethod
    def _entry(cls, value: str) -> str:
        return _check_entry(value)


class PlcNodes(_Entries):
    """Variables the PLC writes (the controller subscribes to them)."""

    heartbeat: str = "Heartbeat"
    packml_state: str = "PackTags/StateCurrent"
    conveyor_running: str = "ConveyorRunning"
    request: str = "Request"
    scan_ring: str = "ScanRing"
    confirm_ring: str = "ConfirmRing"
    fault_word: str = "FaultWord"
    pending_requests: str = "PendingRequests"
    chute_full: str = "ChuteFull"
    chute_disabled: str = "ChuteDisabled"


class HostNodes(_Entries):
    """Variables the controller writes."""

    heartbeat: str = "Host/Heartbeat"
    command: str = "Host/Command"
    answer: str = "Host/Answer"
    scan_read_index: str = "Host/ScanReadIndex"
    confirm_read_index: str = "Host/ConfirmReadIndex"
    chute_disable_request: str = "Host/ChuteDisableRequest"


PLC_TYPES: dict[str, NodeType] = {
    "heartbeat": NodeType.UINT16,
    "packml_state": NodeType.INT32,
    "conveyor_running": NodeType.BOOLEAN,
    "request": NodeType.UINT32,
    "scan_ring": NodeType.UINT32,
    "confirm_ring": NodeType.UINT32,
    "fault_word": NodeType.UINT16,
    "pending_requests": NodeType.UINT16,
    "chute_full": NodeType.BOOLEAN,
    "chute_disabled": NodeType.BOOLEAN,
}
"""Every PLC entry's type (arrays: the element type)."""

HOST_TYPES: dict[str, NodeType] = {
    "heartbeat": NodeType.UINT16,
    "command": NodeType.INT32,
    "answer": NodeType.UINT32,
    "scan_read_index": NodeType.UINT16,
    "confirm_read_index": NodeType.UINT16,
    "chute_disable_request": NodeType.BOOLEAN,
}
"""Every host entry's type (arrays: the element type)."""

CONFIRM_ENTRY = 3
"""Values per confirmation ring entry: tracking id, chute, result."""


class NodeMap(Strict):
    """The whole map. The defaults are the node map of the demo line's PLC program."""

    namespace_uri: str = Field(
        "urn:lanesort:demo-sorter-plc",
        min_length=1,
        description="the PLC's namespace for the sorter variables (looked up by URI)",
    )
    root: str = Field(
        "Sorter",
        description="browse path from the Objects folder to the sorter object "
        "(browse-path entries are relative to it); empty = the Objects folder",
    )
    plc: PlcNodes = PlcNodes()
    host: HostNodes = HostNodes()

    def entries(self) -> dict[str, str]:
        """Every entry as ``"plc.heartbeat" -> "Heartbeat"`` (PLC entries first)."""
        return {
            **{f"plc.{k}": v for k, v in self.plc.model_dump().items()},
            **{f"host.{k}": v for k, v in self.host.model_dump().items()},
        }

    def path_elements(self, entry: str) -> list[str]:
        """The browse names from the Objects folder to a browse-path ``entry``."""
        root = [p for p in self.root.split("/") if p]
        return root + entry.split("/")

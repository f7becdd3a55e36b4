"""A fast start for asyncua servers: the standard address space built once per process.

Every LaneSort OPC UA server (the controller's own, the PLC and device simulators) starts
from asyncua's ~6000 standard nodes. Building them from generated code takes about 2 s on
a slow box, on the event loop; copying the first build takes a tenth of that. It lives
in ``plc_configs`` because the controller and the simulators both use it and may not
import each other.
"""

from __future__ import annotations

import copy
import gc
from typing import Any

from asyncua import ua
from asyncua.server.address_space import AttributeValue, NodeData
from asyncua.server.internal_server import InternalServer

_SHARED_VALUES = (int, bool, str, bytes, type(None), ua.NodeId, ua.QualifiedName, ua.LocalizedText)
_standard_space: dict[ua.NodeId, NodeData] | None = None


def _copy_nodes(nodes: dict[ua.NodeId, NodeData]) -> dict[ua.NodeId, NodeData]:
    """Nodes that share nothing mutable with ``nodes`` (scalar values are immutable)."""
    enabled = gc.isenabled()
    gc.disable()  # ~60 000 new objects: collections on the way only cost time
    try:
        return _copy_nodes_now(nodes)
    finally:
        if enabled:
            gc.enable()


def _copy_nodes_now(nodes: dict[ua.NodeId, NodeData]) -> dict[ua.NodeId, NodeData]:
    out: dict[ua.NodeId, NodeData] = {}
    for nodeid, data in nodes.items():
        new = NodeData(nodeid)
        for attr, held in data.attributes.items():
            value = held.value
            if (
                value is not None
                and value.Value is not None
                and not isinstance(value.Value.Value, _SHARED_VALUES)
            ):
                value = copy.deepcopy(value)
            new.attributes[attr] = AttributeValue(value)
        new.references = list(data.references)
        new.call = data.call
        out[nodeid] = new
    return out


def fast_standard_space(iserver: InternalServer) -> None:
    """Make ``iserver`` copy the standard address space built once per process.

    asyncua builds its ~6000 standard nodes from generated code on every ``init()``
    (about 2 s on a slow CI box); a copy of the first build takes a tenth of that. This
    replaces one bound method on this instance only; asyncua 2.1 internals
    (``aspace._nodes``, ``NodeData``) are used, so a change there shows up in the tests.
    """

    async def load(shelf_file: Any = None) -> None:
        global _standard_space
        if _standard_space is None:
            await InternalServer.load_standard_address_space(iserver, shelf_file)
            _standard_space = _copy_nodes(iserver.aspace._nodes)
        else:
            iserver.aspace._nodes.update(_copy_nodes(_standard_space))

    iserver.load_standard_address_space = load  # type: ignore[method-assign]

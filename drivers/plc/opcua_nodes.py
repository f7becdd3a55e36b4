"""Finding the node map's variables on a PLC's OPC UA server, and checking their shapes.

Browse-path entries are resolved in one TranslateBrowsePathsToNodeIds request; node-id
entries are taken as they are, in the map's namespace. Anything missing or of the
wrong shape is a :class:`~drivers.errors.ProtocolError` naming the node-map entry, so
an integrator sees at connect which line of the config does not match the PLC program.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asyncua import Client, ua

from drivers.errors import ProtocolError
from plc_configs.node_map import CONFIRM_ENTRY, NodeMap, is_node_id

_MIN_RING = 2


@dataclass
class ResolvedNodes:
    """The node ids of every node-map entry, and the sizes their arrays turned out to have."""

    name: str
    address: str
    plc: dict[str, ua.NodeId]
    host: dict[str, ua.NodeId]
    scan_size: int = 0
    confirm_size: int = 0
    chute_count: int = 0
    paths: dict[str, str] = field(default_factory=dict)

    @property
    def plc_keys(self) -> list[str]:
        """PLC entry names, in subscription order."""
        return list(self.plc)

    @property
    def plc_ids(self) -> list[ua.NodeId]:
        """PLC node ids, in :attr:`plc_keys` order."""
        return list(self.plc.values())

    @property
    def host_keys(self) -> list[str]:
        """Host entry names."""
        return list(self.host)

    @property
    def host_ids(self) -> list[ua.NodeId]:
        """Host node ids, in :attr:`host_keys` order."""
        return list(self.host.values())

    def _fail(self, entry: str, problem: str) -> ProtocolError:
        where = self.paths.get(entry, "")
        return ProtocolError(self.name, self.address, f"node_map.{entry} ({where}): {problem}")

    def _array(self, values: dict[str, Any], area: str, key: str, length: int | None) -> list:
        value = values[key]
        if not isinstance(value, list):
            raise self._fail(f"{area}.{key}", f"expected an array, found {value!r}")
        if length is not None and len(value) != length:
            raise self._fail(f"{area}.{key}", f"expected {length} elements, found {len(value)}")
        return value

    def check_shapes(self, plc: dict[str, Any], host: dict[str, Any]) -> None:
        """Check arrays against the contract; learn ring sizes and the chute count."""
        self._array(plc, "plc", "request", 2)
        self._array(host, "host", "answer", 3)
        self._array(host, "host", "command", 2)
        scan = self._array(plc, "plc", "scan_ring", None)
        confirm = self._array(plc, "plc", "confirm_ring", None)
        if len(scan) < 1 + _MIN_RING:
            raise self._fail("plc.scan_ring", f"expected 1 + n >= 3 elements, found {len(scan)}")
        if len(confirm) < 1 + _MIN_RING * CONFIRM_ENTRY or (len(confirm) - 1) % CONFIRM_ENTRY:
            raise self._fail(
                "plc.confirm_ring",
                f"expected 1 + 3n elements (n >= 2), found {len(confirm)}",
            )
        self.scan_size = len(scan) - 1
        self.confirm_size = (len(confirm) - 1) // CONFIRM_ENTRY
        chutes = len(self._array(plc, "plc", "chute_full", None))
        self._array(plc, "plc", "chute_disabled", chutes)
        self._array(host, "host", "chute_disable_request", chutes)
        self.chute_count = chutes
        for area, values in (("plc", plc), ("host", host)):
            for key, value in values.items():
                if value is None:
                    raise self._fail(f"{area}.{key}", "the variable has no value")


def _path(elements: list[str], ns: int) -> ua.RelativePath:
    path = ua.RelativePath()
    for element in elements:
        index, _, name = element.rpartition(":")
        qualified = ua.QualifiedName(name, int(index) if index.isdigit() else ns)
        path.Elements.append(
            ua.RelativePathElement(
                ReferenceTypeId=ua.NodeId(ua.ObjectIds.HierarchicalReferences),
                IsInverse=False,
                IncludeSubtypes=True,
                TargetName=qualified,
            )
        )
    return path


async def resolve_nodes(
    client: Client, node_map: NodeMap, name: str, address: str
) -> ResolvedNodes:
    """Every entry of ``node_map`` as a node id on the server ``client`` is connected to."""
    namespaces = await client.get_namespace_array()
    if node_map.namespace_uri not in namespaces:
        raise ProtocolError(
            name,
            address,
            f"node_map.namespace_uri {node_map.namespace_uri!r} is not on the server; "
            f"it has {namespaces}",
        )
    ns = namespaces.index(node_map.namespace_uri)
    entries = node_map.entries()
    ids: dict[str, ua.NodeId] = {}
    paths: dict[str, str] = {}
    browse: list[tuple[str, ua.BrowsePath]] = []
    for key, entry in entries.items():
        if is_node_id(entry):
            ids[key] = ua.NodeId.from_string(f"ns={ns};{entry}")
            paths[key] = f"ns={ns};{entry}"
        else:
            elements = node_map.path_elements(entry)
            paths[key] = "Objects/" + "/".join(elements)
            bp = ua.BrowsePath(
                StartingNode=ua.NodeId(ua.ObjectIds.ObjectsFolder), RelativePath=_path(elements, ns)
            )
            browse.append((key, bp))
    if browse:
        results = await client.uaclient.translate_browsepaths_to_nodeids([b for _, b in browse])
        for (key, _), result in zip(browse, results, strict=True):
            if not result.StatusCode.is_good() or not result.Targets:
                raise ProtocolError(
                    name,
                    address,
                    f"node_map.{key}: {paths[key]} not found in namespace "
                    f"{node_map.namespace_uri} ({result.StatusCode.name})",
                )
            target = result.Targets[0].TargetId
            ids[key] = ua.NodeId(target.Identifier, target.NamespaceIndex)
    plc = {k.split(".", 1)[1]: v for k, v in ids.items() if k.startswith("plc.")}
    host = {k.split(".", 1)[1]: v for k, v in ids.items() if k.startswith("host.")}
    return ResolvedNodes(name, address, plc, host, paths=paths)

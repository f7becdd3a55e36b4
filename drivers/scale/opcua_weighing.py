"""A scale speaking OPC UA for Weighing (OPC 40200) over ``opc.tcp``, via asyncua.

The companion nodeset of OPC 40200 is not available offline, so the driver reads a
modelled subset in the Scales namespace ``http://opcfoundation.org/UA/Scales/V2/``
(``n`` = its index, looked up on the server at connect). Browse paths, relative to the
scale object::

    n:CurrentWeight                     Double, the displayed weight
    n:CurrentWeight/n:Gross             Double, in Unit        (required)
    n:CurrentWeight/n:Net               Double, in Unit        (required)
    n:CurrentWeight/n:Tare              Double, in Unit        (required)
    n:CurrentWeight/n:WeightStable      Boolean                (required)
    n:CurrentWeight/n:Unit              String kg | g | lb | oz | t   (default kg)
    n:CurrentWeight/n:PrintableValue    String, ``12.345 kg``  (optional)
    n:CurrentWeight/n:Overload, n:Underload, n:CenterOfZero       Boolean (default False)
    n:CurrentWeight/n:LegalForTrade     Boolean (missing: not legal for trade)
    n:SetZero, n:SetTare, n:ClearTare   Methods without arguments; Bad status = refused

The scale object is ``node`` if given, either a node id (``ns=2;s=Scale1``,
``nsu=http://opcfoundation.org/UA/Scales/V2/;s=Scale1``) or a browse path from the
Objects folder (``Objects/2:Scale1``, ``Scale1``; a name without ``n:`` is taken in the
Scales namespace). Without ``node``: the first object under Objects, in the Scales
namespace, that has a ``CurrentWeight``.

One :meth:`OpcUaWeighingScale.read_now` is one Read service call of all the variables,
so the numbers and flags come from the same snapshot. ``kg`` is converted exactly with
:class:`~decimal.Decimal` from the shortest repr of the double; ``value``/``unit`` are the
device's ``PrintableValue`` as printed (checked against the doubles: a disagreement is a
:class:`~drivers.errors.ProtocolError`, since the billed weight would be ambiguous).
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from asyncua import Client, Node, ua
from asyncua.ua.status_codes import get_name_and_doc
from asyncua.ua.uaerrors import UaError, UaStatusCodeError

from drivers.errors import ConnectionLost, DeviceFault, DeviceTimeout, ProtocolError
from drivers.opcua_client import OpcuaDevice
from drivers.scale.base import Weight, WeightMode
from drivers.units import KG_PER, to_kg

log = logging.getLogger(__name__)

SCALES_NS = "http://opcfoundation.org/UA/Scales/V2/"
KG_PER_UNIT = KG_PER
REQUIRED = ("Gross", "Net", "Tare", "WeightStable")
OPTIONAL = ("Unit", "PrintableValue", "Overload", "Underload", "CenterOfZero", "LegalForTrade")
METHODS = ("SetZero", "SetTare", "ClearTare")
_PRINTED = re.compile(r"([-+]?\d+(?:\.\d+)?)\s*([A-Za-z]+)")
_NODE_ID = re.compile(r"^(ns=\d+;|nsu=[^;]+;)?[isgb]=")

T = TypeVar("T")


def exact_decimal(value: float) -> Decimal:
    """The double as the shortest decimal that reads back as it (``12.345``, not 12.3449…)."""
    return Decimal(repr(float(value)))


def status_name(err: UaStatusCodeError) -> str:
    """``BadInvalidState`` for an asyncua status error."""
    return get_name_and_doc(err.code)[0]


@dataclass(frozen=True, slots=True)
class WeighingSnapshot:
    """The CurrentWeight variables as read in one Read call (device unit)."""

    gross: float
    net: float
    tare: float
    unit: str
    printable: str
    stable: bool
    overload: bool
    underload: bool
    center_of_zero: bool
    legal_for_trade: bool

    @property
    def raw(self) -> str:
        """The printable text followed by every value read, for the journal."""
        return (
            f"{self.printable} [Gross={self.gross!r} Net={self.net!r} Tare={self.tare!r} "
            f"Unit={self.unit} WeightStable={self.stable} Overload={self.overload} "
            f"Underload={self.underload} CenterOfZero={self.center_of_zero} "
            f"LegalForTrade={self.legal_for_trade}]"
        )


def _browse_path(start: ua.NodeId, names: list[ua.QualifiedName]) -> ua.BrowsePath:
    path = ua.BrowsePath()
    path.StartingNode = start
    relative = ua.RelativePath()
    for name in names:
        element = ua.RelativePathElement()
        element.ReferenceTypeId = ua.NodeId(ua.ObjectIds.HierarchicalReferences)
        element.IsInverse = False
        element.IncludeSubtypes = True
        element.TargetName = name
        relative.Elements.append(element)
    path.RelativePath = relative
    return path


class OpcUaWeighingScale(OpcuaDevice):
    """An OPC 40200 scale at ``opc.tcp://HOST:PORT[/path]``; implements ``Scale``.

    ``timeout_s`` bounds every read and method call (and :meth:`read_stable`'s wait for
    stability unless ``stable_timeout_s`` is given); ``connect_timeout_s`` bounds the
    whole connect (socket, secure channel, session, browsing).
    """

    model = "the scale model"

    def __init__(
        self,
        name: str,
        url: str,
        node: str | None = None,
        timeout_s: float = 0.3,
        *,
        stable_timeout_s: float | None = None,
        poll_s: float = 0.02,
        connect_timeout_s: float = 3.0,
    ):
        super().__init__(name, url, node, timeout_s, connect_timeout_s)
        self.stable_timeout_s = timeout_s if stable_timeout_s is None else stable_timeout_s
        self.poll_s = poll_s
        self.scale_node: ua.NodeId | None = None
        self._vars: dict[str, Node] = {}
        self._methods: dict[str, ua.NodeId] = {}

    def _forget(self) -> None:
        self._vars = {}
        self._methods = {}

    async def _discover(self, client: Client) -> None:
        try:
            self.ns = await client.get_namespace_index(SCALES_NS)
        except ValueError as err:
            raise ProtocolError(
                self.name, self.address, f"server has no namespace {SCALES_NS}"
            ) from err
        scale = await self._find_scale(client)
        self.scale_node = scale
        qn = self._qn
        wanted: dict[str, list[ua.QualifiedName]] = {
            key: [qn("CurrentWeight"), qn(key)] for key in (*REQUIRED, *OPTIONAL)
        }
        wanted.update({m: [qn(m)] for m in METHODS})
        found = await self._translate(client, scale, wanted)
        missing = [f"CurrentWeight/{k}" for k in REQUIRED if k not in found]
        if missing:
            raise ProtocolError(
                self.name, self.address, f"scale {scale.to_string()} lacks {', '.join(missing)}"
            )
        self._vars = {k: client.get_node(found[k]) for k in (*REQUIRED, *OPTIONAL) if k in found}
        self._methods = {m: found[m] for m in METHODS if m in found}

    def _qn(self, name: str) -> ua.QualifiedName:
        return ua.QualifiedName(name, self.ns)

    async def _translate(
        self, client: Client, start: ua.NodeId, wanted: dict[str, list[ua.QualifiedName]]
    ) -> dict[str, ua.NodeId]:
        """Resolve several browse paths in one TranslateBrowsePaths call; absent keys: none."""
        keys = list(wanted)
        results = await client.uaclient.translate_browsepaths_to_nodeids(
            [_browse_path(start, wanted[k]) for k in keys]
        )
        found: dict[str, ua.NodeId] = {}
        for key, result in zip(keys, results, strict=True):
            if result.StatusCode.is_good() and result.Targets:
                target = result.Targets[0].TargetId
                found[key] = ua.NodeId(target.Identifier, target.NamespaceIndex, target.NodeIdType)
        return found

    async def _find_scale(self, client: Client) -> ua.NodeId:
        objects = ua.NodeId(ua.ObjectIds.ObjectsFolder)
        if self.node is not None and _NODE_ID.match(self.node):
            try:
                nodeid = ua.NodeId.from_string(self.node)
            except (ValueError, UaError) as err:
                raise ProtocolError(self.name, self.address, f"bad node id {self.node!r}") from err
            index = nodeid.NamespaceIndex
            uri = getattr(nodeid, "NamespaceUri", None)  # nsu=… parses as an ExpandedNodeId
            if uri:
                try:
                    index = await client.get_namespace_index(uri)
                except ValueError as err:
                    raise ProtocolError(
                        self.name, self.address, f"server has no namespace {uri}"
                    ) from err
            return ua.NodeId(nodeid.Identifier, index, nodeid.NodeIdType)
        if self.node is not None:
            names = self._parse_path(self.node)
            found = await self._translate(client, objects, {"scale": names})
            if "scale" not in found:
                raise ProtocolError(
                    self.name, self.address, f"no scale object at browse path {self.node!r}"
                )
            return found["scale"]
        refs = await client.get_node(objects).get_children_descriptions()
        candidates = {
            str(i): ref.NodeId
            for i, ref in enumerate(refs)
            if ref.BrowseName.NamespaceIndex == self.ns and ref.NodeClass == ua.NodeClass.Object
        }
        found = {}
        if candidates:
            found = await self._translate(
                client,
                objects,
                {key: [refs[int(key)].BrowseName, self._qn("CurrentWeight")] for key in candidates},
            )
        for key, nodeid in candidates.items():
            if key in found:
                return ua.NodeId(nodeid.Identifier, nodeid.NamespaceIndex, nodeid.NodeIdType)
        raise ProtocolError(
            self.name, self.address, f"no object with a CurrentWeight in {SCALES_NS} under Objects"
        )

    def _parse_path(self, path: str) -> list[ua.QualifiedName]:
        """``Objects/2:Scale1`` → [2:Scale1] (relative to Objects); bare names: Scales ns."""
        names = []
        for i, part in enumerate(p for p in path.strip("/").split("/") if p):
            if i == 0 and part in ("Objects", "0:Objects"):
                continue
            index, sep, name = part.partition(":")
            if sep and index.isdigit():
                names.append(ua.QualifiedName(name, int(index)))
            else:
                names.append(self._qn(part))
        if not names:
            raise ProtocolError(self.name, self.address, f"empty browse path {path!r}")
        return names

    # -- requests -------------------------------------------------------------------

    def _require_client(self) -> Client:
        if self._client is None:
            raise ConnectionLost(self.name, self.address, "not connected")
        return self._client

    async def _request(self, what: str, awaitable: Awaitable[T]) -> T:
        """Await one request within ``timeout_s``, mapping asyncua and OS errors."""
        try:
            async with asyncio.timeout(self.timeout_s):
                return await awaitable
        except TimeoutError as err:
            raise DeviceTimeout(
                self.name, self.address, f"no answer to {what} in {self.timeout_s * 1000:.0f} ms"
            ) from err
        except UaStatusCodeError as err:
            raise DeviceFault(
                self.name, self.address, f"{what} refused: {status_name(err)}"
            ) from err
        except OSError as err:
            raise ConnectionLost(self.name, self.address, f"{what}: link lost: {err!r}") from err
        except UaError as err:
            raise ProtocolError(self.name, self.address, f"{what}: {err!r}") from err

    async def read_snapshot(self) -> WeighingSnapshot:
        """All CurrentWeight variables in one Read call, unconverted."""
        client = self._require_client()
        keys = list(self._vars)
        values = await self._request(
            "Read CurrentWeight", client.read_attributes([self._vars[k] for k in keys])
        )
        got: dict[str, Any] = {}
        for key, dv in zip(keys, values, strict=True):
            status = dv.StatusCode
            if status is not None and not status.is_good():
                raise DeviceFault(
                    self.name, self.address, f"CurrentWeight/{key} read {status.name}"
                )
            got[key] = dv.Value.Value if dv.Value is not None else None
        return WeighingSnapshot(
            gross=self._double(got, "Gross"),
            net=self._double(got, "Net"),
            tare=self._double(got, "Tare"),
            unit=self._text(got, "Unit", "kg"),
            printable=self._text(got, "PrintableValue", ""),
            stable=self._flag(got, "WeightStable", False),
            overload=self._flag(got, "Overload", False),
            underload=self._flag(got, "Underload", False),
            center_of_zero=self._flag(got, "CenterOfZero", False),
            legal_for_trade=self._flag(got, "LegalForTrade", False),
        )

    def _double(self, got: dict[str, Any], key: str) -> float:
        value = got.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ProtocolError(self.name, self.address, f"{key} is not a number: {value!r}")
        if not math.isfinite(value):
            raise ProtocolError(self.name, self.address, f"{key} is not finite: {value!r}")
        return float(value)

    def _text(self, got: dict[str, Any], key: str, default: str) -> str:
        value = got.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise ProtocolError(self.name, self.address, f"{key} is not a string: {value!r}")
        return value

    def _flag(self, got: dict[str, Any], key: str, default: bool) -> bool:
        value = got.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ProtocolError(self.name, self.address, f"{key} is not a boolean: {value!r}")
        return value

    def _kg(self, value: Decimal, unit: str, raw: str) -> Decimal:
        try:
            return to_kg(value, unit)
        except KeyError:
            raise ProtocolError(
                self.name, self.address, f"unknown unit {unit!r} in {raw}"
            ) from None

    def to_weight(self, snap: WeighingSnapshot) -> Weight:
        """The :class:`Weight` a snapshot shows; overload/underload raise ``DeviceFault``."""
        raw = snap.raw
        if snap.overload:
            raise DeviceFault(self.name, self.address, f"overload: {raw}")
        if snap.underload:
            raise DeviceFault(self.name, self.address, f"underload: {raw}")
        net_mode = snap.tare > 0
        shown = exact_decimal(snap.net if net_mode else snap.gross)
        kg = self._kg(shown, snap.unit, raw)
        value, unit = shown, snap.unit
        if snap.printable:
            match = _PRINTED.search(snap.printable)
            if match is None:
                raise ProtocolError(
                    self.name, self.address, f"unparseable PrintableValue {snap.printable!r}"
                )
            value, unit = Decimal(match.group(1)), match.group(2)
            if self._kg(value, unit, raw) != kg:
                raise ProtocolError(
                    self.name,
                    self.address,
                    f"PrintableValue disagrees with the {'Net' if net_mode else 'Gross'} "
                    f"double: {raw}",
                )
        flags = []
        if net_mode:
            flags.append("net")
        if not snap.stable:
            flags.append("motion")
        if snap.center_of_zero:
            flags.append("center_of_zero")
        if not snap.legal_for_trade:
            flags.append("not_legal_for_trade")
        return Weight(
            kg=kg,
            value=value,
            unit=unit,
            stable=snap.stable,
            mode=WeightMode.NET if net_mode else WeightMode.GROSS,
            legal_for_trade=snap.legal_for_trade and snap.stable,
            raw=raw,
            tare_kg=self._kg(exact_decimal(snap.tare), snap.unit, raw),
            flags=tuple(flags),
        )

    async def read_now(self) -> Weight:
        """The weight now, stable or not (``stable`` says which)."""
        return self.to_weight(await self.read_snapshot())

    async def read_stable(self) -> Weight:
        """Poll until WeightStable; ``DeviceFault`` if not stable within the stable timeout."""
        deadline = time.monotonic() + self.stable_timeout_s
        while True:
            weight = await self.read_now()
            if weight.stable:
                return weight
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceFault(
                    self.name,
                    self.address,
                    f"not stable within {self.stable_timeout_s * 1000:.0f} ms: {weight.raw}",
                )
            await asyncio.sleep(min(self.poll_s, remaining))

    async def _call(self, method: str) -> None:
        client = self._require_client()
        methodid = self._methods.get(method)
        if methodid is None or self.scale_node is None:
            raise DeviceFault(self.name, self.address, f"the scale has no {method} method")
        scale = client.get_node(self.scale_node)
        await self._request(method, scale.call_method(methodid))

    async def zero(self) -> None:
        """Call SetZero; a Bad status (in motion, out of zero range) raises ``DeviceFault``."""
        await self._call("SetZero")

    async def tare(self) -> Weight:
        """Call SetTare and return the tare the scale then reports (mode ``TARE``)."""
        await self._call("SetTare")
        snap = await self.read_snapshot()
        weight = self.to_weight(snap)
        value = exact_decimal(snap.tare)
        return Weight(
            kg=self._kg(value, snap.unit, snap.raw),
            value=value,
            unit=snap.unit,
            stable=snap.stable,
            mode=WeightMode.TARE,
            legal_for_trade=weight.legal_for_trade,
            raw=snap.raw,
            tare_kg=weight.tare_kg,
            flags=weight.flags,
        )

    async def clear_tare(self) -> None:
        """Call ClearTare."""
        await self._call("ClearTare")

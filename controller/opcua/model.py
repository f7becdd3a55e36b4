"""The line's address space on the OPC UA server, and refreshing its values.

Namespace ``urn:lanesort:line``. Every node id is a string built from its browse path
(``ns=<n>;s=Line.Chutes.Chute07.Count``), so the ids stay the same across restarts and
releases as long as the line's topology and devices do. Browse paths below ``Objects``::

    Line                               Object; emits the alarm events
      Name                             String
      PackML/                          Object: StateCurrent (Int32, PackTags number),
                                       BaseState, MachineState, ExecuteState (LocalizedText)
                                       and their ...Number (UInt32, OPC 30050 StateNumber);
                                       methods Reset Start Stop Hold Unhold Suspend
                                       Unsuspend Abort Clear (supervisors)
      Counters/                        Inducted Sorted Rejected Lost (UInt64), OnBelt (UInt32)
        RejectedByReason/<Reason>      UInt64, one per reject reason (NoRead, NoRoute ...)
      Throughput/                      ParcelsPerHour, AnswerP50Ms, AnswerP99Ms (Double)
      Chutes/ChuteNN/                  Id (UInt16), Route (String), Count, ContainerCount
                                       (UInt32), Fill (Double 0..1), State (String OK FULL
                                       OFF JAM), Enabled (Boolean); methods Enable, Disable
                                       on sort chutes (supervisors)
      Devices/<device>/                LinkUp (Boolean), Address, LastError (String),
                                       Since (DateTime)
      Alarms/                          ActiveCount (UInt32), Active (String[])
    Types: LineAlarmEventType          BaseEventType + AlarmKey, Device (String), Active

:meth:`LineModel.update` writes only the values that changed since the last update.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asyncua import Node, Server, ua

from controller.line import LineController, LineSnapshot, chute_fill, chute_routes, chute_state
from controller.opcua.packml import ua_state
from controller.parcels import RejectReason
from plc_configs.contract import PackMLCommand

NAMESPACE = "urn:lanesort:line"
EVENT_TYPE = "LineAlarmEventType"

MethodCallback = Callable[..., Awaitable[Any]]

#: The PackML methods on Line/PackML, named as OPC 30050 names them.
PACKML_METHODS = (
    ("Reset", PackMLCommand.RESET),
    ("Start", PackMLCommand.START),
    ("Stop", PackMLCommand.STOP),
    ("Hold", PackMLCommand.HOLD),
    ("Unhold", PackMLCommand.UNHOLD),
    ("Suspend", PackMLCommand.SUSPEND),
    ("Unsuspend", PackMLCommand.UNSUSPEND),
    ("Abort", PackMLCommand.ABORT),
    ("Clear", PackMLCommand.CLEAR),
)

V = ua.VariantType
_COUNTERS = (("Inducted", "inducted"), ("Sorted", "sorted"), ("Rejected", "rejected"))
_COUNTERS += (("Lost", "lost"),)
_NO_DATA = ua.StatusCode(ua.StatusCodes.BadWaitingForInitialData)


def reason_name(reason: RejectReason) -> str:
    """The browse name of a reject reason's counter: ``no_read`` -> ``NoRead``."""
    return "".join(part.title() for part in reason.value.split("_"))


def chute_name(chute: int) -> str:
    """The browse name of a chute's object: ``Chute07``."""
    return f"Chute{chute:02d}"


@dataclass(slots=True)
class _Var:
    node: ua.NodeId
    vtype: ua.VariantType
    last: Any


class LineModel:
    """The ``Line`` object tree of one server and the values last written to it."""

    def __init__(self, server: Server, ns: int, line: LineController):
        self.server = server
        self.ns = ns
        self.line = line
        self.vars: dict[str, _Var] = {}
        self.line_node: Node | None = None
        self.event_type: Node | None = None
        self.device_nodes: dict[str, ua.NodeId] = {}
        topo = line.config.topology
        self.chutes = (*topo.chutes, topo.reject_chute)

    def node_id(self, path: str) -> ua.NodeId:
        """The node id of a browse path (``Line.Chutes.Chute07.Count``)."""
        return ua.NodeId(path, self.ns)

    # -- building ---------------------------------------------------------------------------

    async def _object(
        self, parent: Node, path: str, description: str = "", name: str | None = None
    ) -> Node:
        """An object; its browse name is ``name`` or the last part of ``path``."""
        qname = ua.QualifiedName(name or _leaf(path), self.ns)
        node = await parent.add_object(self.node_id(path), qname)
        if description:
            await _describe(node, description)
        return node

    async def _var(
        self, parent: Node, path: str, vtype: ua.VariantType, value: Any, description: str = ""
    ) -> None:
        """A read-only variable whose value :meth:`update` refreshes."""
        node = await parent.add_variable(
            self.node_id(path), ua.QualifiedName(_leaf(path), self.ns), value, varianttype=vtype
        )
        if description:
            await _describe(node, description)
        self.vars[path] = _Var(node.nodeid, vtype, value)

    async def _method(self, parent: Node, path: str, call: MethodCallback, text: str) -> None:
        node = await parent.add_method(
            self.node_id(path), ua.QualifiedName(_leaf(path), self.ns), call, [], []
        )
        await _describe(node, text)

    async def build(
        self,
        command: Callable[[PackMLCommand], MethodCallback],
        switch_chute: Callable[[int, bool], MethodCallback],
    ) -> None:
        """Add the tree under Objects; ``command``/``switch_chute`` make the method callbacks."""
        objects = self.server.nodes.objects
        line = self.line_node = await self._object(objects, "Line", "the sort line")
        await self._var(line, "Line.Name", V.String, self.line.config.line.name)
        packml = await self._object(line, "Line.PackML", "PackML state (OPC 30050) and commands")
        await self._var(packml, "Line.PackML.StateCurrent", V.Int32, 0, "ISA-TR88 PackTags number")
        for machine in ("Base", "Machine", "Execute"):
            path = f"Line.PackML.{machine}State"
            await self._var(packml, path, V.LocalizedText, ua.LocalizedText(""))
            await self._var(packml, f"{path}Number", V.UInt32, 0, "OPC 30050 StateNumber")
        for name, cmd in PACKML_METHODS:
            await self._method(packml, f"Line.PackML.{name}", command(cmd), f"PackML {name}")
        counters = await self._object(line, "Line.Counters", "parcels this session")
        for name, _ in _COUNTERS:
            await self._var(counters, f"Line.Counters.{name}", V.UInt64, 0)
        await self._var(counters, "Line.Counters.OnBelt", V.UInt32, 0, "parcels being tracked")
        by_reason = await self._object(counters, "Line.Counters.RejectedByReason")
        for reason in RejectReason:
            path = f"Line.Counters.RejectedByReason.{reason_name(reason)}"
            await self._var(by_reason, path, V.UInt64, 0, reason.value)
        rate = await self._object(line, "Line.Throughput")
        await self._var(
            rate, "Line.Throughput.ParcelsPerHour", V.Double, 0.0, "finished over the last minute"
        )
        for q in ("50", "99"):
            text = f"destination answer latency, {q}th percentile of the last 5000, ms"
            await self._var(rate, f"Line.Throughput.AnswerP{q}Ms", V.Double, 0.0, text)
        await self._build_chutes(line, switch_chute)
        await self._build_devices(line)
        alarms = await self._object(line, "Line.Alarms", "active alarms, not shelved")
        await self._var(alarms, "Line.Alarms.ActiveCount", V.UInt32, 0)
        await self._var(alarms, "Line.Alarms.Active", V.String, [], "severity key: text")
        await self._build_event_type()

    async def _build_chutes(
        self, line: Node, switch_chute: Callable[[int, bool], MethodCallback]
    ) -> None:
        chutes = await self._object(line, "Line.Chutes", "every chute; the reject chute last")
        reject = self.line.config.topology.reject_chute.id
        for chute in self.chutes:
            base = f"Line.Chutes.{chute_name(chute.id)}"
            kind = "the reject chute" if chute.id == reject else f"sort chute {chute.id}"
            node = await self._object(chutes, base, kind)
            await self._var(node, f"{base}.Id", V.UInt16, chute.id)
            await self._var(node, f"{base}.Route", V.String, "", "routes of the sort plan")
            await self._var(node, f"{base}.Count", V.UInt32, 0, "parcels this session")
            await self._var(node, f"{base}.ContainerCount", V.UInt32, 0, "parcels in its container")
            fill = "0..1: parcels since the container was swapped over the chute's capacity"
            await self._var(node, f"{base}.Fill", V.Double, 0.0, fill)
            await self._var(node, f"{base}.State", V.String, "OK", "OK, FULL, OFF or JAM")
            await self._var(node, f"{base}.Enabled", V.Boolean, True)
            if chute.id != reject:
                for name, on in (("Enable", True), ("Disable", False)):
                    text = f"{name} the chute (supervisors)"
                    await self._method(node, f"{base}.{name}", switch_chute(chute.id, on), text)
            await asyncio.sleep(0)  # a big line: let the loop breathe between chutes

    async def _build_devices(self, line: Node) -> None:
        devices = await self._object(line, "Line.Devices", "every device link")
        for link in self.line.snapshot().links:
            base = f"Line.Devices.{link.device}"
            node = await self._object(devices, base, name=link.device)
            self.device_nodes[link.device] = node.nodeid
            await self._var(node, f"{base}.LinkUp", V.Boolean, False)
            await self._var(node, f"{base}.Address", V.String, link.address)
            await self._var(node, f"{base}.LastError", V.String, "")
            await self._var(node, f"{base}.Since", V.DateTime, datetime.now(UTC))

    async def _build_event_type(self) -> None:
        base = self.server.get_node(ua.NodeId(ua.ObjectIds.BaseEventType))
        etype = await base.add_object_type(
            self.node_id(EVENT_TYPE), ua.QualifiedName(EVENT_TYPE, self.ns)
        )
        for name, vtype, value in (
            ("AlarmKey", V.String, ""),
            ("Device", V.String, ""),
            ("Active", V.Boolean, False),
        ):
            await etype.add_property(
                self.node_id(f"{EVENT_TYPE}.{name}"), ua.QualifiedName(name, 0), value, vtype
            )
        self.event_type = etype

    # -- updating ---------------------------------------------------------------------------

    def values(self, snap: LineSnapshot, throughput: float) -> Iterator[tuple[str, Any]]:
        """(path, value) of every variable for ``snap``; None: no value yet."""
        line = self.line
        st = ua_state(snap.packml_state)
        yield "Line.PackML.StateCurrent", int(snap.packml_state or 0)
        for machine, name, number in (
            ("Base", st.base, st.base_number),
            ("Machine", st.machine, st.machine_number),
            ("Execute", st.execute, st.execute_number),
        ):
            yield f"Line.PackML.{machine}State", ua.LocalizedText(name)
            yield f"Line.PackML.{machine}StateNumber", number
        for name, key in _COUNTERS:
            yield f"Line.Counters.{name}", snap.counts.get(key, 0)
        yield "Line.Counters.OnBelt", snap.on_belt
        for reason in RejectReason:
            path = f"Line.Counters.RejectedByReason.{reason_name(reason)}"
            yield path, snap.reasons.get(reason.value, 0)
        yield "Line.Throughput.ParcelsPerHour", throughput
        yield "Line.Throughput.AnswerP50Ms", snap.answer_p50_ms
        yield "Line.Throughput.AnswerP99Ms", snap.answer_p99_ms
        routes = chute_routes(line.plan)
        by_host = line.plc.disabled_by_host
        for chute in self.chutes:
            cid, base = chute.id, f"Line.Chutes.{chute_name(chute.id)}"
            container = snap.containers.get(cid)
            yield f"{base}.Route", ",".join(routes.get(cid, ()))
            yield f"{base}.Count", snap.per_chute.get(cid, 0)
            yield f"{base}.ContainerCount", container.count if container is not None else 0
            yield f"{base}.Fill", round(chute_fill(chute, snap), 4)
            yield f"{base}.State", chute_state(cid, snap, by_host).word
            yield f"{base}.Enabled", cid not in snap.chute_disabled
        offset = line.journal.wall_offset
        for link in snap.links:
            base = f"Line.Devices.{link.device}"
            yield f"{base}.LinkUp", link.up
            yield f"{base}.Address", link.address
            yield f"{base}.LastError", link.last_error or ""
            yield f"{base}.Since", datetime.fromtimestamp(link.since + offset, UTC)
        active = [a for a in snap.alarms if a.condition_active]
        yield "Line.Alarms.ActiveCount", len(active)
        yield "Line.Alarms.Active", [f"{a.severity.value} {a.key}: {a.text}" for a in active]

    async def update(self, snap: LineSnapshot, throughput: float) -> int:
        """Write the values of ``snap`` that changed; how many were written."""
        now = datetime.now(UTC)
        write = self.server.iserver.aspace.write_attribute_value
        changed = 0
        for path, value in self.values(snap, throughput):
            var = self.vars.get(path)
            if var is None or var.last == value:
                continue
            var.last = value
            if value is None:
                data = ua.DataValue(StatusCode=_NO_DATA, SourceTimestamp=now, ServerTimestamp=now)
            else:
                data = ua.DataValue(
                    ua.Variant(value, var.vtype), SourceTimestamp=now, ServerTimestamp=now
                )
            await write(var.node, ua.AttributeIds.Value, data)
            changed += 1
        return changed


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1]


async def _describe(node: Node, text: str) -> None:
    await node.write_attribute(
        ua.AttributeIds.Description, ua.DataValue(ua.Variant(ua.LocalizedText(text)))
    )

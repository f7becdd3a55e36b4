"""The sorter PLC simulator over OPC UA: :class:`~simulators.plc_logic.PlcLogic` behind an
asyncua server laid out by the line config's ``node_map``.

The PLC program runs on its register memory exactly as in the Modbus simulator (a real
PLC's data block); this module shows that memory as the node map's typed variables
(see :mod:`plc_configs.node_map` for the table) and turns client writes of the host
variables into writes of the host registers. After every PLC step the variables that
changed are written in one go, without yielding to the event loop, so a publish
response never carries half of a change.

Security as a PLC offers it: Basic256Sha256 Sign and SignAndEncrypt with a certificate
made on first start under ``pki_dir`` (the line's data folder), and ``None`` only when
asked for. The simulator accepts any client certificate, as a PLC in commissioning mode
does ("accept client certificates automatically"), and logs each one.

Fault injection: those of :class:`~simulators.plc_base.PlcSimulatorBase`, plus
:meth:`OpcuaPlcSimulator.disconnect_clients` and :meth:`OpcuaPlcSimulator.restart_server`
(the OPC UA server goes away and comes back on the same port while the PLC keeps
running, as when a PLC's OPC UA server restarts or the network drops).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from asyncua import Server, ua
from asyncua.common.callback import CallbackType, ServerItemCallback

from plc_configs.contract import chute_bits_to_ids, chute_ids_to_bits, join_u32, split_u32
from plc_configs.node_map import HOST_TYPES, PLC_TYPES, NodeMap, is_node_id
from plc_configs.opcua_security import SecurityMode, secure_server
from plc_configs.schema import LineConfig
from simulators.opcua_server import new_server
from simulators.plc_base import PlcSimulatorBase
from simulators.twin import Event, EventKind, LineTwin

log = logging.getLogger(__name__)

APPLICATION_URI = "urn:lanesort:simulator:sorter-plc"


class OpcuaPlcSimulator(PlcSimulatorBase):
    """The sorter PLC as an OPC UA server over a line twin."""

    def __init__(
        self,
        config: LineConfig,
        twin: LineTwin,
        url: str,
        *,
        pki_dir: Path | None = None,
        security_modes: Sequence[SecurityMode] | None = None,
        tick_s: float = 0.001,
        clock: Callable[[], float] = time.perf_counter,
        fast_init: bool = True,
    ):
        super().__init__(config, twin, tick_s=tick_s, clock=clock)
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port if parts.port is not None else 4840
        self.path = parts.path or "/"
        self.map: NodeMap = config.node_map
        self.pki_dir = pki_dir
        modes = security_modes or config.simulation.plc.opcua_security
        self.security_modes = tuple(modes) if pki_dir is not None else ("None",)
        self.fast_init = fast_init
        self.server: Server | None = None
        self.ns = 0
        self._plc_ids: dict[str, ua.NodeId] = {}
        self._host_keys: dict[ua.NodeId, str] = {}
        self._published: dict[str, Any] = {}
        self._scan_changed_at: datetime | None = None
        self.chute_count = config.register_map.chute_words * 16
        self.writes = 0
        """Host variable writes applied to the PLC."""

    @property
    def url(self) -> str:
        """Where the server listens (the real port once started)."""
        return f"opc.tcp://{self.host}:{self.port}{self.path}"

    # -- life cycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Start the PLC program, build the address space and listen."""
        if self.logic is None:
            self._make_logic()
        await self._start_server()
        self._start_cycle()
        log.info("sorter PLC simulator (OPC UA) on %s", self.url)

    async def _start_server(self) -> None:
        server, self.ns = await new_server(
            self.url, "LaneSort sorter PLC simulator", self.map.namespace_uri, self.fast_init
        )
        await server.set_application_uri(APPLICATION_URI)
        if self.pki_dir is not None:
            await secure_server(
                server,
                pki_dir=self.pki_dir,
                application_uri=APPLICATION_URI,
                common_name="LaneSort sorter PLC simulator",
                modes=self.security_modes,
                trust_all_clients=True,
                log=log,
            )
        await self._build(server)
        server.subscribe_server_callback(CallbackType.PreRead, self._before_request)
        server.subscribe_server_callback(CallbackType.PreWrite, self._before_request)
        server.subscribe_server_callback(CallbackType.PostWrite, self._on_write)
        await server.start()
        if server.bserver is not None:
            self.port = server.bserver.port
        self.server = server
        self._published = {}
        self._publish_now()

    async def _stop_server(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            # Sessions of clients that vanished (timed out mid-request) outlive stop() with
            # their subscription loops (asyncua 2.1); a PLC going down ends them all.
            for subscription in list(server.iserver.subscription_service.subscriptions.values()):
                await subscription.stop()
            for session in list(server.iserver._external_sessions.values()):
                await session.close_session()
            await server.stop()

    async def stop(self) -> None:
        """Stop the PLC cycle and the server, closing client connections."""
        await self._stop_cycle()
        await self._stop_server()

    async def restart_server(self) -> None:
        """Take the OPC UA server down and up again on the same port; the PLC runs on."""
        log.warning("restarting the OPC UA server of the sorter PLC simulator")
        await self._stop_server()
        await self._start_server()

    def disconnect_clients(self) -> int:
        """Drop every client connection; return how many were dropped."""
        if self.server is None or self.server.bserver is None:
            return 0
        protocols = list(self.server.bserver.clients)
        for protocol in protocols:
            if protocol.transport is not None:
                protocol.transport.close()
        log.warning("dropped %d OPC UA client connection(s)", len(protocols))
        return len(protocols)

    # -- address space ----------------------------------------------------------------

    async def _parent(self, server: Server, cache: dict[str, Any], elements: list[str]) -> Any:
        """The object at ``elements`` under Objects, made on the way if missing."""
        node = server.nodes.objects
        for depth in range(len(elements)):
            key = "/".join(elements[: depth + 1])
            if key not in cache:
                name = elements[depth]
                nodeid = ua.NodeId(key.replace("/", "."), self.ns)
                cache[key] = await node.add_object(nodeid, ua.QualifiedName(name, self.ns))
            node = cache[key]
        return node

    async def _build(self, server: Server) -> None:
        values = self._plc_values()
        host = self._host_values()
        cache: dict[str, Any] = {}
        root = [p for p in self.map.root.split("/") if p]
        for area, entries, types, initial in (
            ("plc", self.map.plc.model_dump(), PLC_TYPES, values),
            ("host", self.map.host.model_dump(), HOST_TYPES, host),
        ):
            for key, entry in entries.items():
                variant = getattr(ua.VariantType, types[key].value)
                if is_node_id(entry):
                    parent = await self._parent(server, cache, root)
                    nodeid = ua.NodeId.from_string(f"ns={self.ns};{entry}")
                    name = entry.split("=", 1)[1].replace('"', "").split(".")[-1]
                else:
                    elements = self.map.path_elements(entry)
                    parent = await self._parent(server, cache, elements[:-1])
                    nodeid = ua.NodeId(".".join(elements), self.ns)
                    name = elements[-1]
                node = await parent.add_variable(
                    nodeid, ua.QualifiedName(name, self.ns), ua.Variant(initial[key], variant)
                )
                if area == "plc":
                    self._plc_ids[key] = node.nodeid
                else:
                    await node.set_writable()
                    self._host_keys[node.nodeid] = key

    # -- memory <-> variables ---------------------------------------------------------

    def _bits(self, address: int) -> list[bool]:
        assert self.logic is not None
        words = self.logic.regs[address : address + self.config.register_map.chute_words]
        ids = chute_bits_to_ids(words)
        return [i + 1 in ids for i in range(self.chute_count)]

    def _plc_values(self) -> dict[str, Any]:
        """Every PLC variable's value, from the PLC's register memory."""
        assert self.logic is not None
        r = self.logic.regs
        p = self.config.register_map.plc
        scan = [r[p.scan_write_index]]
        for i in range(p.scan_ring.size):
            a = p.scan_ring.entry_address(i)
            scan.append(join_u32(r[a], r[a + 1]))
        confirm = [r[p.confirm_write_index]]
        tid = p.request_tracking_id
        for i in range(p.confirm_ring.size):
            a = p.confirm_ring.entry_address(i)
            confirm += [join_u32(r[a], r[a + 1]), r[a + 2], r[a + 3]]
        return {
            "heartbeat": r[p.heartbeat],
            "packml_state": r[p.packml_state],
            "conveyor_running": bool(r[p.conveyor_running]),
            "request": [r[p.request_seq], join_u32(*r[tid : tid + 2])],
            "scan_ring": scan,
            "confirm_ring": confirm,
            "fault_word": r[p.fault_word],
            "pending_requests": r[p.pending_requests],
            "chute_full": self._bits(p.chute_full),
            "chute_disabled": self._bits(p.chute_disabled),
        }

    def _host_values(self) -> dict[str, Any]:
        """Every host variable's value, from the host registers (after a restart too)."""
        assert self.logic is not None
        r = self.logic.regs
        h = self.config.register_map.host
        return {
            "heartbeat": r[h.heartbeat],
            "command": [r[h.command], r[h.command_seq]],
            "answer": [
                r[h.answer_seq],
                join_u32(r[h.answer_tracking_id], r[h.answer_tracking_id + 1]),
                r[h.answer_chute],
            ],
            "scan_read_index": r[h.scan_read_index],
            "confirm_read_index": r[h.confirm_read_index],
            "chute_disable_request": self._bits(h.chute_disable_request),
        }

    def _after_step(self, events: list[Event]) -> None:
        scans = [e for e in events if e.kind is EventKind.SCANNED]
        if scans and self.logic is not None:
            # The photo-eye saw the parcel when the belt was at the event's position,
            # not at the end of this step (a late step must not make the change look new).
            behind_mm = self.logic.belt.belt_mm - min(e.belt_mm for e in scans)
            seconds = behind_mm / (self.twin.belt_speed_mps * 1000)
            self._scan_changed_at = datetime.now(UTC) - timedelta(seconds=seconds)
        if self.server is not None:
            self._publish_now()

    def _publish_now(self) -> None:
        """Write every PLC variable whose value changed, without yielding to the loop."""
        server = self.server
        if server is None:
            return
        aspace = server.iserver.aspace
        changed_at = datetime.now(UTC)  # the PLC stamps each change with its own clock
        for key, value in self._plc_values().items():
            if self._published.get(key) == value:
                continue
            self._published[key] = value
            variant = ua.Variant(value, getattr(ua.VariantType, PLC_TYPES[key].value))
            source = changed_at
            if key == "scan_ring" and self._scan_changed_at is not None:
                source, self._scan_changed_at = self._scan_changed_at, None
            dv = ua.DataValue(variant, SourceTimestamp=source, ServerTimestamp=changed_at)
            coro = aspace.write_attribute_value(self._plc_ids[key], ua.AttributeIds.Value, dv)
            _run_now(coro)

    async def _before_request(self, event: ServerItemCallback, _dispatcher: Any) -> None:
        await self._wait_if_stalled()

    async def _on_write(self, event: ServerItemCallback, _dispatcher: Any) -> None:
        """Apply the host's writes to the PLC, in the order the request lists them."""
        self.sync()  # the twin's events up to now, with their own times, before the write
        assert self.logic is not None
        now = self.clock()
        nodes = event.request_params.NodesToWrite
        for item, status in zip(nodes, event.response_params or [], strict=False):
            key = self._host_keys.get(item.NodeId)
            if key is None or not status.is_good():
                continue
            try:
                for address, words in self._host_registers(key, item.Value.Value.Value):
                    self.logic.on_host_write(address, words, now)
                self.writes += 1
            except Exception:
                self.action_errors += 1
                log.exception("PLC simulator failed on a write of host.%s", key)
        self._due_changed()
        self._publish_now()

    def _host_registers(self, key: str, value: Any) -> list[tuple[int, list[int]]]:
        """The register writes a write of host variable ``key`` stands for."""
        h = self.config.register_map.host
        w = self.config.register_map.chute_words
        if key == "heartbeat":
            return [(h.heartbeat, [int(value)])]
        if key == "scan_read_index":
            return [(h.scan_read_index, [int(value)])]
        if key == "confirm_read_index":
            return [(h.confirm_read_index, [int(value)])]
        if key == "answer":
            seq, tid, chute = (int(v) for v in value)
            return [(h.answer_seq, [seq & 0xFFFF, *split_u32(tid), chute & 0xFFFF])]
        if key == "command":
            command, seq = (int(v) for v in value)
            if h.command_seq == h.command + 1:
                return [(h.command, [command & 0xFFFF, seq & 0xFFFF])]
            return [(h.command, [command & 0xFFFF]), (h.command_seq, [seq & 0xFFFF])]
        if key == "chute_disable_request":
            ids = {i + 1 for i, bit in enumerate(value) if bit}
            return [(h.chute_disable_request, chute_ids_to_bits(ids, w))]
        raise KeyError(key)


def _run_now(coro: Any) -> None:
    """Run a coroutine that never suspends (asyncua's local attribute write) to its end."""
    try:
        coro.send(None)
    except StopIteration:
        return
    coro.close()
    raise RuntimeError("an address-space write suspended; values would be published torn")

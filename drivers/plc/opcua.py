"""Sorter PLC over OPC UA (asyncua client), driven by the node map.

At connect the driver finds the node map's namespace by URI, resolves every entry
(browse paths in one TranslateBrowsePathsToNodeIds call), reads the PLC and host
variables once (to restore the answered sequence number and the rings' read
positions, as the Modbus driver does) and subscribes to the PLC variables with a
short publishing interval.

Notifications land in a local mirror of the PLC variables; :meth:`OpcuaSorterPlc.poll`
turns the mirror into a :class:`~drivers.plc.base.PlcPoll`. The mirror holds values,
not events, so a lost or repeated notification cannot lose or double anything: the
request's sequence number tells a new request from one already answered, and the
rings carry their write index with their entries. Every ``resync_s`` the driver
also reads all PLC variables (a lost notification is then corrected, and a dead
server shows up as a timeout even when no publish response is due).

Reconnecting is the supervisor's job (:class:`controller.line.plc_link.PlcLink`): every
:meth:`connect` opens a new session and a new subscription.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncua import Client, ua
from asyncua.common.subscription import DataChangeEvent, StatusChangeEvent, Subscription
from asyncua.ua.uaerrors import UaError

from drivers.errors import ConnectionLost, DeviceFault, DeviceTimeout, DriverError, ProtocolError
from drivers.opcua_client import close_client
from drivers.plc.base import DestinationRequest, PlcPoll, PlcStatus, RegisterProblem, ScanEvent
from drivers.plc.decode import decode_confirmation, decode_state, ring_indices
from drivers.plc.opcua_mirror import ValueMirror
from drivers.plc.opcua_nodes import ResolvedNodes, resolve_nodes
from plc_configs.contract import PackMLCommand
from plc_configs.node_map import CONFIRM_ENTRY, HOST_TYPES, NodeMap
from plc_configs.opcua_security import SecurityMode, secure_client

log = logging.getLogger(__name__)

APPLICATION_URI = "urn:lanesort:controller:plc-client"


@dataclass(frozen=True)
class OpcuaClientOptions:
    """How the driver talks to the PLC (from the device's config section)."""

    timeout_s: float = 0.5
    publishing_interval_ms: float = 2.0
    security_mode: SecurityMode = "SignAndEncrypt"
    pki_dir: Path | None = None
    """Our client certificate and key (made on first connect) live here."""
    server_certificate: Path | None = None
    username: str | None = None
    password: str | None = None
    resync_s: float = 1.0
    wake_s: float = 0.05
    """Longest wait in :meth:`OpcuaSorterPlc.poll` for a notification."""


class OpcuaSorterPlc:
    """A sorter PLC reached at ``opc.tcp://HOST:PORT[/path]``."""

    def __init__(self, name: str, url: str, node_map: NodeMap, options: OpcuaClientOptions):
        if not url.startswith("opc.tcp://"):
            raise ValueError(f"{name}: expected opc.tcp://HOST:PORT[/path], got {url!r}")
        self.name = name
        self.address = url
        self.map = node_map
        self.options = options
        self._client: Client | None = None
        self._subscription: Subscription | None = None
        self._nodes: ResolvedNodes | None = None
        self._mirror = ValueMirror({}, {})
        self._by_node: dict[ua.NodeId, str] = {}
        self._answered_seq = 0
        self._command_seq = 0
        self._scan_cursor = 0
        self._confirm_cursor = 0
        self._last_seq = 0
        self._resynced_at = 0.0
        self.notifications = 0
        """Data change notifications received (for tests and benchmarks)."""
        self.resyncs = 0
        """Full reads of the PLC variables (every ``resync_s``)."""
        self.corrected = 0
        """Resyncs that found a value the notifications had not brought."""

    # -- connection ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True after :meth:`connect` until :meth:`close` or a lost link."""
        return self._client is not None

    async def connect(self) -> None:
        """Open a session, resolve the node map, restore positions, subscribe."""
        await self.close()
        o = self.options
        client = Client(self.address, timeout=o.timeout_s * 4, watchdog_intervall=1.0)
        client.session_timeout = 60_000
        client.application_uri = APPLICATION_URI
        client.name = f"LaneSort controller ({self.name})"
        try:
            if o.pki_dir is not None:
                await secure_client(
                    client,
                    pki_dir=o.pki_dir,
                    application_uri=APPLICATION_URI,
                    common_name=f"LaneSort controller {self.name}",
                    mode=o.security_mode,
                    server_certificate=o.server_certificate,
                    log=log,
                )
            if o.username:
                client.set_user(o.username)
                client.set_password(o.password or "")
            async with asyncio.timeout(o.timeout_s * 6):
                await client.connect()
        except (OSError, TimeoutError, UaError, ValueError) as err:
            client.disconnect_socket()
            raise ConnectionLost(self.name, self.address, f"cannot connect: {err!r}") from err
        self._client = client
        try:
            await self._start(client)
        except BaseException as err:
            await self.close()
            if isinstance(err, (OSError, TimeoutError, UaError)):
                raise self._map_error(err, "starting the session") from err
            raise

    async def _start(self, client: Client) -> None:
        nodes = await resolve_nodes(client, self.map, self.name, self.address)
        self._nodes = nodes
        read = await self._read(nodes.plc_ids + nodes.host_ids, "the PLC and host variables")
        count = len(nodes.plc_keys)
        mirror = ValueMirror.read(nodes.plc_keys, read[:count])
        host = ValueMirror.read(nodes.host_keys, read[count:]).values
        nodes.check_shapes(mirror.values, host)
        self._mirror = mirror
        self._answered_seq = int(host["answer"][0])
        self._command_seq = int(host["command"][1])
        self._last_seq = int(mirror["request"][0])
        self._scan_cursor = self._valid_index(host["scan_read_index"], nodes.scan_size)
        self._confirm_cursor = self._valid_index(host["confirm_read_index"], nodes.confirm_size)
        self._resynced_at = time.monotonic()
        period = self.options.publishing_interval_ms
        keepalive = max(10, int(500 / max(period, 1.0)))
        params = ua.CreateSubscriptionParameters(
            RequestedPublishingInterval=period,
            RequestedLifetimeCount=keepalive * 10,
            RequestedMaxKeepAliveCount=keepalive,
            MaxNotificationsPerPublish=0,
            PublishingEnabled=True,
            Priority=255,
        )
        subscription = await client.create_subscription(params, None, queue_maxsize=100_000)
        self._subscription = subscription
        handles = await subscription.subscribe_data_change(
            [client.get_node(n) for n in nodes.plc_ids], queuesize=1, sampling_interval=0.0
        )
        bad = [
            f"{key}: {handle}"
            for key, handle in zip(nodes.plc_keys, handles, strict=True)
            if isinstance(handle, ua.StatusCode)
        ]
        if bad:
            raise ProtocolError(self.name, self.address, f"cannot subscribe to {', '.join(bad)}")
        self._by_node = {nid: key for nid, key in zip(nodes.plc_ids, nodes.plc_keys, strict=True)}
        log.info(
            "%s: OPC UA session on %s (security %s, %d variables subscribed every %g ms, "
            "rings of %d/%d entries, %d chutes)",
            self.name,
            self.address,
            self.options.security_mode,
            len(nodes.plc_ids),
            subscription.parameters.RequestedPublishingInterval,
            nodes.scan_size,
            nodes.confirm_size,
            nodes.chute_count,
        )

    @staticmethod
    def _valid_index(value: Any, size: int) -> int:
        return int(value) if 0 <= int(value) < size else 0

    async def close(self) -> None:
        """Close the session and the socket; safe to call twice."""
        client, self._client = self._client, None
        self._subscription = None
        self._nodes = None
        if client is not None:
            await close_client(client, self.options.timeout_s, self.name, self.address)

    # -- reads and writes with error mapping -----------------------------------------------

    def _require(self) -> tuple[Client, ResolvedNodes]:
        if self._client is None or self._nodes is None:
            raise ConnectionLost(self.name, self.address, "not connected")
        return self._client, self._nodes

    def _map_error(self, err: BaseException, what: str) -> DriverError:
        if isinstance(err, DriverError):
            return err
        if isinstance(err, TimeoutError):
            ms = self.options.timeout_s * 1000
            return DeviceTimeout(self.name, self.address, f"no answer in {ms:.0f} ms while {what}")
        if isinstance(err, OSError | ConnectionError):
            return ConnectionLost(self.name, self.address, f"link lost while {what}: {err!r}")
        if isinstance(err, UaError):
            return ProtocolError(self.name, self.address, f"{what}: {err!r}")
        return ProtocolError(self.name, self.address, f"{what}: {type(err).__name__}: {err}")

    async def _read(self, ids: Sequence[ua.NodeId], what: str) -> list[ua.DataValue]:
        client = self._client
        if client is None:
            raise ConnectionLost(self.name, self.address, "not connected")
        try:
            async with asyncio.timeout(self.options.timeout_s):
                results = await client.uaclient.read_attributes(list(ids), ua.AttributeIds.Value)
        except Exception as err:
            raise self._map_error(err, f"reading {what}") from err
        bad = [str(r.StatusCode) for r in results if not r.StatusCode.is_good()]
        if bad:
            raise DeviceFault(self.name, self.address, f"reading {what} refused: {bad[0]}")
        return list(results)

    async def _write(self, keys: Sequence[str], values: Sequence[Any]) -> None:
        client, nodes = self._require()
        ids = [nodes.host[k] for k in keys]
        dvs = [
            ua.DataValue(ua.Variant(v, getattr(ua.VariantType, HOST_TYPES[k].value)))
            for k, v in zip(keys, values, strict=True)
        ]
        what = f"writing {', '.join('host.' + k for k in keys)}"
        try:
            async with asyncio.timeout(self.options.timeout_s):
                results = await client.uaclient.write_attributes(ids, dvs, ua.AttributeIds.Value)
        except Exception as err:
            raise self._map_error(err, what) from err
        for key, status in zip(keys, results, strict=True):
            if not status.is_good():
                raise DeviceFault(self.name, self.address, f"{what}: host.{key} refused: {status}")

    # -- the handshake ---------------------------------------------------------------------

    def _queue(self) -> asyncio.Queue[Any]:
        subscription = self._subscription
        queue = subscription._event_queue if subscription is not None else None
        if queue is None:
            raise ConnectionLost(self.name, self.address, "not connected")
        return queue

    def _apply(self, event: Any) -> int:
        """Apply one subscription event to the mirror; 1 if it brought a newer value."""
        if isinstance(event, DataChangeEvent):
            key = self._by_node.get(event.node.nodeid)
            dv = event.data.monitored_item.Value
            if key is None or dv is None or not self._mirror.notified(key, dv):
                return 0
            self.notifications += 1
            return 1
        if isinstance(event, StatusChangeEvent):
            raise ConnectionLost(
                self.name,
                self.address,
                f"subscription ended by the server: {event.notification.Status}",
            )
        if event is None:
            raise ConnectionLost(self.name, self.address, "subscription closed")
        return 0

    def _drain(self) -> int:
        """Apply every queued notification, in order; return how many changed a value."""
        queue = self._queue()
        count = 0
        while not queue.empty():
            count += self._apply(queue.get_nowait())
        return count

    def _request_open(self) -> bool:
        seq = int(self._mirror["request"][0])
        return seq != 0 and seq != self._answered_seq

    async def _wait_for_change(self) -> None:
        """Wait up to ``wake_s`` for a notification; apply it and any that came with it."""
        queue = self._queue()
        try:
            async with asyncio.timeout(self.options.wake_s):
                event = await queue.get()
        except TimeoutError:
            return
        self._apply(event)
        self._drain()

    async def _resync(self) -> None:
        """Read every PLC variable; keep what is newer than the notifications brought."""
        _, nodes = self._require()
        read = await self._read(nodes.plc_ids, "the PLC variables")
        self._drain()
        before = dict(self._mirror.values)
        for key, dv in zip(nodes.plc_keys, read, strict=True):
            self._mirror.take(key, dv)
        if any(before[k] != self._mirror[k] for k in before if k != "heartbeat"):
            self.corrected += 1
        self.resyncs += 1
        self._resynced_at = time.monotonic()

    async def poll(self) -> PlcPoll:
        """Return what the PLC variables say now (waiting briefly for a change)."""
        _, nodes = self._require()
        if not self._drain() and not self._request_open():
            await self._wait_for_change()
        else:
            await asyncio.sleep(0)  # as a read on the wire would: let the loop run
        if time.monotonic() - self._resynced_at >= self.options.resync_s:
            await self._resync()
        return self._decode(nodes)

    def _decode(self, nodes: ResolvedNodes) -> PlcPoll:
        m = self._mirror
        problems: list[RegisterProblem] = []
        status = PlcStatus(
            heartbeat=int(m["heartbeat"]),
            packml_state=decode_state(int(m["packml_state"]), problems, "plc.packml_state"),
            conveyor_running=bool(m["conveyor_running"]),
            fault_word=int(m["fault_word"]),
            pending_requests=int(m["pending_requests"]),
            chute_full=frozenset(i + 1 for i, bit in enumerate(m["chute_full"]) if bit),
            chute_disabled=frozenset(i + 1 for i, bit in enumerate(m["chute_disabled"]) if bit),
        )
        request = None
        seq, tid = (int(v) for v in m["request"][:2])
        if seq != self._last_seq:
            if self._last_seq and seq not in (0, self._last_seq % 0xFFFF + 1):
                log.debug("%s: request seq %d after %d", self.name, seq, self._last_seq)
            self._last_seq = seq
        if seq != 0 and seq != self._answered_seq:
            if tid == 0:
                problems.append(RegisterProblem("plc.request[1]", -1, tid, "a tracking id > 0"))
            else:
                request = DestinationRequest(seq=seq, tracking_id=tid)
        scan = m["scan_ring"]
        scans = []
        for i in ring_indices(
            self._scan_cursor, int(scan[0]), nodes.scan_size, problems, "plc.scan_ring[0]"
        ):
            scans.append(ScanEvent(int(scan[1 + i]), i))
            self._scan_cursor = (i + 1) % nodes.scan_size
        ring = m["confirm_ring"]
        confirms = []
        for i in ring_indices(
            self._confirm_cursor, int(ring[0]), nodes.confirm_size, problems, "plc.confirm_ring[0]"
        ):
            tid_i, chute, result = (int(v) for v in ring[1 + i * CONFIRM_ENTRY :][:CONFIRM_ENTRY])
            c = decode_confirmation(tid_i, chute, result, i, problems, "plc.confirm_ring")
            if c is not None:
                confirms.append(c)
            self._confirm_cursor = (i + 1) % nodes.confirm_size
        age = None
        if scans:  # unknown without timestamps: as old as a subscription can make news
            fallback = self.options.publishing_interval_ms / 1000 + self.options.wake_s
            age = self._mirror.scans_age_s(len(scans), fallback)
        return PlcPoll(
            status, request, tuple(scans), tuple(confirms), tuple(problems), scans_age_s=age
        )

    async def answer(self, request: DestinationRequest, chute: int) -> None:
        """Write sequence number, tracking id and chute as one array (one write)."""
        if not 0 <= chute <= 0xFFFF_FFFF:
            raise ValueError(f"chute {chute} does not fit a UInt32")
        await self._write(["answer"], [[request.seq, request.tracking_id, chute]])
        self._answered_seq = request.seq

    async def acknowledge(self, scans_through: int | None, confirms_through: int | None) -> None:
        """Advance the rings' read indices past these entries (one write request)."""
        _, nodes = self._require()
        keys: list[str] = []
        values: list[int] = []
        if scans_through is not None:
            keys.append("scan_read_index")
            values.append((scans_through + 1) % nodes.scan_size)
        if confirms_through is not None:
            keys.append("confirm_read_index")
            values.append((confirms_through + 1) % nodes.confirm_size)
        if keys:
            await self._write(keys, values)

    async def write_heartbeat(self, value: int) -> None:
        """Write the host life counter (wraps at 16 bits)."""
        await self._write(["heartbeat"], [value & 0xFFFF])

    async def send_command(self, command: PackMLCommand) -> None:
        """Write the command and a new command sequence number together."""
        seq = (self._command_seq % 0xFFFF) + 1
        await self._write(["command"], [[int(command), seq]])
        self._command_seq = seq

    async def request_chutes_disabled(self, chutes: frozenset[int]) -> None:
        """Write the chute-disable request array (chute ``k`` is element ``k - 1``)."""
        _, nodes = self._require()
        outside = sorted(c for c in chutes if not 1 <= c <= nodes.chute_count)
        if outside:
            raise ValueError(f"chutes {outside} have no element (1..{nodes.chute_count})")
        await self._write(
            ["chute_disable_request"], [[i + 1 in chutes for i in range(nodes.chute_count)]]
        )

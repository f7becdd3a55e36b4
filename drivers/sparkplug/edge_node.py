"""A Sparkplug B 3.0 edge node over one :class:`~drivers.mqtt.MqttLink`.

The session, with the specification's statement ids:

- Every CONNECT registers an NDEATH will (QoS 1, not retained) whose only metric is
  ``bdSeq`` (Int64): 0 on the first CONNECT, +1 on each later one, 255 → 0
  (tck-id-payloads-ndeath-will-message, -qos, -retain, tck-id-topics-nbirth-bdseq-increment).
  The link asks :meth:`EdgeNode._will` for it at every attempt.
- After connecting it subscribes to its NCMD and DCMD topics at QoS 1
  (tck-id-message-flow-edge-node-ncmd-subscribe, tck-id-message-flow-device-dcmd-subscribe)
  and, with a primary host, to that host's STATE; it then waits for a STATE with
  ``online`` true whose timestamp is not older than the last one seen
  (tck-id-message-flow-edge-node-birth-publish-phid-wait, -wait-online, -wait-timestamp).
- The birth: NBIRTH (QoS 0, not retained, seq 0) with every node metric, ``bdSeq`` equal to
  this connection's will's and ``Node Control/Rebirth`` = false without an alias, then one
  DBIRTH per device (tck-id-topics-nbirth-*, tck-id-payloads-dbirth-order).
- Then NDATA/DDATA with only the changed metrics, by alias (report by exception); ``seq``
  +1 on every message of the node, 255 → 0 (tck-id-payloads-sequence-num-incrementing).
- A device the node loses (:meth:`EdgeNode.set_online` false): its DDEATH (QoS 0, not
  retained, the next seq, a timestamp, no metric) after the changes recorded before it, and
  no DDATA for it until it is back; then its DBIRTH with every current value
  (tck-id-operational-behavior-device-ddeath, tck-id-topics-ddeath-topic, -mqtt, -seq-num,
  tck-id-payloads-ddeath-timestamp, -seq, -seq-inc). A device offline at a birth is born
  with the others (the host learns its metrics and its last error) and its DDEATH follows
  the DBIRTHs.
- ``Node Control/Rebirth`` = true in an NCMD: stop data, publish the whole birth again
  with the same bdSeq (tck-id-operational-behavior-data-commands-rebirth-action-1..3).
- The primary host's STATE going offline (timestamp not older than its online one):
  publish NDEATH, disconnect, connect again (a new bdSeq) and wait for it online again
  (tck-id-message-flow-edge-node-birth-publish-phid-offline).
- :meth:`EdgeNode.close`: NDEATH, then DISCONNECT
  (tck-id-operational-behavior-edge-node-intentional-disconnect-ndeath).

Every publish runs in one task, so the seq order is the order on the wire. Other NCMD and
DCMD metrics go to ``on_command(device, name, value)`` (device None: the edge node); who
may send them is the broker's to enforce (its ACL) and the caller's to decide.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from drivers.cancelling import start_guarded
from drivers.errors import ConnectionLost, DriverError
from drivers.mqtt.link import MqttLink, Will
from drivers.sparkplug.book import NODE, MetricBook
from drivers.sparkplug.codec import DataType, Metric, Payload, PayloadError, Value, decode, encode
from drivers.sparkplug.topics import (
    NAMESPACE,
    HostState,
    MessageType,
    Topic,
    check_id,
    state_topic,
)
from plc_configs.mqtt import MqttSection

log = logging.getLogger(__name__)

BDSEQ = "bdSeq"
REBIRTH = "Node Control/Rebirth"

CommandHandler = Callable[[str | None, str, Value], Awaitable[None]]
"""``async def on_command(device, metric_name, value)``; device None: the edge node."""


def wall_ms() -> int:
    """Now, in ms since the epoch (UTC)."""
    return int(time.time() * 1000)


class EdgeNode:
    """One Sparkplug edge node: its metrics (:attr:`book`), its session, its commands."""

    def __init__(
        self,
        section: MqttSection,
        group: str,
        edge_node: str,
        *,
        primary_host: str | None = None,
        client_id: str | None = None,
        on_command: CommandHandler | None = None,
        clock_ms: Callable[[], int] = wall_ms,
        first_bdseq: int = 0,
        on_bdseq: Callable[[int], None] | None = None,
    ):
        """``first_bdseq``: the bdSeq of the first CONNECT (the one after the last process's,
        so the count goes on across restarts: tck-id-payloads-nbirth-bdseq-increment);
        ``on_bdseq(n)`` is told the bdSeq the next CONNECT will use, to keep it."""
        self.group = check_id("group id", group)
        self.edge_node = check_id("edge node id", edge_node)
        self.primary_host = check_id("host id", primary_host) if primary_host else None
        self.on_command = on_command
        self._clock_ms = clock_ms
        self.book = MetricBook()
        self.book.define(NODE, BDSEQ, DataType.INT64, 0, clock_ms())
        self.book.define(NODE, REBIRTH, DataType.BOOLEAN, False, clock_ms(), alias=False)
        self.link = MqttLink(
            f"sparkplug {group}/{edge_node}",
            section,
            client_id=client_id or section.client_id or f"spb-{group}-{edge_node}",
            will=self._will,
            on_connect=self._connected,
        )
        self._next_bdseq = first_bdseq % 256
        self._will_bdseq = self._next_bdseq
        self._on_bdseq = on_bdseq
        self.bdseq: int | None = None
        """The bdSeq of the current connection (None before the first)."""
        self._seq = 0
        self._session = 0
        self._born: int | None = None
        self._rebirth = False
        self._offline: set[str] = set()
        """Devices the node cannot reach now (:meth:`set_online`)."""
        self._dead: set[str] = set()
        """Devices whose DDEATH went out in this session (and no DBIRTH since)."""
        self._host_online = False
        self._host_ts: int | None = None
        self._host_gone = False
        self._wake = asyncio.Event()
        self._publisher: asyncio.Task[None] | None = None
        self.link.add_listener(lambda up, _error: self._wake.set() if up else None)
        self.births = 0
        self.rebirths = 0
        self.bad_messages = 0
        self.unknown_metrics = 0

    # --- metrics -----------------------------------------------------------------------

    def define(self, device: str | None, name: str, datatype: DataType, value: Value) -> None:
        """Add a metric of the edge node (device None) or of ``device`` before :meth:`run`."""
        if device is not None:
            check_id("device id", device)
        self.book.define(device, name, datatype, value, self._clock_ms())

    def set(self, device: str | None, name: str, value: Value) -> None:
        """Record a value; a change is published in the next NDATA/DDATA."""
        if self.book.set(device, name, value, self._clock_ms()):
            self._wake.set()

    def set_online(self, device: str, online: bool) -> None:
        """Whether ``device`` is reachable: losing it publishes its DDEATH, getting it back
        its DBIRTH (see the module)."""
        if online == (device not in self._offline):
            return
        if online:
            self._offline.discard(device)
        else:
            self._offline.add(device)
        self._wake.set()

    # --- state -------------------------------------------------------------------------

    @property
    def born(self) -> bool:
        """True while in a Sparkplug session (birth published on this connection)."""
        return self._born is not None and self._born == self._session and self.link.connected

    @property
    def host_online(self) -> bool:
        """True while the primary host's last STATE said online (True without one)."""
        return self.primary_host is None or self._host_online

    def topic(self, kind: MessageType, device: str | None = None) -> str:
        """This node's topic of message type ``kind``."""
        return str(Topic(self.group, kind, self.edge_node, device))

    # --- the session -------------------------------------------------------------------

    def _will(self) -> Will:
        """The NDEATH of the next CONNECT: a new bdSeq (called by the link per attempt)."""
        bdseq = self._next_bdseq
        self._next_bdseq = (bdseq + 1) % 256
        self._will_bdseq = bdseq
        if self._on_bdseq is not None:
            self._on_bdseq(self._next_bdseq)
        return Will(self.topic(MessageType.NDEATH), self._ndeath(bdseq), qos=1, retain=False)

    def _ndeath(self, bdseq: int) -> bytes:
        metric = Metric(BDSEQ, bdseq, DataType.INT64, timestamp=self._clock_ms())
        return encode(Payload((metric,), self._clock_ms()))

    async def _connected(self) -> None:
        """A new connection (subscriptions restored): a new session, births still due."""
        self._session += 1
        self.bdseq = self._will_bdseq
        self.book.set(NODE, BDSEQ, self.bdseq, self._clock_ms())
        self._host_online = False  # a new session waits for the host's STATE again
        self._host_gone = False
        self._wake.set()

    async def run(self) -> None:
        """Connect, subscribe, publish births and data until :meth:`close` (or cancelled)."""
        if self.primary_host is not None:
            await self.link.subscribe(state_topic(self.primary_host), self._on_state, qos=1)
        await self.link.subscribe(self.topic(MessageType.NCMD), self._on_command, qos=1)
        dcmd = f"{NAMESPACE}/{self.group}/{MessageType.DCMD}/{self.edge_node}/+"
        await self.link.subscribe(dcmd, self._on_command, qos=1)
        async with asyncio.TaskGroup() as group:
            self._publisher = start_guarded(group, self._publish_loop(), "sparkplug-publish")
            await self.link.run()
            self._publisher.cancel()

    async def close(self) -> None:
        """Publish NDEATH (when in a session), DISCONNECT and end :meth:`run`."""
        task = self._publisher
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task})
        if self.born and self.bdseq is not None:
            with contextlib.suppress(DriverError):
                ndeath = self._ndeath(self.bdseq)
                await self._publish(MessageType.NDEATH, ndeath, self._session, qos=1)
        await self.link.close()

    async def _publish_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._publish_due()
            except DriverError as err:
                log.warning("%s: %s (births again on the next connection)", self.link.name, err)
                self._born = None

    async def _publish_due(self) -> None:
        if not self.link.connected:
            return
        session = self._session
        if self._host_gone:
            self._host_gone = False
            if self.born and self.bdseq is not None:
                ndeath = self._ndeath(self.bdseq)
                await self._publish(MessageType.NDEATH, ndeath, session, qos=1)
            self._born = None
            await self.link.reconnect(f"primary host {self.primary_host} is offline")
            return
        if not self.host_online:
            return
        if self._born != self._session or self._rebirth:
            self._rebirth = False
            await self._births(session)
            return
        types = self.book.types()
        for device in self.book.pending():
            if device in self._dead:
                continue  # kept for its next DBIRTH, which carries every current value
            metrics = self.book.take_changes(device)
            kind = MessageType.NDATA if device is None else MessageType.DDATA
            await self._send(kind, device, metrics, session, types)
        await self._device_sessions(session)

    async def _device_sessions(self, session: int) -> None:
        """DDEATH for each device lost since, DBIRTH for each one back."""
        dead = self._dead
        for device in self.book.devices:
            if device in self._offline and device not in dead:
                await self._send(MessageType.DDEATH, device, [], session)
                dead.add(device)
            elif device in dead and device not in self._offline:
                await self._send(MessageType.DBIRTH, device, self.book.birth(device), session)
                dead.discard(device)

    async def _births(self, session: int) -> None:
        self._seq = 0
        self._born = None
        await self._send(MessageType.NBIRTH, NODE, self.book.birth(NODE), session)
        for device in self.book.devices:
            await self._send(MessageType.DBIRTH, device, self.book.birth(device), session)
        self._dead = set()
        self._born = session
        self.births += 1
        await self._device_sessions(session)  # the DDEATH of each device offline now

    async def _send(
        self,
        kind: MessageType,
        device: str | None,
        metrics: list[Metric],
        session: int,
        types: dict[int, DataType] | None = None,
    ) -> None:
        payload = Payload(tuple(metrics), self._clock_ms(), self._seq)
        data = encode(payload, types)
        self._seq = (self._seq + 1) % 256
        await self._publish(kind, data, session, device=device)

    async def _publish(
        self,
        kind: MessageType,
        data: bytes,
        session: int,
        *,
        device: str | None = None,
        qos: int = 0,
    ) -> None:
        """Publish on connection ``session`` only: never a message of one connection on
        the next (a data message before that connection's births). The link is up here,
        so it publishes on its current client without waiting for another."""
        topic = self.topic(kind, device)
        if not self.link.connected or self._session != session:
            raise ConnectionLost(
                self.link.name, self.link.address, f"connection lost before {topic}"
            )
        await self.link.publish(topic, data, qos=qos, retain=False, timeout_s=5)

    # --- what comes in -----------------------------------------------------------------

    async def _on_state(self, topic: str, payload: bytes, retain: bool) -> None:
        try:
            state = HostState.from_json(payload)
        except ValueError as err:
            self.bad_messages += 1
            log.warning("%s: %s: %s", self.link.name, topic, err)
            return
        if self._host_ts is not None and state.timestamp < self._host_ts:
            log.info("%s: ignored a STATE older than the last one (%s)", self.link.name, topic)
            return
        self._host_ts = state.timestamp
        was = self._host_online
        self._host_online = state.online
        if state.online and not was:
            log.info("%s: primary host %s is online", self.link.name, self.primary_host)
        elif not state.online and was:
            log.warning("%s: primary host %s is offline", self.link.name, self.primary_host)
        if not state.online and self.born:
            self._host_gone = True
        self._wake.set()

    async def _on_command(self, topic: str, data: bytes, retain: bool) -> None:
        try:
            where = Topic.parse(topic)
            payload = decode(data, self.book.types())
        except (ValueError, PayloadError) as err:
            self.bad_messages += 1
            log.warning("%s: %s: %s", self.link.name, topic, err)
            return
        for metric in payload.metrics:
            found = self.book.resolve(where.device, metric)
            if found is None:
                self.unknown_metrics += 1
                log.warning("%s: %s: no metric %s here", self.link.name, topic, metric.label)
                continue
            name, _ = found
            if where.device is None and name == REBIRTH:
                if metric.value is True:
                    log.info("%s: rebirth requested", self.link.name)
                    self.rebirths += 1
                    self._rebirth = True
                    self._wake.set()
                continue
            if self.on_command is not None:
                await self.on_command(where.device, name, metric.value)

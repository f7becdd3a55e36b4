"""One simulated vehicle on the MQTT broker: its own client, topics and publish cadence.

Each vehicle connects with a unique client id and the last will ``CONNECTIONBROKEN`` on
``{interface}/v2/{manufacturer}/{serial}/connection`` (QoS 1, retained), publishes
``ONLINE`` (QoS 1, retained) and then its state; it subscribes to its ``order`` and
``instantActions`` (QoS 0). It publishes ``state`` on every change and at least every
``state_interval_s``, ``visualization`` every ``visualization_interval_s`` and the
``factsheet`` (retained) when asked. On a clean stop it publishes ``OFFLINE`` and sends
DISCONNECT. :meth:`SimulatedVehicle.drop_off` closes its socket without DISCONNECT, so the
broker publishes the will; the vehicle keeps driving and reconnects when the fault ends
(VDA 5050 §6.2: it finishes its base while away), and after any other lost connection
after ``reconnect_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass

import aiomqtt

from plc_configs.vda5050.messages import (
    Connection,
    Header,
    MessageError,
    Order,
    dump,
    parse,
    utc_timestamp,
)
from plc_configs.vda5050.topics import HeaderIds, topic
from simulators.fleet.actions import make_error
from simulators.fleet.model import VehicleModel
from simulators.fleet.reports import factsheet_message, state_message, visualization_message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokerAddress:
    """Where the broker is and how to log in."""

    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = None


class SimulatedVehicle:
    """A :class:`VehicleModel` driven in real time and connected to the broker."""

    def __init__(
        self,
        model: VehicleModel,
        broker: BrokerAddress,
        *,
        interface: str = "uagv",
        tick_s: float = 0.05,
        reconnect_s: float = 1.0,
    ) -> None:
        self.model, self.broker, self.interface = model, broker, interface
        self.tick_s, self.reconnect_s = tick_s, reconnect_s
        self.client_id = f"lanesort-sim-{model.manufacturer}-{model.serial}"
        self.online = asyncio.Event()
        self._ids = HeaderIds()
        self._client: aiomqtt.Client | None = None
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._offline_until = 0.0
        self._task: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None

    def _topic(self, kind: str) -> str:
        m = self.model
        return topic(self.interface, m.version, m.manufacturer, m.serial, kind)

    def _stamp(self, message: Header, kind: str) -> bytes:
        message.header_id = self._ids.next(kind)
        message.timestamp = utc_timestamp()
        return dump(message)

    def _connection(self, state: str) -> Connection:
        m = self.model
        return Connection(
            manufacturer=m.manufacturer,
            serial_number=m.serial,
            version=m.version,
            connection_state=state,  # type: ignore[arg-type]
        )

    async def start(self) -> None:
        """Start driving and connecting (returns at once; see :attr:`online`)."""
        self._stopping.clear()
        self._ticker = asyncio.create_task(self._tick_loop(), name=f"vehicle-{self.model.serial}")
        self._task = asyncio.create_task(self._run(), name=f"vehicle-mqtt-{self.model.serial}")

    async def stop(self) -> None:
        """Publish ``OFFLINE``, disconnect cleanly and stop."""
        self._stopping.set()
        if self._task is not None:
            await self._task
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        self._task = self._ticker = None

    def drop_off(self, for_s: float) -> None:
        """Lose the connection without DISCONNECT (the broker sends the will); come back
        after ``for_s`` seconds."""
        self._offline_until = asyncio.get_running_loop().time() + for_s
        client = self._client
        sock = client._client.socket() if client is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # the broker sees the TCP connection end

    def wake(self) -> None:
        """Publish what changed now rather than at the next tick."""
        self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            try:
                await self._session()
            except aiomqtt.MqttError as err:
                log.warning("%s: broker connection lost: %s", self.model.serial, err)
            finally:
                self._client = None
                self.online.clear()
            delay = max(self.reconnect_s, self._offline_until - loop.time())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stopping.wait()

    async def _session(self) -> None:
        will = aiomqtt.Will(
            self._topic("connection"),
            self._stamp(self._connection("CONNECTIONBROKEN"), "connection"),
            qos=1,
            retain=True,
        )
        b = self.broker
        client = aiomqtt.Client(
            b.host,
            b.port,
            identifier=self.client_id,
            username=b.username,
            password=b.password,
            will=will,
            keepalive=15,
            timeout=5,
        )
        async with client:
            online = self._stamp(self._connection("ONLINE"), "connection")
            await client.publish(self._topic("connection"), online, qos=1, retain=True)
            await client.subscribe(self._topic("order"), qos=0)
            await client.subscribe(self._topic("instantActions"), qos=0)
            self._client = client
            self.model.changed = True
            self.online.set()
            self.wake()
            reader = asyncio.create_task(self._read(client))
            stopper = asyncio.create_task(self._stopping.wait())
            try:
                await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (reader, stopper):
                    task.cancel()
                await asyncio.gather(reader, stopper, return_exceptions=True)
            if not reader.cancelled() and reader.exception() is not None:
                raise reader.exception()  # type: ignore[misc]
            self._client = None
            offline = self._stamp(self._connection("OFFLINE"), "connection")
            await client.publish(self._topic("connection"), offline, qos=1, retain=True)

    async def _read(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            kind = str(message.topic).rsplit("/", 1)[-1]
            payload = message.payload if isinstance(message.payload, bytes | str) else b""
            self._receive(kind, payload)
            self.wake()

    def _receive(self, kind: str, payload: bytes | str) -> None:
        model = self.model
        try:
            msg = parse(kind, payload)
        except MessageError as err:
            log.info("%s: bad %s message: %s", model.serial, kind, err)
            refs = {"topic": kind}
            model.add_error(make_error("validationError", str(err)[:200], refs))
            return
        if isinstance(msg, Order):
            model.handle_order(msg)
        else:
            for action in getattr(msg, "actions", []):
                model.handle_instant(action, msg.header_id)

    async def _tick_loop(self) -> None:
        loop = asyncio.get_running_loop()
        settings = self.model.settings
        last = loop.time()
        last_state = last_vis = float("-inf")
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.tick_s):
                    await self._wake.wait()
            self._wake.clear()
            now = loop.time()
            self.model.step(now - last)
            last = now
            client = self._client
            if client is None:
                continue
            try:
                if self.model.factsheet_requested:
                    self.model.factsheet_requested = False
                    sheet = self._stamp(factsheet_message(self.model), "factsheet")
                    await client.publish(self._topic("factsheet"), sheet, qos=0, retain=True)
                if self.model.changed or now - last_state >= settings.state_interval_s:
                    state = self._stamp(state_message(self.model), "state")
                    self.model.changed = False
                    await client.publish(self._topic("state"), state, qos=0)
                    last_state = now
                if now - last_vis >= settings.visualization_interval_s:
                    vis = self._stamp(visualization_message(self.model), "visualization")
                    await client.publish(self._topic("visualization"), vis, qos=0)
                    last_vis = now
            except aiomqtt.MqttError as err:  # the session notices and reconnects
                log.debug("%s: publish failed: %s", self.model.serial, err)

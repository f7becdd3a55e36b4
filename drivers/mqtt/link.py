"""One MQTT connection with LaneSort's own reconnect loop (aiomqtt 2.x under it).

aiomqtt 2 has no automatic reconnect: a :class:`aiomqtt.Client` is one connection, and
its ``messages`` iterator raises :class:`aiomqtt.MqttError` when the connection drops.
:meth:`MqttLink.run` makes a new client for each attempt, restores every subscription,
calls ``on_connect`` (e.g. to publish a retained ``ONLINE``), marks the link up and
routes messages; on an ``MqttError`` it marks the link down, waits (doubling from
``reconnect_min_s`` to ``reconnect_max_s``, +-20 % jitter) and connects again.

Dispatch (:mod:`drivers.mqtt.dispatch`): the reading loop never waits for a handler;
each topic's messages are handled in arrival order by a task of that topic, so a slow
handler delays only its own topic. A handler that raises is logged and counted.

A message reaches every matching handler once per copy the broker sends. Mosquitto
2.0.11 sends one copy for overlapping subscriptions under MQTT 3.1.1 (measured), but
MQTT 3.1.1 (3.3.5) allows one copy per subscription and the mosquitto.conf man page
says ``allow_duplicate_messages`` will default to true: keep one handler's filters from
overlapping (``uagv/v2/+/+/state`` and ``uagv/v2/+/+/connection``, not ``uagv/#`` too).

:meth:`MqttLink.close` sends DISCONNECT (the broker then discards our will);
:meth:`MqttLink.abort` shuts the socket without it, as a crash or a cut cable would (the
broker publishes the will); :meth:`MqttLink.reconnect` ends the session with DISCONNECT
and connects again.

A QoS 1/2 publish waits for the broker's acknowledgement up to its timeout, and no longer
than its connection lasts: when the connection ends first it raises ConnectionLost at
once, and the caller sends it again on the next connection (at least once).

The will is fixed (a :class:`Will`) or made afresh for every connection attempt (a
function returning one: a Sparkplug edge node's NDEATH carries a number that grows by
one with every CONNECT).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
import random
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiomqtt
from paho.mqtt.client import time_func as paho_time

from drivers.errors import ConnectionLost, DeviceFault, DeviceTimeout
from drivers.mqtt.connect import describe, fail_before_connack, read_password, tls_context
from drivers.mqtt.dispatch import Handler, TopicDispatcher
from drivers.mqtt.topics import check_filter, check_topic, topic_matches
from plc_configs.mqtt import MqttSection

log = logging.getLogger(__name__)

StateListener = Callable[[bool, ConnectionLost | None], None]
"""Called with ``(True, None)`` when the link comes up, ``(False, error)`` when it goes down."""

_ON_CONNECT: contextvars.ContextVar[aiomqtt.Client | None] = contextvars.ContextVar(
    "mqtt_on_connect", default=None
)
"""The client whose ``on_connect`` is running: it may publish before the link is up."""


@dataclass(frozen=True)
class Will:
    """The message the broker publishes for us when we vanish without a DISCONNECT."""

    topic: str
    payload: bytes | str
    qos: int = 1
    retain: bool = False


@dataclass(frozen=True)
class _Subscription:
    topic_filter: str
    handler: Handler
    qos: int


class MqttLink:
    """One broker connection, kept up by :meth:`run` until :meth:`close` or :meth:`abort`."""

    def __init__(
        self,
        name: str,
        section: MqttSection,
        *,
        client_id: str,
        will: Will | Callable[[], Will] | None = None,
        on_connect: Callable[[], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        max_backlog_per_topic: int = 1000,
    ):
        self.name = name
        self.section = section
        self.address = section.url
        self.client_id = client_id
        self.will = will
        self.on_connect = on_connect
        self._clock = clock
        self._rng = rng or random.Random()
        self._password = read_password(section)
        self._ssl: ssl.SSLContext | None = None
        self._subs: list[_Subscription] = []
        self._client: aiomqtt.Client | None = None
        self._ended: tuple[aiomqtt.Client, asyncio.Future[None]] | None = None
        """The current session's client and a future done when its connection ends."""
        self._up = asyncio.Event()
        self._listeners: list[StateListener] = []
        self._reported: bool | None = None
        self._logged: str | None = None
        self._dispatch = TopicDispatcher(name, max_backlog_per_topic)
        self._loop_task: asyncio.Task[None] | None = None
        self._closing: str | None = None
        self._reconnect_why: str | None = None
        self.last_error: ConnectionLost | None = None
        """Why the link last went down or failed to connect."""
        self.connected_since: float | None = None
        self.last_message_at: float | None = None
        self.messages_in = 0
        self.messages_out = 0
        self.reconnects = 0
        self._connects = 0

    # --- state -----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while connected, subscribed and past ``on_connect``."""
        return self._up.is_set()

    def add_listener(self, listener: StateListener) -> Callable[[], None]:
        """Call ``listener`` on every up/down change; returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def wait_connected(self, timeout_s: float) -> None:
        """Return once the link is up; ConnectionLost (with the last error) after ``timeout_s``."""
        await self._client_within(timeout_s)

    def _set_state(self, up: bool, error: ConnectionLost | None) -> None:
        if up:
            self._up.set()
            self.connected_since = self._clock()
            log.info("%s: connected to %s as %s", self.name, self.address, self.client_id)
            self._logged = None
        else:
            self._up.clear()
            self.connected_since = None
            self.last_error = error
            if error is not None and error.detail != self._logged:
                log.warning("%s", error)  # once per distinct error, not every retry
                self._logged = error.detail
            elif error is not None:
                log.debug("%s", error)
        if self._reported is up:
            return
        self._reported = up
        for listener in list(self._listeners):
            try:
                listener(up, error)
            except Exception:
                log.exception("%s: a connection listener failed", self.name)

    # --- subscriptions -----------------------------------------------------------------

    async def subscribe(self, topic_filter: str, handler: Handler, qos: int = 0) -> None:
        """Route messages matching ``topic_filter`` to ``handler``, now and after every
        reconnect. While connected, returns once the broker acknowledged the subscription
        (DeviceFault if it refused it)."""
        check_filter(topic_filter)
        if qos not in (0, 1, 2):
            raise ValueError(f"qos: expected 0, 1 or 2, got {qos}")
        self._subs.append(_Subscription(topic_filter, handler, qos))
        client = self._client
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):  # down: the reconnect subscribes
                await self._send_subscribe(client, [(topic_filter, qos)])

    async def unsubscribe(self, topic_filter: str, handler: Handler) -> None:
        """Stop routing ``topic_filter`` to ``handler`` (UNSUBSCRIBE when no handler is left)."""
        self._subs = [
            s for s in self._subs if not (s.topic_filter == topic_filter and s.handler == handler)
        ]
        client = self._client
        if client is not None and all(s.topic_filter != topic_filter for s in self._subs):
            with contextlib.suppress(aiomqtt.MqttError):
                await client.unsubscribe(topic_filter)

    async def _send_subscribe(self, client: aiomqtt.Client, filters: list[tuple[str, int]]) -> None:
        codes = await client.subscribe(filters)
        for (topic_filter, _), code in zip(filters, codes, strict=False):
            if getattr(code, "is_failure", False) or int(getattr(code, "value", code)) >= 0x80:
                raise DeviceFault(
                    self.name, self.address, f"the broker refused the subscription {topic_filter}"
                )

    async def _subscribe_all(self, client: aiomqtt.Client) -> None:
        wanted: dict[str, int] = {}
        for sub in self._subs:
            wanted[sub.topic_filter] = max(sub.qos, wanted.get(sub.topic_filter, 0))
        if wanted:
            try:
                await self._send_subscribe(client, list(wanted.items()))
            except DeviceFault as err:
                log.error("%s", err)

    # --- publishing --------------------------------------------------------------------

    async def publish(
        self,
        topic: str,
        payload: bytes | str,
        *,
        qos: int = 0,
        retain: bool = False,
        timeout_s: float = 5.0,
    ) -> None:
        """Publish, waiting up to ``timeout_s`` for the link to be up (and, for QoS 1/2, for
        the broker's acknowledgement). ConnectionLost when the link is down or drops,
        DeviceTimeout when the broker does not acknowledge in time."""
        check_topic(topic)
        deadline = asyncio.get_running_loop().time() + timeout_s
        client = _ON_CONNECT.get()
        if client is None or client is not self._client:
            client = await self._client_within(timeout_s)
        remaining = max(deadline - asyncio.get_running_loop().time(), 0.001)
        ended = self._ended[1] if self._ended is not None and self._ended[0] is client else None
        try:
            async with asyncio.timeout(remaining):
                publish = client.publish(topic, payload, qos=qos, retain=retain, timeout=math.inf)
                if qos == 0 or ended is None:
                    await publish
                else:
                    await self._acknowledged(publish, ended, topic)
        except TimeoutError:
            if self._client is not client:
                raise ConnectionLost(
                    self.name, self.address, f"connection lost while publishing to {topic}"
                ) from None
            raise DeviceTimeout(
                self.name, self.address, f"the broker did not acknowledge {topic} in {timeout_s} s"
            ) from None
        except aiomqtt.MqttError as err:
            raise ConnectionLost(
                self.name, self.address, f"cannot publish to {topic}: {err}"
            ) from err
        self.messages_out += 1

    async def _acknowledged(
        self, publish: Awaitable[None], ended: asyncio.Future[None], topic: str
    ) -> None:
        """A QoS 1/2 publish's acknowledgement, or ConnectionLost as soon as its connection
        ends: aiomqtt would wait on for a PUBACK that connection can no longer bring (the
        caller sends again on the next one)."""
        task = asyncio.ensure_future(publish)
        try:
            await asyncio.wait({task, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not task.done():
                task.cancel()
        if not task.done() or task.cancelled():
            raise ConnectionLost(
                self.name, self.address, f"connection lost before the broker acknowledged {topic}"
            )
        task.result()

    async def _client_within(self, timeout_s: float) -> aiomqtt.Client:
        if self._closing is not None:
            raise ConnectionLost(self.name, self.address, "the link is closed")
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    await self._up.wait()
                    if self._client is not None:
                        return self._client
                    await asyncio.sleep(0)
        except TimeoutError:
            why = f" (last error: {self.last_error.detail})" if self.last_error else ""
            raise ConnectionLost(
                self.name,
                self.address,
                f"not connected to the broker {self.address} within {timeout_s} s{why}",
            ) from None

    # --- the loop ----------------------------------------------------------------------

    async def run(self) -> None:
        """Connect and stay connected until :meth:`close` or :meth:`abort` (or cancellation).
        A broker that is down or refuses us is retried, never raised."""
        if self._loop_task is not None:
            raise RuntimeError(f"{self.name}: run() is already running")
        if self._closing is not None:
            return
        self._loop_task = asyncio.create_task(self._reconnect_loop(), name=f"{self.name}-mqtt")
        try:
            await self._loop_task
        except asyncio.CancelledError:
            if self._closing is None:  # our caller was cancelled, not close()
                raise
        finally:
            if not self._loop_task.done():
                self._loop_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._loop_task
            await self._dispatch.stop()

    async def _reconnect_loop(self) -> None:
        delay = self.section.reconnect_min_s
        while self._closing is None:
            connects = self._connects
            try:
                await self._session()
                error = ConnectionLost(self.name, self.address, "the broker ended the session")
            except aiomqtt.MqttError as err:
                error = describe(self.name, self.section, err, connected=self._connects > connects)
            except ConnectionLost as err:  # TLS files that cannot be loaded
                error = err
            if self._reconnect_why is not None:
                error = ConnectionLost(
                    self.name, self.address, f"reconnecting: {self._reconnect_why}"
                )
                self._reconnect_why = None
            if self._closing is not None:
                break
            if self._connects > connects:
                delay = self.section.reconnect_min_s
            self._set_state(False, error)
            jittered = delay * self._rng.uniform(0.8, 1.2)
            await asyncio.sleep(min(max(jittered, self.section.reconnect_min_s * 0.8), 3600))
            delay = min(delay * 2, self.section.reconnect_max_s)

    async def _session(self) -> None:
        client = self._new_client()
        await self._enter(client)
        self._client = client
        ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._ended = (client, ended)
        self._connects += 1
        if self._connects > 1:
            self.reconnects += 1
        try:
            await self._subscribe_all(client)
            token = _ON_CONNECT.set(client)
            try:
                if self.on_connect is not None:
                    await self.on_connect()
            except (aiomqtt.MqttError, ConnectionLost):
                raise
            except Exception:
                log.exception("%s: on_connect failed", self.name)
            finally:
                _ON_CONNECT.reset(token)
            self._set_state(True, None)
            silence: list[aiomqtt.MqttError] = []
            watchdog = asyncio.create_task(
                self._watch_liveness(client, silence), name=f"{self.name}-mqtt-liveness"
            )
            try:
                async for message in client.messages:
                    self._route(message)
            except aiomqtt.MqttError:
                if silence:
                    raise silence[0] from None
                raise
            finally:
                watchdog.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watchdog
        finally:
            self._client = None
            self._up.clear()
            if not ended.done():
                ended.set_result(None)  # publishes waiting for an acknowledgement give up
            if self._closing != "abort":
                with contextlib.suppress(aiomqtt.MqttError):  # sends DISCONNECT if still up
                    await client.__aexit__(None, None, None)

    async def _watch_liveness(
        self, client: aiomqtt.Client, silence: list[aiomqtt.MqttError]
    ) -> None:
        """The link's own keepalive watch, beside aiomqtt's.

        paho checks the keepalive (PINGREQ, then closes the socket when no packet came back)
        only when aiomqtt's "misc" task calls ``loop_misc``; seen once in a fault test, a
        link cut by a pulled cable then stayed "up" with nothing arriving for 30 s. Here
        ``loop_misc`` is called too, and a connection with no packet from the broker for
        twice the keepalive (a PINGRESP at least comes within one) is shut down and the
        session ended (the iteration sees ``_disconnected``, as aiomqtt's own write errors
        end it), whatever state aiomqtt's tasks are in."""
        paho = client._client
        keepalive = self.section.keepalive_s
        limit = 2 * keepalive + 1
        while True:
            await asyncio.sleep(min(1.0, keepalive / 2))
            paho.loop_misc()
            silent = paho_time() - paho._last_bytes_received
            if silent > limit:
                silence.append(
                    aiomqtt.MqttError(
                        f"nothing from the broker for {silent:.1f} s (keepalive {keepalive} s)"
                    )
                )
                sock = paho.socket()
                if isinstance(sock, socket.socket):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                if not client._disconnected.done():  # ends the message iteration
                    client._disconnected.set_exception(silence[0])
                return

    async def _enter(self, client: aiomqtt.Client) -> None:
        """Connect; cancelled meanwhile, let the connect (a thread) finish, then disconnect,
        so no socket or aiomqtt task outlives us."""
        entering = asyncio.ensure_future(client.__aenter__())
        try:
            await asyncio.shield(entering)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                async with asyncio.timeout(self.section.connect_timeout_s + 1):
                    await entering
                await client.__aexit__(None, None, None)
            raise

    def _tls(self) -> ssl.SSLContext | None:
        if self._ssl is None:
            self._ssl = tls_context(self.name, self.section)
        return self._ssl

    def _new_client(self) -> aiomqtt.Client:
        s = self.section
        will = self.will() if callable(self.will) else self.will
        client = aiomqtt.Client(
            s.host,
            s.port,
            username=s.username,
            password=self._password,
            identifier=self.client_id,
            will=aiomqtt.Will(will.topic, will.payload, will.qos, will.retain) if will else None,
            keepalive=s.keepalive_s,
            timeout=s.connect_timeout_s,
            tls_context=self._tls(),
        )
        fail_before_connack(client)
        return client

    def _route(self, message: aiomqtt.Message) -> None:
        topic = message.topic.value
        payload = message.payload
        if not isinstance(payload, bytes):
            payload = b"" if payload is None else str(payload).encode()
        self.messages_in += 1
        self.last_message_at = self._clock()
        matching = (s.handler for s in self._subs if topic_matches(s.topic_filter, topic))
        self._dispatch.put(topic, payload, bool(message.retain), tuple(dict.fromkeys(matching)))

    @property
    def handler_errors(self) -> int:
        """Handler calls that raised."""
        return self._dispatch.handler_errors

    @property
    def messages_dropped(self) -> int:
        """Messages dropped because their topic's handlers were too far behind."""
        return self._dispatch.dropped

    # --- ending ------------------------------------------------------------------------

    async def close(self) -> None:
        """Disconnect cleanly (DISCONNECT: the broker discards the will) and stop :meth:`run`."""
        if self._closing is None:
            self._closing = "close"
        await self._end()

    async def reconnect(self, why: str) -> None:
        """End the session now with DISCONNECT (the broker discards the will) and connect
        again after ``reconnect_min_s`` (jittered); ``why`` is logged. No-op while down."""
        client = self._client
        if client is None or self._closing is not None:
            return
        self._reconnect_why = why
        with contextlib.suppress(aiomqtt.MqttError):
            await client.__aexit__(None, None, None)

    async def abort(self) -> None:
        """Drop the socket without DISCONNECT, as a crash would: the broker publishes the
        will. For fault tests; the link does not reconnect."""
        self._closing = "abort"
        client = self._client
        sock = client._client.socket() if client is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            task = self._loop_task
            if task is not None and not task.done():  # paho sees the EOF and ends the session
                await asyncio.wait({task}, timeout=2.0)
        await self._end()

    async def _end(self) -> None:
        task = self._loop_task
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
        await self._dispatch.stop()
        self._up.clear()

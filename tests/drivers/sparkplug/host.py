"""A small Sparkplug primary host for tests: publishes its STATE, sends commands and
captures every message under ``spBv1.0/#`` as the broker delivered it.

It speaks MQTT 5 and subscribes with "retain as published", so the captured ``retain``
flag is the publisher's (MQTT 3.1.1 clears it on live messages), and at QoS 1, so the
captured QoS is the publisher's (0 or 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiomqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

from drivers.sparkplug import HostState, Payload, Topic, decode, state_topic


@dataclass(frozen=True)
class Seen:
    """One message as the host received it."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    at: float

    @property
    def sparkplug(self) -> Topic | None:
        """The parsed topic of an edge node message (None for STATE)."""
        return None if "/STATE/" in self.topic else Topic.parse(self.topic)

    def decoded(self, types: dict | None = None) -> Payload:
        """The Sparkplug payload."""
        return decode(self.payload, types)


class TestHost:
    """The host application ``host_id`` logged in as ``user``."""

    __test__ = False

    def __init__(
        self,
        port: int,
        host_id: str,
        user: str | None,
        password: str | None,
        address: str = "127.0.0.1",
    ):
        self.host_id = host_id
        self.seen: list[Seen] = []
        self._changed = asyncio.Event()
        self.born_at = now_ms()
        """The timestamp of its will (STATE offline): its first STATE online carries the same
        (the specification: a host's death certificate has its birth's timestamp), so edge
        nodes take the will when it comes."""
        self._client = aiomqtt.Client(
            address,
            port,
            identifier=f"host-{host_id}-{time.monotonic_ns()}",
            username=user,
            password=password,
            protocol=aiomqtt.ProtocolVersion.V5,
            will=aiomqtt.Will(
                state_topic(host_id), HostState(False, self.born_at).to_json(), qos=1, retain=True
            ),
        )
        self._reader: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def connected(self) -> AsyncIterator[TestHost]:
        """Connected and subscribed to everything for the block."""
        async with self._client:
            await self._client.subscribe(
                "spBv1.0/#", options=SubscribeOptions(qos=1, retainAsPublished=True)
            )
            self._reader = asyncio.create_task(self._read())
            try:
                yield self
            finally:
                self._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._reader

    async def _read(self) -> None:
        async for message in self._client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else b""
            self.seen.append(
                Seen(message.topic.value, payload, message.qos, bool(message.retain), time.time())
            )
            self._changed.set()

    async def state(self, online: bool, timestamp: int, *, retain: bool = True) -> None:
        """Publish this host's STATE (QoS 1)."""
        payload = HostState(online, timestamp).to_json()
        await self._client.publish(state_topic(self.host_id), payload, qos=1, retain=retain)

    async def send(self, topic: str, payload: bytes) -> None:
        """Publish a command (QoS 0, not retained: tck-id-topics-ncmd-mqtt)."""
        await self._client.publish(topic, payload, qos=0, retain=False)

    async def until(self, test: Callable[[list[Seen]], bool], timeout_s: float = 5.0) -> None:
        """Wait until ``test(seen)`` holds."""
        async with asyncio.timeout(timeout_s):
            while not test(self.seen):
                self._changed.clear()
                await self._changed.wait()

    def of(self, kind: str) -> list[Seen]:
        """The captured messages of message type ``kind`` (``NBIRTH``, …)."""
        return [s for s in self.seen if s.sparkplug is not None and s.sparkplug.type == kind]


def now_ms() -> int:
    """Wall-clock now in ms."""
    return int(time.time() * 1000)

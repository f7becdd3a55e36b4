"""MqttLink against a real Mosquitto on loopback: routing, retained, reconnect, will,
refused credentials, publishing while down, handlers that fail or are slow."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import time
from collections.abc import AsyncIterator

import pytest

from drivers.errors import ConnectionLost
from drivers.mqtt import MosquittoBroker, MqttLink, Will, topic_matches
from plc_configs.mqtt import MqttSection
from tests.conftest import free_port

_ids = itertools.count()


def unique(prefix: str) -> str:
    """A topic prefix (and client id part) no other test on the shared broker uses."""
    return f"t{time.monotonic_ns()}-{next(_ids)}/{prefix}"


def section(url: str, **kw: object) -> MqttSection:
    return MqttSection(url=url, reconnect_min_s=0.05, reconnect_max_s=0.2, **kw)


@contextlib.asynccontextmanager
async def running(link: MqttLink, *, connected: bool = True) -> AsyncIterator[MqttLink]:
    """The link's run() as a task for the block; closed (cleanly) at its end."""
    task = asyncio.create_task(link.run())
    try:
        if connected:
            await link.wait_connected(3)
        yield link
    finally:
        await link.close()
        await task


class Inbox:
    """A handler that collects what it is given; ``wait(n)`` until n arrived."""

    def __init__(self) -> None:
        self.got: list[tuple[str, bytes, bool]] = []
        self._changed = asyncio.Event()

    async def __call__(self, topic: str, payload: bytes, retain: bool) -> None:
        self.got.append((topic, payload, retain))
        self._changed.set()

    async def wait(self, n: int, timeout_s: float = 3.0) -> list[tuple[str, bytes, bool]]:
        async with asyncio.timeout(timeout_s):
            while len(self.got) < n:
                self._changed.clear()
                await self._changed.wait()
        return self.got


@pytest.mark.parametrize(
    ("topic_filter", "topic", "match"),
    [
        ("a/+/state", "a/v1/state", True),
        ("a/+/state", "a/v1/x/state", False),
        ("a/#", "a", True),
        ("a/#", "a/b/c", True),
        ("+/b", "/b", True),  # an empty first level is a level (MQTT 3.1.1 4.7.1.3)
        ("#", "$SYS/broker", False),
        ("$SYS/#", "$SYS/broker", True),
    ],
)
def test_topic_filters(topic_filter: str, topic: str, match: bool):
    assert topic_matches(topic_filter, topic) is match


def test_config_errors_are_clear(monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(ValueError, match="expected mqtt://HOST:PORT or mqtts://HOST:PORT"):
        MqttSection(url="tcp://127.0.0.1:1883")
    with pytest.raises(ValueError, match="expected host and port"):
        MqttSection(url="mqtt://127.0.0.1")
    monkeypatch.delenv("LANESORT_TEST_MQTT_PW", raising=False)
    s = MqttSection(url="mqtt://127.0.0.1:1883", username="u", password_env="LANESORT_TEST_MQTT_PW")
    with pytest.raises(ValueError, match="LANESORT_TEST_MQTT_PW is not set"):
        MqttLink("fleet", s, client_id="x")


async def test_wildcards_route_each_message_once_to_every_matching_handler(mqtt_broker):
    p = unique("uagv")
    link = MqttLink("fleet", section(mqtt_broker.url), client_id=unique("c").replace("/", "-"))
    states, everything = Inbox(), Inbox()
    await link.subscribe(f"{p}/+/state", states)  # before run()
    async with running(link):
        await link.subscribe(f"{p}/#", everything)  # after: acknowledged before it returns
        await link.subscribe(f"{p}/+/+", everything)  # overlaps: still once per message
        await link.publish(f"{p}/v1/state", b"s1", qos=1)
        await link.publish(f"{p}/v1/order", "o1")
        await link.publish(f"{p}/v2/state", b"s2")
        assert await everything.wait(3) == [
            (f"{p}/v1/state", b"s1", False),
            (f"{p}/v1/order", b"o1", False),
            (f"{p}/v2/state", b"s2", False),
        ]
        assert await states.wait(2) == [
            (f"{p}/v1/state", b"s1", False),
            (f"{p}/v2/state", b"s2", False),
        ]
        assert link.messages_out == 3
        assert link.messages_in == 3


async def test_a_retained_message_reaches_a_late_subscriber_marked_retained(mqtt_broker):
    p = unique("connection")
    async with running(MqttLink("a", section(mqtt_broker.url), client_id=p.replace("/", "-"))) as a:
        await a.publish(p, b'{"connectionState":"ONLINE"}', qos=1, retain=True)
    inbox = Inbox()
    async with running(MqttLink("b", section(mqtt_broker.url), client_id=p.replace("/", "_"))) as b:
        await b.subscribe(p, inbox, qos=1)
        assert await inbox.wait(1) == [(p, b'{"connectionState":"ONLINE"}', True)]
        await b.publish(p, b"", retain=True)  # clear it: the session broker is shared


async def test_resubscribed_and_flowing_again_after_a_broker_restart(
    private_mqtt_broker: MosquittoBroker,
):
    url = private_mqtt_broker.url
    changes: list[bool] = []
    back_up = asyncio.Event()
    onlines: list[str] = []
    link = MqttLink("fleet", section(url), client_id="master")

    async def online() -> None:  # may publish before the link counts as up
        await link.publish("c/master", b"ONLINE", qos=1, retain=True)
        onlines.append("ONLINE")

    link.on_connect = online

    def changed(up: bool, error: ConnectionLost | None) -> None:
        changes.append(up)
        if changes == [True, False, True]:
            back_up.set()

    link.add_listener(changed)
    inbox = Inbox()
    await link.subscribe("v/+/state", inbox)
    async with running(link):
        await link.publish("v/1/state", b"before")
        await inbox.wait(1)
        private_mqtt_broker.restart()
        async with asyncio.timeout(3):
            await back_up.wait()
        await link.publish("v/1/state", b"after")
        assert [m[1] for m in await inbox.wait(2)] == [b"before", b"after"]
        assert link.reconnects == 1
        assert onlines == ["ONLINE", "ONLINE"]
        assert "lost the connection to broker" in str(link.last_error)


async def test_the_will_is_sent_after_abort_and_not_after_close(mqtt_broker):
    p = unique("connection")
    watcher = MqttLink("watch", section(mqtt_broker.url), client_id=p.replace("/", "-") + "w")
    seen = Inbox()
    await watcher.subscribe(f"{p}/#", seen)
    async with running(watcher):
        will = Will(f"{p}/v1", b"CONNECTIONBROKEN", qos=1)
        clean = MqttLink(
            "v1", section(mqtt_broker.url), client_id=p.replace("/", "-") + "1", will=will
        )
        async with running(clean):
            pass  # close(): DISCONNECT, the broker discards the will
        # close() returned after the broker closed the socket: a will would already be queued
        # to the watcher, ahead of this marker.
        await watcher.publish(f"{p}/marker", b"m", qos=1)
        assert [m[1] for m in await seen.wait(1)] == [b"m"]

        crashed = MqttLink(
            "v1", section(mqtt_broker.url), client_id=p.replace("/", "-") + "2", will=will
        )
        task = asyncio.create_task(crashed.run())
        await crashed.wait_connected(3)
        await crashed.abort()
        await task
        assert (await seen.wait(2))[1] == (f"{p}/v1", b"CONNECTIONBROKEN", False)
        assert not crashed.connected


async def refusals(cfg: MqttSection) -> list[ConnectionLost | None]:
    """The down notifications a link to a refusing broker gives over a few retries."""
    link = MqttLink("fleet", cfg, client_id="m")
    down = asyncio.Event()
    errors: list[ConnectionLost | None] = []

    def changed(up: bool, error: ConnectionLost | None) -> None:
        errors.append(error)
        down.set()

    link.add_listener(changed)
    async with running(link, connected=False):
        async with asyncio.timeout(3):
            await down.wait()
        await asyncio.sleep(0.15)  # a few retries more (every 50-200 ms): still one notification
    return errors


async def test_wrong_password_and_anonymous_are_refused_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("LANESORT_TEST_MQTT_PW", "wrong")
    with MosquittoBroker(free_port(), users={"master": "right"}) as broker:
        wrong = section(broker.url, username="master", password_env="LANESORT_TEST_MQTT_PW")
        [error] = await refusals(wrong)
        assert f"fleet ({broker.url}): broker {broker.url} refused the connection: " in str(error)
        assert "not authorised (check username and password_env)" in str(error)
        [error] = await refusals(section(broker.url))
        assert "no username is configured, and the broker refuses anonymous" in str(error)


async def test_publish_while_down_raises_connection_lost_within_its_timeout():
    url = f"mqtt://127.0.0.1:{free_port()}"  # nothing listens
    async with running(MqttLink("fleet", section(url), client_id="m"), connected=False) as link:
        started = time.monotonic()
        with pytest.raises(
            ConnectionLost, match=r"fleet \(mqtt://127\.0\.0\.1:\d+\): not connected"
        ) as err:
            await link.publish("a/b", b"x", timeout_s=0.2)
        assert time.monotonic() - started < 1.0
        assert "Connection refused" in str(err.value)
        assert link.messages_out == 0


async def test_a_raising_or_slow_handler_does_not_stop_the_others(mqtt_broker):
    p = unique("h")
    link = MqttLink("fleet", section(mqtt_broker.url), client_id=p.replace("/", "-"))
    release, slow_done = asyncio.Event(), asyncio.Event()
    slow_seen: list[bytes] = []

    async def broken(topic: str, payload: bytes, retain: bool) -> None:
        raise RuntimeError("bug in a handler")

    async def slow(topic: str, payload: bytes, retain: bool) -> None:
        slow_seen.append(payload)
        await release.wait()
        if payload == b"s2":
            slow_done.set()

    ordered, fast = Inbox(), Inbox()
    await link.subscribe(f"{p}/a", broken)
    await link.subscribe(f"{p}/a", ordered)
    await link.subscribe(f"{p}/slow", slow)
    await link.subscribe(f"{p}/fast", fast)
    async with running(link):
        await link.publish(f"{p}/slow", b"s1")
        await link.publish(f"{p}/slow", b"s2")
        for i in range(5):
            await link.publish(f"{p}/a", str(i).encode())
        await link.publish(f"{p}/fast", b"f")
        # topic a and fast are handled while slow's handler is still stuck on s1
        assert [m[1] for m in await ordered.wait(5)] == [b"0", b"1", b"2", b"3", b"4"]
        await fast.wait(1)
        assert slow_seen == [b"s1"]
        assert link.handler_errors == 5
        release.set()
        async with asyncio.timeout(2):
            await slow_done.wait()
        assert slow_seen == [b"s1", b"s2"]


async def test_tls_to_a_plain_listener_says_tls(mqtt_broker):
    url = mqtt_broker.url.replace("mqtt://", "mqtts://")
    [error] = await refusals(section(url))
    assert f"broker {url}" in str(error)
    assert "TLS" in str(error)


async def test_a_will_factory_is_asked_per_connect_and_reconnect_sends_disconnect(mqtt_broker):
    p = unique("factory")
    watcher = MqttLink("watch", section(mqtt_broker.url), client_id=p.replace("/", "-") + "w")
    seen = Inbox()
    await watcher.subscribe(f"{p}/#", seen)
    made: list[int] = []

    def will() -> Will:
        made.append(len(made))
        return Will(f"{p}/death", str(made[-1]).encode(), qos=1)

    async with running(watcher):
        link = MqttLink(
            "node", section(mqtt_broker.url), client_id=p.replace("/", "-") + "n", will=will
        )
        task = asyncio.create_task(link.run())
        await link.wait_connected(3)
        assert made == [0]
        await link.reconnect("a test")  # DISCONNECT: the broker discards will 0
        async with asyncio.timeout(3):
            while not (link.connected and link.reconnects == 1):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        assert made == [0, 1]
        assert "reconnecting: a test" in str(link.last_error)
        await link.abort()  # the broker publishes will 1, the one of this connection
        await task
        assert [m[1] for m in await seen.wait(1)] == [b"1"]


async def test_a_silent_broker_is_noticed_even_when_aiomqtts_keepalive_task_is_gone(
    private_mqtt_broker: MosquittoBroker,
):
    """A broker that stops answering (SIGSTOP: the TCP connection stays up, as with a pulled
    cable) is noticed within about twice the keepalive by the link's own watch, also when
    aiomqtt's task that runs paho's keepalive checks has stopped (seen once in a fault test:
    a link stayed "up" for 30 s after its cable was pulled)."""
    link = MqttLink("silent", section(private_mqtt_broker.url, keepalive_s=1), client_id="quiet")
    downs: list[tuple[float, str]] = []
    link.add_listener(lambda up, err: None if up else downs.append((time.monotonic(), str(err))))
    async with running(link):
        client = link._client
        assert client is not None
        client._misc_task.cancel()  # aiomqtt's loop_misc task: paho's keepalive checks stop
        frozen = time.monotonic()
        os.kill(private_mqtt_broker.pid, signal.SIGSTOP)
        try:
            async with asyncio.timeout(6):
                while not downs:  # noqa: ASYNC110 (a test's poll)
                    await asyncio.sleep(0.05)
        finally:
            os.kill(private_mqtt_broker.pid, signal.SIGCONT)
        noticed_s = downs[0][0] - frozen
        assert noticed_s < 2 * 1 + 1 + 1.5  # twice the keepalive, +1 s, +the watch's period
        assert "silent" in downs[0][1]
        await link.wait_connected(5)  # and back once the broker answers again


async def test_a_publish_waiting_for_its_acknowledgement_fails_as_soon_as_the_link_drops(
    private_mqtt_broker: MosquittoBroker,
):
    """The broker stops answering with a QoS 1 publish in flight: when the link's watch ends
    the connection, the publish fails with ConnectionLost at once, not at its timeout
    (aiomqtt would wait on for a PUBACK that connection can no longer bring)."""
    link = MqttLink("acks", section(private_mqtt_broker.url, keepalive_s=1), client_id="acks")
    downs: list[float] = []
    link.add_listener(lambda up, _err: None if up else downs.append(time.monotonic()))
    async with running(link):
        os.kill(private_mqtt_broker.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(ConnectionLost, match="before the broker acknowledged a/b"):
                await link.publish("a/b", b"x", qos=1, timeout_s=20)
            failed_s = time.monotonic() - started
        finally:
            os.kill(private_mqtt_broker.pid, signal.SIGCONT)
        assert downs and downs[0] - started < failed_s + 0.5  # it failed when the link fell
        assert failed_s < 8  # the watch's 2 x keepalive + 1 s, far from the 20 s timeout
        assert link.messages_out == 0
        await link.wait_connected(5)
        await link.publish("a/b", b"x", qos=1, timeout_s=5)  # and on the next connection
        assert link.messages_out == 1

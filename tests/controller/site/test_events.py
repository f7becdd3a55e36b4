import asyncio
import contextlib
import json
from pathlib import Path

import aiomqtt

from controller.alarms.board import AlarmBoard
from controller.journal.writer import Journal
from controller.parcels.state import ParcelTracker
from controller.site.events import ALARM_SITE_EVENTS, SiteEvents
from drivers.mqtt.broker import MosquittoBroker
from plc_configs.mqtt import MqttSection
from tests.controller.site.helpers import journal_rows, write_parcels
from tests.controller.upstream.helpers import until


class _Subscriber:
    """A durable consumer: a persistent session (clean_session false) at QoS 1 that
    reconnects, keeping every message it gets."""

    def __init__(self, port: int, topic: str):
        self.port, self.topic = port, topic
        self.got: list[tuple[str, dict, int]] = []
        self.connected = asyncio.Event()

    async def run(self) -> None:
        while True:
            with contextlib.suppress(aiomqtt.MqttError):
                async with aiomqtt.Client(
                    "127.0.0.1", self.port, identifier="site-consumer", clean_session=False
                ) as client:
                    await client.subscribe(self.topic, qos=1)
                    self.connected.set()
                    async for message in client.messages:
                        body = json.loads(message.payload)
                        self.got.append((message.topic.value, body, message.qos))
            self.connected.clear()
            await asyncio.sleep(0.05)


def _section(url: str) -> MqttSection:
    return MqttSection(url=url, reconnect_min_s=0.05, reconnect_max_s=0.2, keepalive_s=5)


def _outbox(path: Path, types: tuple[str, ...]) -> list[tuple[int, str, str]]:
    marks = ",".join(f"'{t}'" for t in types)
    return journal_rows(path, f"SELECT id, event_id, type FROM outbox WHERE type IN ({marks})")


async def test_events_in_outbox_order_at_qos1_with_their_ids(tmp_path, mqtt_broker):
    journal = Journal(tmp_path / "journal.sqlite", "L1")
    await journal.open()
    types = ("parcel.sorted", "parcel.rejected")  # parcel.measured is not wanted here
    events = SiteEvents("hub1", "L1", _section(mqtt_broker.url), journal.path, types, batch=4)
    journal.commit_listeners.append(events.notify_threadsafe)
    sub = _Subscriber(mqtt_broker.port, "lanesort/v1/hub1/L1/events/#")
    tracker = ParcelTracker()
    async with asyncio.TaskGroup() as group:
        consumer = group.create_task(sub.run())
        await asyncio.wait_for(sub.connected.wait(), 5)
        publisher = group.create_task(events.run())
        await write_parcels(journal, tracker, 1, 10)
        await until(lambda: len(sub.got) == 10)
        publisher.cancel()
        consumer.cancel()
    wanted = _outbox(journal.path, types)
    assert [(b["event_id"], b["type"]) for _, b, _ in sub.got] == [(e, t) for _, e, t in wanted]
    assert [t for t, _, _ in sub.got] == [f"lanesort/v1/hub1/L1/events/{t}" for *_, t in wanted]
    assert {qos for *_, qos in sub.got} == {1}
    assert events.stats().published == 10 and events.stats().cursor == wanted[-1][0]
    # the cursor is in the journal, past the last row (a measured one is skipped, not sent)
    (top,) = journal_rows(journal.path, "SELECT max(id) FROM outbox")[0]
    assert journal_rows(journal.path, "SELECT last_id FROM site_event_cursor") == [(top,)]
    await journal.close()


async def test_a_broker_restart_loses_nothing_and_keeps_each_parcels_order(tmp_path):
    broker = _PersistentBroker(_free_port(), allow_anonymous=True)
    await asyncio.to_thread(broker.start)
    journal = Journal(tmp_path / "journal.sqlite", "L1")
    await journal.open()
    alarms = AlarmBoard()
    types = ("parcel.measured", "parcel.sorted", "parcel.rejected")
    events = SiteEvents(
        "hub1",
        "L1",
        _section(broker.url),
        journal.path,
        types,
        alarms=alarms,
        publish_timeout_s=0.5,
    )
    journal.commit_listeners.append(events.notify_threadsafe)
    sub = _Subscriber(broker.port, "lanesort/v1/hub1/L1/events/#")
    tracker = ParcelTracker()
    try:
        async with asyncio.TaskGroup() as group:
            consumer = group.create_task(sub.run())
            await asyncio.wait_for(sub.connected.wait(), 5)
            publisher = group.create_task(events.run())
            await write_parcels(journal, tracker, 1, 6)
            await until(lambda: len(sub.got) == len(_outbox(journal.path, types)))
            await asyncio.to_thread(broker.stop)
            await write_parcels(journal, tracker, 7, 6)  # the line sorts on
            await until(lambda: alarms.get(ALARM_SITE_EVENTS) is not None)
            before = events.stats().cursor
            await asyncio.to_thread(broker.start)
            await write_parcels(journal, tracker, 13, 3)
            await until(lambda: len({b["event_id"] for _, b, _ in sub.got}) == 20, 10)
            publisher.cancel()
            consumer.cancel()
    finally:
        await asyncio.to_thread(broker.close)
    wanted = [e for _, e, _ in _outbox(journal.path, types)]
    got = [b["event_id"] for _, b, _ in sub.got]
    assert set(got) == set(wanted) and len(wanted) == 20  # at least once: none lost
    first = {e: got.index(e) for e in wanted}  # duplicates allowed, the first copy in order
    assert sorted(wanted, key=first.__getitem__) == wanted
    assert before < events.stats().cursor
    assert not alarms.get(ALARM_SITE_EVENTS).condition_active  # cleared once published again
    await journal.close()


def _free_port() -> int:
    from tests.conftest import free_port

    return free_port()


class _PersistentBroker(MosquittoBroker):
    """A Mosquitto that keeps its sessions and queued messages across a restart (the site
    broker a durable consumer relies on): ``persistence true`` in its directory."""

    def _write_config(self, directory: Path) -> Path:
        path = super()._write_config(directory)
        text = path.read_text().replace(
            "persistence false", f"persistence true\npersistence_location {directory}/"
        )
        path.write_text(text)
        return path

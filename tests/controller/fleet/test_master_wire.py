"""The fleet master against the vehicle simulator (``simulators.fleet``) over a real
Mosquitto: an order's life to delivered with its horizon released in stitched updates, a
refused order re-planned onto another vehicle, a pick that fails, a lost vehicle that
comes back, cancel and pause. Every order and instant action the master publishes in
these runs is checked against the official VDA 5050 2.1.0 schemas."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiomqtt
import pytest

from controller.alarms.board import AlarmBoard
from controller.auth import audit as audit_log
from controller.auth.audit import CONSOLE, AuditLog
from controller.fleet.service import FleetService
from controller.fleet.tasks import TaskState
from controller.journal.writer import Journal
from drivers.mqtt.link import MqttLink
from drivers.vda5050.fleet_link import FleetLink
from plc_configs.fleet import FleetSimulation
from plc_configs.loader import load_line_config
from simulators.fleet.fleet import SimulatedFleet
from tests.controller.fleet.conftest import ROOT, fleet_section
from tests.controller.line.helpers import until

SIM = FleetSimulation(speed_m_s=25.0, action_s=0.05, state_interval_s=0.5, charge_pct_per_min=3000)


async def _record(url: str, seen: list[tuple[str, dict[str, Any]]], ready: asyncio.Event) -> None:
    """Every order and instant action on the broker, as the vehicles receive them."""
    host, port = url.removeprefix("mqtt://").split(":")
    async with aiomqtt.Client(host, int(port), identifier="test-recorder") as client:
        await client.subscribe("uagv/v2/+/+/order")
        await client.subscribe("uagv/v2/+/+/instantActions")
        ready.set()
        async for message in client.messages:
            kind = str(message.topic).rsplit("/", 1)[1]
            seen.append((kind, json.loads(bytes(message.payload))))


@pytest.fixture
async def fleet(mqtt_broker, tmp_path, schema) -> AsyncIterator[Callable[..., Any]]:
    """``await fleet([serials], **dispatch)`` -> (master, simulated vehicles, recorded)."""
    started: list[Any] = []

    async def make(serials: list[str], **dispatch: Any):
        section = fleet_section(mqtt_broker.url, order_accept_s=1.0, **dispatch)
        section = section.model_copy(
            update={"vehicles": [v for v in section.vehicles if v.serial_number in serials]}
        )
        line = load_line_config(ROOT / "plc_configs" / "demo-line-fleet.yaml")
        line = line.model_copy(update={"fleet": section})
        journal = Journal(tmp_path / "journal.sqlite", "fleet-test")
        journal.add_schema(audit_log.SCHEMA)
        audit = AuditLog(journal.append, journal.path, lambda: 0.0)
        link = FleetLink(section, MqttLink("fleet", section.mqtt, client_id="master-test"))
        service = FleetService(
            section, journal, AlarmBoard(), audit, link, tick_s=0.02, park_idle_after_s=None
        )
        await journal.open()
        seen: list[tuple[str, dict[str, Any]]] = []
        ready = asyncio.Event()
        recorder = asyncio.create_task(_record(mqtt_broker.url, seen, ready))
        await ready.wait()
        vehicles = SimulatedFleet(line, mqtt_broker.url, settings=SIM, seed=1, tick_s=0.01)
        runner = asyncio.create_task(service.run(), name="fleet-service")
        started.append((runner, recorder, journal, vehicles, seen))
        await link.mqtt.wait_connected(5)
        await vehicles.start()
        await until(lambda: all(t.state is not None for t in service.tracker.vehicles.values()))
        return service, vehicles, seen

    yield make
    for runner, recorder, journal, vehicles, seen in started:
        await vehicles.stop()
        for task in (runner, recorder):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await journal.close()
        for kind, message in seen:  # every order and instant action, schema-valid
            schema(kind).validate(message)


async def test_a_task_is_delivered_with_its_horizon_released_in_stitched_updates(fleet, tmp_path):
    service, vehicles, seen = await fleet(["AMR-01"], base_nodes=2)
    changes: list[str] = []
    service.listeners.append(lambda task, change: changes.append(change))
    task = service.create_task("W1-C0003", "wall-W1", "door-D02")
    await until(lambda: task.state is TaskState.DELIVERED, within=15)
    assert str(task.location) == "at station door-D02"
    assert changes[:2] == ["created", "assigned"] and changes[-1] == "delivered"
    assert "carrying" in changes
    orders = [m for kind, m in seen if kind == "order" and m["orderId"] == task.order_id]
    assert [o["orderUpdateId"] for o in orders] == list(range(len(orders)))
    assert len(orders) >= 3  # PK1 X1 W1 X1 X2 X4 D02, two nodes released at a time
    for before, update in itertools.pairwise(orders):
        base_end = [n for n in before["nodes"] if n["released"]][-1]
        first = update["nodes"][0]
        assert (first["nodeId"], first["sequenceId"]) == (
            base_end["nodeId"],
            base_end["sequenceId"],
        )
    assert vehicles.loads("AMR-01") == []  # dropped at the door
    await service.journal.barrier()
    with sqlite3.connect(tmp_path / "journal.sqlite") as db:
        (state,) = db.execute("SELECT state FROM fleet_tasks WHERE id = ?", (task.id,)).fetchone()
        events = db.execute("SELECT count(*) FROM fleet_task_events").fetchone()[0]
    assert state == "delivered" and events >= 4


async def test_a_refused_order_goes_to_another_vehicle_and_a_failed_pick_fails_the_task(fleet):
    service, vehicles, _ = await fleet(["AMR-01", "AMR-03"])
    vehicles.reject_next_order("AMR-03")  # PK3 is nearest wall-W1 by lane: AMR-03 gets it
    task = service.create_task("W1-C0004", "wall-W1", "door-D01")
    await until(lambda: task.state is TaskState.DELIVERED, within=15)
    assert task.vehicle == "LaneSim/AMR-01" and task.replans == 1 and task.attempts == 2
    for serial in ("AMR-01", "AMR-03"):
        vehicles.fail_next_action(serial)
    failing = service.create_task("W2-C0001", "wall-W2", "door-D02")
    await until(lambda: failing.state is TaskState.FAILED, within=15)
    assert "pick failed" in failing.reason
    assert str(failing.location) == "at station wall-W2"  # never picked: still at the wall
    assert any(a.key == f"fleet-task:{failing.id}" for a in service.alarms.active())


async def test_a_lost_vehicle_keeps_its_container_and_delivers_when_back(fleet):
    service, vehicles, _ = await fleet(["AMR-01"], lost_after_s=1.5)
    task = service.create_task("W1-C0005", "wall-W1", "door-D02")
    await until(lambda: task.state is TaskState.CARRYING, within=15)
    await service.pause(CONSOLE, "hold it while it is away")
    await until(lambda: vehicles.vehicles["AMR-01"].model.paused)
    vehicles.drop_off("AMR-01", 3.0)
    await until(lambda: service.tracker["LaneSim/AMR-01"].lost, within=5)
    assert task.state is TaskState.CARRYING and task.vehicle == "LaneSim/AMR-01"
    assert str(task.location).startswith("on vehicle LaneSim/AMR-01, last at node")
    assert any(a.key == "fleet-lost:LaneSim/AMR-01" for a in service.alarms.active())
    await until(lambda: not service.tracker["LaneSim/AMR-01"].lost, within=10)
    await service.resume(CONSOLE, "back")
    await until(lambda: task.state is TaskState.DELIVERED, within=15)
    lost = [a for a in service.alarms.active() if a.key == "fleet-lost:LaneSim/AMR-01"]
    assert lost and not lost[0].condition_active  # returned: only its acknowledgement waits


async def test_cancel_while_carrying_leaves_the_container_on_the_vehicle(fleet):
    service, vehicles, _ = await fleet(["AMR-02"])
    task = service.create_task("W2-C0009", "wall-W2", "door-D01")
    await until(lambda: task.state is TaskState.CARRYING, within=15)
    await service.cancel_task(task.id, CONSOLE, "truck left")
    await until(lambda: task.state is TaskState.CANCELLED, within=10)
    assert str(task.location).startswith("on vehicle LaneSim/AMR-02")
    assert [load.load_id for load in vehicles.loads("AMR-02")] == ["W2-C0009"]


async def test_a_low_battery_sends_the_vehicle_to_a_charger_and_back_to_work(fleet):
    service, vehicles, seen = await fleet(["AMR-01"], min_battery_pct=30, charged_pct=60)
    model = vehicles.vehicles["AMR-01"].model
    vehicles.set_battery("AMR-01", 15)
    await until(lambda: model.charging, within=15)
    task = service.create_task("W1-C0010", "wall-W1", "door-D01")
    await asyncio.sleep(0.3)
    assert task.state is TaskState.QUEUED  # nobody with enough battery yet
    await until(lambda: task.state is TaskState.DELIVERED, within=30)
    assert not model.charging and model.battery >= 60
    kinds = [a["actionType"] for kind, m in seen if kind == "instantActions" for a in m["actions"]]
    charge = [a["actionType"] for kind, m in seen if kind == "order" for n in m["nodes"]
              for a in n["actions"]]  # fmt: skip
    assert "startCharging" in charge and "stopCharging" in kinds

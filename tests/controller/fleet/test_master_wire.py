"""The fleet master over a real Mosquitto against scripted vehicles: an order's life to
delivered with its horizon released piece by piece, a refused order re-planned, a pick
that fails, a lost vehicle, cancel and pause."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from controller.alarms.board import AlarmBoard
from controller.auth.audit import CONSOLE, AuditLog
from controller.fleet.service import FleetService
from controller.fleet.tasks import TaskState
from controller.journal.writer import Journal
from drivers.mqtt.link import MqttLink
from drivers.vda5050.fleet_link import FleetLink
from tests.controller.fleet.conftest import fleet_section
from tests.controller.fleet.vehicle import Vehicle
from tests.controller.line.helpers import until


@pytest.fixture
async def line(mqtt_broker, tmp_path) -> AsyncIterator[Callable[..., Any]]:
    """``await line(vehicles={serial: node}, **dispatch)`` -> (service, vehicles by serial)."""
    started: list[Any] = []

    async def make(vehicles: dict[str, str], **dispatch: Any):
        fleet = fleet_section(mqtt_broker.url, order_accept_s=1.0, **dispatch)
        fleet = fleet.model_copy(
            update={"vehicles": [v for v in fleet.vehicles if v.serial_number in vehicles]}
        )
        journal = Journal(tmp_path / "journal.sqlite", "fleet-test")
        alarms = AlarmBoard()
        audit = AuditLog(journal.append, journal.path, lambda: 0.0)
        link = FleetLink(fleet, MqttLink("fleet", fleet.mqtt, client_id=f"master-{id(fleet)}"))
        service = FleetService(
            fleet, journal, alarms, audit, link, tick_s=0.02, park_idle_after_s=None
        )
        await journal.open()
        cars = {s: Vehicle(mqtt_broker.url, s, node) for s, node in vehicles.items()}
        runner = asyncio.create_task(service.run(), name="fleet-service")
        started.append((runner, journal, cars))
        await link.mqtt.wait_connected(5)
        for car in cars.values():
            await car.start()
        await until(lambda: all(t.state is not None for t in service.tracker.vehicles.values()))
        return service, cars

    yield make
    for runner, journal, cars in started:
        for car in cars.values():
            await car.stop()
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await journal.close()


async def test_a_task_is_delivered_with_its_horizon_released_in_stitched_updates(line, tmp_path):
    service, cars = await line({"AMR-01": "PK1"}, base_nodes=2)
    changes: list[str] = []
    service.listeners.append(lambda task, change: changes.append(change))
    task = service.create_task("W1-C0003", "wall-W1", "door-D02")
    await until(lambda: task.state is TaskState.DELIVERED)
    assert str(task.location) == "at station door-D02"
    assert changes[:2] == ["created", "assigned"] and changes[-1] == "delivered"
    assert "carrying" in changes
    orders = cars["AMR-01"].orders
    assert [o["orderUpdateId"] for o in orders] == list(range(len(orders)))
    assert len(orders) >= 3  # PK1 X1 W1 X1 X2 X4 D02 in pieces of two nodes
    assert [o["headerId"] for o in orders] == list(range(len(orders)))
    await service.journal.barrier()
    with sqlite3.connect(tmp_path / "journal.sqlite") as db:
        (state,) = db.execute("SELECT state FROM fleet_tasks WHERE id = ?", (task.id,)).fetchone()
        events = db.execute("SELECT count(*) FROM fleet_task_events").fetchone()[0]
    assert state == "delivered" and events >= 4
    assert service.snapshot()["counters"]["delivered"] == 1


async def test_a_refused_order_goes_to_another_vehicle_and_a_failed_pick_fails_the_task(line):
    service, cars = await line({"AMR-01": "X1", "AMR-02": "PK4"})
    cars["AMR-01"].reject = "validationError"
    task = service.create_task("W1-C0004", "wall-W1", "door-D01")
    await until(lambda: task.state is TaskState.DELIVERED)
    assert task.vehicle == "LaneSim/AMR-02" and task.replans == 1 and task.attempts == 2
    cars["AMR-01"].reject = None
    cars["AMR-02"].fail.add("pick")
    cars["AMR-01"].fail.add("pick")
    failing = service.create_task("W2-C0001", "wall-W2", "door-D02")
    await until(lambda: failing.state is TaskState.FAILED)
    assert "pick failed" in failing.reason
    assert str(failing.location) == "at station wall-W2"  # never picked: still at the wall
    assert any(a.key == f"fleet-task:{failing.id}" for a in service.alarms.active())


async def test_a_lost_vehicle_keeps_its_container_cancel_and_pause(line):
    service, cars = await line({"AMR-01": "W1"}, lost_after_s=0.3)
    car = cars["AMR-01"]
    task = service.create_task("W1-C0005", "wall-W1", "door-D02")
    await until(lambda: task.state is TaskState.CARRYING)
    car.silent = True
    car.state["paused"] = True  # stands where it is
    await until(lambda: service.tracker["LaneSim/AMR-01"].lost)
    assert task.state is TaskState.CARRYING and task.vehicle == "LaneSim/AMR-01"
    assert str(task.location).startswith("on vehicle LaneSim/AMR-01, last at node")
    assert any(a.key == "fleet-lost:LaneSim/AMR-01" for a in service.alarms.active())
    car.silent = False
    await car.publish()
    await until(lambda: not service.tracker["LaneSim/AMR-01"].lost)
    await service.cancel_task(task.id, CONSOLE, "truck left")
    await until(lambda: task.state is TaskState.CANCELLED)
    assert str(task.location).startswith("on vehicle LaneSim/AMR-01")
    car.state["paused"] = False
    await service.pause(CONSOLE, "aisle blocked")
    await until(lambda: car.state["paused"] is True)
    await service.resume(CONSOLE, "clear")
    await until(lambda: service.tracker["LaneSim/AMR-01"].state.paused is False)

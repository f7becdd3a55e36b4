"""The demo's AMR fleet: its own Mosquitto, the simulated vehicles, trucks docking, figures.

With ``fleet.enabled`` the demo starts a Mosquitto broker on a free loopback port (a
generated config; the site's broker in ``fleet.mqtt`` is not used) that refuses anonymous
clients: the line logs in as ``lanesort`` and the vehicles as ``vehicles``, each with a
password made for this run and passed in an environment variable (never on a command
line or in a file). It points the line at it, then starts the vehicle simulator as its
own process (``python -m simulators fleet``), which answers on the broker for every
vehicle of the config. At the times of
``simulation.fleet.truck_arrivals`` it tells the line a truck has docked, as the TMS does
(``POST /api/v1/trucks/{truck}/docked``). :func:`figures` is the report's ``fleet``
section: containers moved, stored, retrieved, delivered to their door in load order, and
tasks failed by reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import sys
import time
from pathlib import Path
from typing import Any

from controller.auth.audit import Actor
from controller.cli.child_process import ChildProcess
from controller.line import LineController
from drivers.mqtt.broker import MosquittoBroker
from plc_configs.schema import LineConfig

#: Where the line and the vehicles find their broker passwords in the demo.
LINE_PASSWORD_ENV = "LANESORT_DEMO_MQTT_PASSWORD"
VEHICLES_PASSWORD_ENV = "LANESORT_DEMO_VEHICLES_PASSWORD"

#: The demo's stand-in for the TMS telling a truck has docked.
DEMO_TMS = Actor("demo-tms", "tms", "console")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FleetDemo:
    """The broker and the vehicle simulator of one demo run."""

    def __init__(self, config_path: Path, data_dir: Path, seed: int | None):
        self.config_path = config_path
        self.data_dir = data_dir
        self.seed = seed
        self.broker: MosquittoBroker | None = None
        self.vehicles = ChildProcess("vehicle simulator", data_dir / "vehicles.log")
        self._arrivals: asyncio.Task[None] | None = None

    async def start(self, config: LineConfig) -> LineConfig:
        """Start the broker and the vehicles; the config pointed at the broker."""
        line_pw, vehicles_pw = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
        broker = MosquittoBroker(
            _free_port(), users={"lanesort": line_pw, "vehicles": vehicles_pw}, name="demo-broker"
        )
        broker.start()  # on the loop's thread: the broker dies with this process
        self.broker = broker
        print(
            f"MQTT broker on {broker.url} (users lanesort and vehicles; anonymous refused)",
            flush=True,
        )
        os.environ[LINE_PASSWORD_ENV] = line_pw
        assert config.fleet.mqtt is not None
        mqtt = config.fleet.mqtt.model_copy(
            update={"url": broker.url, "username": "lanesort", "password_env": LINE_PASSWORD_ENV}
        )
        config = config.model_copy(update={"fleet": config.fleet.model_copy(update={"mqtt": mqtt})})
        args = [sys.executable, "-m", "simulators", "fleet", "--config", str(self.config_path),
                "--broker", broker.url, "--username", "vehicles",
                "--password-env", VEHICLES_PASSWORD_ENV]  # fmt: skip
        if self.seed is not None:
            args += ["--seed", str(self.seed)]
        env = {**os.environ, VEHICLES_PASSWORD_ENV: vehicles_pw}
        env.pop(LINE_PASSWORD_ENV, None)
        ready = await self.vehicles.start(args, timeout_s=30, env=env)
        print(f"vehicle simulator ready: {ready.get('vehicles')}", flush=True)
        return config

    def schedule_arrivals(self, line: LineController) -> None:
        """Dock the trucks at ``simulation.fleet.truck_arrivals`` (seconds from now)."""
        arrivals = line.config.simulation.fleet.truck_arrivals
        if arrivals and line.transport is not None:
            self._arrivals = asyncio.create_task(self._dock_on_time(line, arrivals))

    async def _dock_on_time(self, line: LineController, arrivals: list[tuple[str, float]]) -> None:
        started = time.monotonic()
        for truck, at_s in sorted(arrivals, key=lambda a: a[1]):
            await asyncio.sleep(max(0.0, at_s - (time.monotonic() - started)))
            assert line.transport is not None
            door = line.transport.dock(truck, None, DEMO_TMS, "the TMS: truck at its door")
            print(f"truck {truck} docked at door {door}", flush=True)

    async def arrivals_done(self) -> None:
        """Until every truck of ``truck_arrivals`` has docked (the demo's end waits)."""
        if self._arrivals is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._arrivals)

    async def stop(self) -> None:
        """Stop the vehicles, then the broker."""
        if self._arrivals is not None:
            self._arrivals.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._arrivals
        await self.vehicles.stop()
        if self.broker is not None:
            self.broker.close()


def figures(line: LineController) -> dict[str, Any]:
    """The report's ``fleet`` section."""
    transport = line.transport
    if transport is None:
        return {}
    counts = transport.counts
    phases: dict[str, int] = {}
    for carriage in transport.carriages.values():
        phases[carriage.phase] = phases.get(carriage.phase, 0) + 1
    fleet = line.fleet.snapshot() if line.fleet is not None else {}
    buffer = line.buffer.snapshot() if line.buffer is not None else {}
    return {
        "containers": len(transport.carriages),
        "moved": counts.get("moved", 0),
        "stored": counts.get("stored", 0),
        "retrieved": counts.get("retrieved", 0),
        "delivered": counts.get("delivered", 0),
        "delivered_in_load_order": counts.get("in_load_order", 0),
        "delivered_out_of_order": counts.get("out_of_order", 0),
        "containers_by_phase": phases,
        "moves_failed_by_reason": dict(transport.failed),
        "location_moves_journaled": transport.book.moves,
        "fleet": fleet.get("counters", {}),
        "buffer": buffer.get("counts", {}),
    }

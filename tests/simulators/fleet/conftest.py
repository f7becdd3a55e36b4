"""Fixtures of the fleet simulator tests: a Mosquitto broker, the simulated fleet, and a
test-side VDA 5050 master client (aiomqtt) that records and schema-checks every message."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from jsonschema import Draft202012Validator

from plc_configs.fleet import FleetSimulation
from plc_configs.loader import load_line_config
from plc_configs.schema import LineConfig
from simulators.fleet import SimulatedFleet
from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[3]
SCHEMAS = REPO / "tests" / "vda5050" / "2.1.0"  # the official schemas, see SOURCE.md
FLEET_YAML = REPO / "plc_configs" / "demo-line-fleet.yaml"
SERIAL = "AMR-01"
FAST = FleetSimulation(
    speed_m_s=40.0,
    action_s=0.15,
    state_interval_s=1.0,
    visualization_interval_s=0.5,
    drain_pct_per_km=100,
)


def _validators() -> dict[str, Draft202012Validator]:
    out = {}
    for kind in ("order", "instantActions", "state", "visualization", "connection", "factsheet"):
        schema = json.loads((SCHEMAS / f"{kind}.schema").read_text())
        out[kind] = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return out


@pytest.fixture(scope="module")
def broker() -> Iterator[int]:
    """A Mosquitto broker on a free loopback port (its own config); yields the port."""
    port = free_port()
    conf = Path(f"/tmp/lanesort-vsim-mosquitto-{port}.conf")
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen(
        ["/usr/sbin/mosquitto", "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            break
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("mosquitto did not start")
        time.sleep(0.02)
    yield port
    proc.terminate()
    proc.wait(5)
    conf.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def line_config() -> LineConfig:
    """The fleet demo line with one vehicle (AMR-01 at PK1)."""
    config = load_line_config(FLEET_YAML)
    fleet = config.fleet.model_copy(update={"vehicles": config.fleet.vehicles[:1]})
    return config.model_copy(update={"fleet": fleet})


class Master:
    """The test's VDA 5050 master: sends orders and instant actions, records every message
    on ``uagv/v2/#`` and checks each against the official 2.1.0 schema."""

    def __init__(self, client: aiomqtt.Client, validators: dict[str, Draft202012Validator]):
        self.client, self.validators = client, validators
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.invalid: list[str] = []
        self._new = asyncio.Event()
        self._header = 0
        self._actions = 0
        self.mark = 0

    async def read(self) -> None:
        """Record messages (run as a task)."""
        async for message in self.client.messages:
            kind = str(message.topic).rsplit("/", 1)[-1]
            data = json.loads(message.payload)
            for err in self.validators[kind].iter_errors(data):
                self.invalid.append(f"{message.topic}: {err.json_path}: {err.message}")
            self.messages.append((kind, data))
            self._new.set()

    def of(self, kind: str) -> list[dict[str, Any]]:
        """The recorded messages of ``kind``."""
        return [d for k, d in self.messages if k == kind]

    async def wait_for(
        self,
        kind: str,
        pred: Callable[[dict[str, Any]], bool],
        within: float = 3.0,
        since: int | None = None,
    ) -> dict[str, Any]:
        """The first message of ``kind`` recorded since ``since`` (default: since the last
        message this master sent) that satisfies ``pred``."""
        start = self.mark if since is None else since
        async with asyncio.timeout(within):
            while True:
                for k, data in self.messages[start:]:
                    if k == kind and pred(data):
                        return data
                start = len(self.messages)
                self._new.clear()
                await self._new.wait()

    def _head(self) -> dict[str, Any]:
        self._header += 1
        return {
            "headerId": self._header,
            "timestamp": "2026-01-01T00:00:00.00Z",
            "version": "2.1.0",
            "manufacturer": "LaneSim",
            "serialNumber": SERIAL,
        }

    async def send(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """Publish ``body`` (with a header) on the vehicle's ``kind`` topic; return it."""
        message = {**self._head(), **body}
        errors = list(self.validators[kind].iter_errors(message))
        assert not errors or kind == "order", errors  # the tests' own messages are valid
        self.mark = len(self.messages)
        await self.client.publish(f"uagv/v2/LaneSim/{SERIAL}/{kind}", json.dumps(message))
        return message

    async def order(self, order_id: str, path: list[str], **kw: Any) -> dict[str, Any]:
        """Send an order along ``path`` (see :meth:`order_body`); return it."""
        return await self.send("order", self.order_body(order_id, path, **kw))

    def order_body(
        self,
        order_id: str,
        path: list[str],
        *,
        update: int = 0,
        released: int | None = None,
        first_seq: int = 0,
        actions: dict[str, list[dict[str, Any]]] | None = None,
    ) -> dict[str, Any]:
        """An order's body along ``path`` (the first ``released`` nodes released)."""
        released = len(path) if released is None else released
        actions = actions or {}
        nodes = [
            {
                "nodeId": n,
                "sequenceId": first_seq + 2 * i,
                "released": i < released,
                "actions": actions.get(n, []),
            }
            for i, n in enumerate(path)
        ]
        edges = [
            {
                "edgeId": f"{a}-{b}",
                "sequenceId": first_seq + 2 * i + 1,
                "released": i + 1 < released,
                "startNodeId": a,
                "endNodeId": b,
                "actions": [],
            }
            for i, (a, b) in enumerate(itertools.pairwise(path))
        ]
        return {"orderId": order_id, "orderUpdateId": update, "nodes": nodes, "edges": edges}

    async def instant(self, action_type: str, action_id: str | None = None, **params: Any) -> str:
        """Send one instant action; return its actionId."""
        self._actions += 1
        action_id = action_id or f"ia-{self._actions}"
        action = {"actionType": action_type, "actionId": action_id, "blockingType": "NONE"}
        if params:
            action["actionParameters"] = [{"key": k, "value": v} for k, v in params.items()]
        await self.send("instantActions", {"actions": [action]})
        return action_id


def action(kind: str, action_id: str, **params: Any) -> dict[str, Any]:
    """A node action (HARD) with ``params``."""
    return {
        "actionType": kind,
        "actionId": action_id,
        "blockingType": "HARD",
        "actionParameters": [{"key": k, "value": v} for k, v in params.items()],
    }


def status(state: dict[str, Any], action_id: str) -> str | None:
    """The ``actionStatus`` of ``action_id`` in ``state``, or None."""
    for s in state["actionStates"]:
        if s["actionId"] == action_id:
            return s["actionStatus"]
    return None


def error_types(state: dict[str, Any]) -> list[str]:
    """The ``errorType`` of every error in ``state``."""
    return [e["errorType"] for e in state["errors"]]


@pytest.fixture
async def master(broker: int) -> AsyncIterator[Master]:
    """The master client; at the end every recorded message must be schema-valid."""
    validators = _validators()
    async with aiomqtt.Client("127.0.0.1", broker, identifier=f"test-master-{time.time_ns()}") as c:
        await c.subscribe("uagv/v2/#", qos=1)
        m = Master(c, validators)
        reader = asyncio.create_task(m.read())
        try:
            yield m
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    assert not m.invalid, "\n".join(m.invalid[:10])
    assert m.of("state"), "no state message was seen"


@pytest.fixture
async def fleet(
    broker: int, line_config: LineConfig, master: Master
) -> AsyncIterator[SimulatedFleet]:
    """The simulated fleet (AMR-01 at PK1, fast settings), online; stopped at the end."""
    sim = SimulatedFleet(
        line_config,
        f"mqtt://127.0.0.1:{broker}",
        settings=FAST,
        seed=7,
        tick_s=0.02,
        reconnect_s=0.2,
    )
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()

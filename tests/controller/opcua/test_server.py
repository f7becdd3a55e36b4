"""The OPC UA server's life cycle: stable node ids, the cost of a refresh, running with the line."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket

import pytest

from controller.cli.serve import run_line
from controller.errors import ControllerError
from controller.line.controller import LineController
from controller.opcua.server import LineOpcuaServer
from plc_configs.opcua_certificates import thumbprint
from tests.controller.line.helpers import line_config, pointed_at, simulated_line, until
from tests.controller.opcua.conftest import UaLine, add_users, opcua_config

PATHS = [
    ["Line", "PackML", "ExecuteStateNumber"],
    ["Line", "PackML", "Stop"],
    ["Line", "Counters", "RejectedByReason", "NoRead"],
    ["Line", "Throughput", "AnswerP99Ms"],
    ["Line", "Chutes", "Chute02", "Count"],
    ["Line", "Chutes", "Chute02", "Disable"],
    ["Line", "Chutes", "Chute09", "State"],
    ["Line", "Devices", "sorter", "LinkUp"],
    ["Line", "Alarms", "Active"],
]


async def _resolve(ua_line: UaLine, pki) -> dict[str, str]:
    """Browse path -> node id string, as a client finds them by browse names."""
    async with ua_line.client(pki, "vic") as scada:
        objects, ns = scada.client.nodes.objects, scada.ns
        return {
            "/".join(path): (
                await objects.get_child([f"{ns}:{p}" for p in path])
            ).nodeid.to_string()
            for path in PATHS
        }


async def test_node_ids_and_the_certificate_stay_the_same_across_restarts(tmp_path, scada_pki):
    add_users(tmp_path)
    line = LineController(opcua_config(), tmp_path)
    seen, prints = [], []
    for _ in range(2):
        server = LineOpcuaServer(line)
        await server.start()
        try:
            ua_line = UaLine(line, None, server, tmp_path)
            ua_line.trust(scada_pki)
            seen.append(await _resolve(ua_line, scada_pki))
            prints.append(thumbprint(server.server.iserver.certificate))
        finally:
            await server.stop()
    assert seen[0] == seen[1]
    assert seen[0]["Line/Chutes/Chute02/Count"] == "ns=2;s=Line.Chutes.Chute02.Count"
    assert seen[0]["Line/Devices/sorter/LinkUp"] == "ns=2;s=Line.Devices.sorter.LinkUp"
    assert prints[0] == prints[1]  # made on the first start, reused after


async def test_a_refresh_of_a_busy_32_chute_line_writes_what_changed(tmp_path):
    """What it costs is measured by benchmarks/opcua_server_refresh.py, not asserted here."""
    chutes = [{"id": i, "position_mm": 800 + 100 * i, "capacity": 50} for i in range(1, 32)]
    config = line_config(
        topology={"chutes": chutes, "reject_chute": {"id": 32, "position_mm": 5000}},
        register_map={"chute_words": 2},
        sort_plan={f"R{i:02d}": [i] for i in range(4, 32)},
        opcua_server={"enabled": True, "port": 0},
    )
    line = LineController(config, tmp_path)
    rng = random.Random(1)
    line.plc.latencies_ms.extend(rng.uniform(1, 9) for _ in range(5000))
    server = LineOpcuaServer(line)
    await server.start()
    try:
        server.update_costs_ms.clear()
        written = []
        for _ in range(200):  # a busy line: three parcels land between two refreshes
            for _ in range(3):
                chute = rng.randint(1, 31)
                line.tracker.per_chute[chute] = line.tracker.per_chute.get(chute, 0) + 1
                line.tracker.counts["inducted"] += 1
                line.tracker.counts["sorted"] += 1
                line.plc.latencies_ms.append(rng.uniform(1, 9))
            written.append(await server.refresh())
    finally:
        await server.stop()
    assert min(written) >= 5  # counters, chute counts, ... changed each time
    assert len(server.update_costs_ms) == 200
    assert await server.refresh() == 0  # nothing changed since: nothing written


async def test_run_line_serves_opcua_with_the_api_and_announces_it(tmp_path):
    config = opcua_config()
    add_users(tmp_path)
    said: list[str] = []
    async with simulated_line(config, tmp_path) as sim:
        line = LineController(pointed_at(config, sim), tmp_path)
        task = asyncio.create_task(run_line(line, announce=said.append))
        try:
            await asyncio.wait_for(line.started.wait(), 30)
            await until(lambda: line.plc.link.up)
            opcua = [s for s in said if s.startswith("OPC UA server on opc.tcp://127.0.0.1:")]
            assert len(opcua) == 1 and "/lanesort (Basic256Sha256 Sign, SignAndEncrypt;" in opcua[0]
            assert f"trusted clients in {tmp_path / 'opcua-pki' / 'trusted'})" in opcua[0]
            assert any(s.startswith("API on http://") for s in said)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_a_taken_port_is_a_clear_error_before_the_line_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = LineController(opcua_config(port=port), tmp_path)
        with pytest.raises(ControllerError) as err:
            await run_line(line)
    assert str(err.value).startswith(f"opcua_server: cannot listen on 127.0.0.1:{port}: ")
    assert "set opcua_server.port in the line config" in str(err.value)
    assert not line.started.is_set()


async def test_stopping_with_a_scada_connected_leaves_nothing_running(tmp_path, scada_pki):
    add_users(tmp_path)
    line = LineController(opcua_config(), tmp_path)
    server = LineOpcuaServer(line)
    await server.start()
    ua_line = UaLine(line, None, server, tmp_path)
    ua_line.trust(scada_pki)
    stopped = False
    with contextlib.suppress(Exception):  # the client notices its server went away
        async with ua_line.client(scada_pki, "vic") as scada:
            subscription = await scada.client.create_subscription(50, None)
            await subscription.subscribe_data_change(scada.node("Line.Counters.Inducted"))
            await server.stop()
            stopped = True
            scada.client.disconnect_socket()
    assert stopped and server.server is None
    # the autouse fixture fails this test if a session or subscription task outlived stop()

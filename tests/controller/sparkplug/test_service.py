"""The line's Sparkplug service on the session Mosquitto, with a test primary host: what it
publishes from a line (not running: no PLC), and which writes it carries out."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from pydantic import ValidationError

from controller.line.controller import LineController
from controller.sparkplug import SparkplugService
from controller.sparkplug.metrics import field_device
from controller.sparkplug.service import BDSEQ_FILE, read_bdseq
from drivers.sparkplug import DataType, Metric, Payload, encode
from plc_configs.sparkplug import SparkplugSection
from tests.controller.line.helpers import line_config
from tests.drivers.sparkplug.host import TestHost, now_ms


def test_commands_are_taken_only_from_the_primary_host():
    with pytest.raises(ValidationError, match="set primary_host: scada too"):
        SparkplugSection(mqtt={"url": "mqtt://127.0.0.1:1883"}, group_id="g", command_host="scada")
    with pytest.raises(ValidationError, match="a Sparkplug id is non-empty without"):
        SparkplugSection(mqtt={"url": "mqtt://127.0.0.1:1883"}, group_id="hub/1")


async def test_births_changes_and_writes_only_from_the_online_command_host(mqtt_broker, tmp_path):
    group = f"g{time.monotonic_ns()}"
    host_id = f"scada{time.monotonic_ns()}"
    spb = {
        "mqtt": {"url": mqtt_broker.url, "reconnect_min_s": 0.05, "reconnect_max_s": 0.2},
        "group_id": group,
        "primary_host": host_id,
        "command_host": host_id,
        "publish_interval_s": 0.1,
    }
    line = LineController(line_config(sparkplug=spb), tmp_path)
    name = line.config.line.name
    await line.journal.open()
    service = SparkplugService(line, line.config.sparkplug)
    host = TestHost(mqtt_broker.port, host_id, None, None)
    task = asyncio.create_task(service.run())
    try:
        async with host.connected():
            await host.state(True, now_ms())
            chutes = sorted(line.config.topology.chute_ids)
            devices = 1 + len(chutes) + len(line.snapshot().links)
            await host.until(lambda s: len(host.of("DBIRTH")) == devices)
            links = line.snapshot().links  # the line does not run: every link is down
            fields = {field_device(link.device) for link in links}
            await host.until(lambda s: len(host.of("DDEATH")) == len(links))
            assert {s.sparkplug.device for s in host.of("DDEATH")} == fields
            [nbirth] = host.of("NBIRTH")
            assert nbirth.topic == f"spBv1.0/{group}/NBIRTH/{name}"
            births = {s.sparkplug.device: s.decoded() for s in host.of("DBIRTH")}
            line_metrics = {m.name: m.value for m in births["line"].metrics}
            assert line_metrics["State"] == "UNKNOWN" and line_metrics["Parcels/Sorted"] == 0
            assert line_metrics["Answer p99 ms"] is None
            chute = chutes[0]
            enabled = next(m for m in births[f"chute-{chute}"].metrics if m.name == "Enabled")
            assert enabled.value is True

            dcmd = f"spBv1.0/{group}/DCMD/{name}/chute-{chute}"
            off = Metric(None, False, alias=enabled.alias, timestamp=now_ms())
            await host.send(
                dcmd, encode(Payload((off,), now_ms()), {enabled.alias: DataType.BOOLEAN})
            )
            await host.until(lambda s: len(host.of("DDATA")) >= 1)  # reported by exception
            [ddata] = host.of("DDATA")
            assert ddata.sparkplug.device == f"chute-{chute}"
            state = next(m for m in births[f"chute-{chute}"].metrics if m.name == "State")
            changed = {m.alias: m.value for m in ddata.decoded().metrics}
            assert changed == {enabled.alias: False, state.alias: "OFF"}  # not Full, not Count
            assert chute in line.plc.disabled_by_host

            start = Metric("Line Control/Start", True, DataType.BOOLEAN, timestamp=now_ms())
            await host.send(f"spBv1.0/{group}/NCMD/{name}", encode(Payload((start,), now_ms())))
            async with asyncio.timeout(3):
                while service.refused < 1:  # noqa: ASYNC110 (the line refuses: no PLC)
                    await asyncio.sleep(0.01)

            await host.state(False, now_ms())
            await host.until(lambda s: len(host.of("NDEATH")) == 1)
            async with asyncio.timeout(3):  # connected again (a new bdSeq), waiting for the host
                while not (service.node.link.connected and service.node.bdseq == 1):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            on = Metric("Enabled", True, DataType.BOOLEAN, timestamp=now_ms())
            await host.send(dcmd, encode(Payload((on,), now_ms())))
            async with asyncio.timeout(3):
                while service.refused < 2:  # noqa: ASYNC110 (the host is offline now)
                    await asyncio.sleep(0.01)
            assert chute in line.plc.disabled_by_host
            assert service.accepted == 1
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await line.journal.barrier()
        audit = await line.audit.query()
        await line.journal.close()
    rows = [(r["user"], r["via"], r["action"], r["ok"]) for r in reversed(audit)]
    assert rows == [
        (host_id, "sparkplug", "chute.disable", True),
        (host_id, "sparkplug", "line.start", False),
        (host_id, "sparkplug", "sparkplug.write", False),
    ]
    assert "is not the online primary host" in audit[0]["detail"]


async def test_a_stopped_service_ends_its_session_with_ndeath(mqtt_broker, tmp_path):
    """Cancelled (the line stopping), the service publishes NDEATH with its birth's bdSeq
    before it disconnects: the DISCONNECT makes the broker drop the will, so without it a
    host would see the node online forever
    (tck-id-operational-behavior-edge-node-intentional-disconnect-ndeath)."""
    group, host_id = f"g{time.monotonic_ns()}", f"scada{time.monotonic_ns()}"
    spb = {"mqtt": {"url": mqtt_broker.url}, "group_id": group, "primary_host": host_id}
    line = LineController(line_config(sparkplug=spb), tmp_path)
    await line.journal.open()
    service = SparkplugService(line, line.config.sparkplug)
    host = TestHost(mqtt_broker.port, host_id, None, None)
    try:
        async with host.connected():
            await host.state(True, now_ms())
            task = asyncio.create_task(service.run())
            await host.until(lambda s: len(host.of("NBIRTH")) == 1)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await host.until(lambda s: len(host.of("NDEATH")) == 1)
            [birth], [death] = host.of("NBIRTH"), host.of("NDEATH")
            bdseq = [m.value for m in death.decoded().metrics if m.name == "bdSeq"]
            assert bdseq == [m.value for m in birth.decoded().metrics if m.name == "bdSeq"]
            assert not service.node.link.connected
            # the next start goes on counting: its first CONNECT has the next bdSeq
            async with asyncio.timeout(2):
                while read_bdseq(tmp_path / BDSEQ_FILE) != (bdseq[0] + 1) % 256:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            again = SparkplugService(line, line.config.sparkplug)
            task = asyncio.create_task(again.run())
            await host.until(lambda s: len(host.of("NBIRTH")) == 2)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            second = host.of("NBIRTH")[1]
            assert [m.value for m in second.decoded().metrics if m.name == "bdSeq"] == [
                (bdseq[0] + 1) % 256
            ]
    finally:
        await line.journal.close()

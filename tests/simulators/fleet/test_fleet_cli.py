"""``python -m simulators fleet`` as its own process: every vehicle online, OFFLINE on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time

import aiomqtt

from tests.simulators.fleet.conftest import FLEET_YAML, REPO


async def test_fleet_command_serves_until_sigterm(broker: int) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulators",
        "fleet",
        "--config",
        str(FLEET_YAML),
        "--broker",
        f"mqtt://127.0.0.1:{broker}",
        "--seed",
        "3",
        "--log-level",
        "WARNING",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(8):
            ready = json.loads(await proc.stdout.readline())  # type: ignore[union-attr]
        assert ready == {
            "event": "ready",
            "vehicles": [f"LaneSim/AMR-0{i}" for i in range(1, 5)],
        }
        topic = "uagv/v2/LaneSim/AMR-04/connection"
        async with aiomqtt.Client("127.0.0.1", broker, identifier=f"cli-{time.time_ns()}") as c:
            await c.subscribe(topic, qos=1)
            seen = []
            async with asyncio.timeout(5):
                async for message in c.messages:
                    seen.append(json.loads(message.payload)["connectionState"])
                    if seen == ["ONLINE"]:
                        proc.send_signal(signal.SIGTERM)
                    if seen[-1] == "OFFLINE":
                        break
        assert seen == ["ONLINE", "OFFLINE"]  # a clean stop: no CONNECTIONBROKEN
        async with asyncio.timeout(5):
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

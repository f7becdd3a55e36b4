"""One edge node session through every phase the conformance checks look at, captured by
a test primary host on a Mosquitto with the Sparkplug ACL.

Phases (each message's index in ``Capture.seen`` tells which it belongs to):
wait for the host → births → 260 DDATA (seq wraps) → rebirth → commands from the host and
from an intruder (dropped by the ACL) → a device lost (its DDEATH), a rebirth while it is
dead, the device back (its DBIRTH) → an old offline STATE (ignored) → host offline
(NDEATH, reconnect, silence) → host online (births, next bdSeq) → the connection cut
(the broker's will NDEATH).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field

from drivers.mqtt import MosquittoBroker
from drivers.sparkplug import REBIRTH, DataType, EdgeNode, Metric, Payload, encode
from drivers.sparkplug.acl import sparkplug_acl
from plc_configs.mqtt import MqttSection
from tests.drivers.sparkplug.host import TestHost, now_ms

GROUP = "hub"
NODE = "line-1"
HOST = "scada"
USERS = {"scada": "host-pw", "line": "line-pw", "intruder": "intruder-pw"}
DATA_MESSAGES = 260


def broker(port: int) -> MosquittoBroker:
    """A broker where only ``scada`` may publish commands (``intruder`` may read all)."""
    acl = sparkplug_acl(GROUP, "scada", [("line", NODE)])
    acl["intruder"] = [("read", "spBv1.0/#"), ("write", f"spBv1.0/{GROUP}/NDATA/other")]
    return MosquittoBroker(port, users=USERS, acl=acl)


@dataclass
class Capture:
    """What the host saw and what the edge node was told."""

    seen: list = field(default_factory=list)
    commands: list[tuple[str | None, str, object]] = field(default_factory=list)
    marks: dict[str, int] = field(default_factory=dict)
    """phase name → the number of messages seen when it began."""
    bdseqs: list[int] = field(default_factory=list)
    """The node's bdSeq on each connection it made."""
    aliases: dict[str, int] = field(default_factory=dict)


async def run(port: int) -> Capture:
    """Play the scenario against the broker on ``port``."""
    cap = Capture()
    os.environ["SPB_TEST_LINE_PW"] = USERS["line"]
    section = MqttSection(
        url=f"mqtt://127.0.0.1:{port}",
        username="line",
        password_env="SPB_TEST_LINE_PW",
        reconnect_min_s=0.05,
        reconnect_max_s=0.2,
    )

    async def on_command(device: str | None, name: str, value: object) -> None:
        cap.commands.append((device, name, value))

    node = EdgeNode(section, GROUP, NODE, primary_host=HOST, on_command=on_command)
    node.define(None, "Line Control/Start", DataType.BOOLEAN, False)
    node.define("line", "State", DataType.STRING, "IDLE")
    node.define("line", "Count", DataType.INT64, 0)
    node.define("line", "Answer p99 ms", DataType.DOUBLE, None)
    node.define("chute-1", "Enabled", DataType.BOOLEAN, True)
    host = TestHost(port, HOST, "scada", USERS["scada"])
    intruder = TestHost(port, "intruder", "intruder", USERS["intruder"])
    runner = asyncio.create_task(node.run())
    try:
        async with host.connected(), intruder.connected():
            await asyncio.sleep(0.3)  # connected, but no host STATE yet: no birth
            cap.marks["host-online"] = len(host.seen)
            t0 = now_ms()
            await host.state(True, t0)
            await host.until(lambda s: len(host.of("DBIRTH")) == 2)
            cap.bdseqs.append(node.bdseq)
            births = len(host.of("NBIRTH"))
            cap.marks["data"] = len(host.seen)
            for i in range(1, DATA_MESSAGES + 1):
                node.set("line", "Count", i)
                await host.until(lambda s, n=i: len(host.of("DDATA")) == n)
            cap.marks["rebirth"] = len(host.seen)
            rebirth = Metric(REBIRTH, True, DataType.BOOLEAN, timestamp=now_ms())
            await host.send(f"spBv1.0/{GROUP}/NCMD/{NODE}", encode(Payload((rebirth,), now_ms())))
            await host.until(lambda s: len(host.of("NBIRTH")) == births + 1)
            await host.until(lambda s: len(host.of("DBIRTH")) == 4)
            cap.marks["commands"] = len(host.seen)
            alias = node.book.birth("chute-1")[0].alias
            assert alias is not None
            cap.aliases["chute-1/Enabled"] = alias
            off = Metric(None, False, alias=alias, timestamp=now_ms())
            dcmd = f"spBv1.0/{GROUP}/DCMD/{NODE}/chute-1"
            await host.send(dcmd, encode(Payload((off,), now_ms()), {alias: DataType.BOOLEAN}))
            on = Metric("Enabled", True, DataType.BOOLEAN, timestamp=now_ms())
            await intruder.send(dcmd, encode(Payload((on,), now_ms())))
            start = Metric("Line Control/Start", True, DataType.BOOLEAN, timestamp=now_ms())
            await host.send(f"spBv1.0/{GROUP}/NCMD/{NODE}", encode(Payload((start,), now_ms())))
            async with asyncio.timeout(3):
                while len(cap.commands) < 2:  # noqa: ASYNC110 (a test's poll)
                    await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)  # the intruder's, were it delivered, would be here
            cap.marks["device-down"] = len(host.seen)
            node.set("chute-1", "Enabled", False)
            node.set_online("chute-1", False)  # the node lost the device
            await host.until(lambda s: len(host.of("DDEATH")) == 1)
            node.set("chute-1", "Enabled", True)  # while it is dead: kept for its birth
            await asyncio.sleep(0.1)
            cap.marks["device-rebirth"] = len(host.seen)
            await host.send(f"spBv1.0/{GROUP}/NCMD/{NODE}", encode(Payload((rebirth,), now_ms())))
            await host.until(lambda s: len(host.of("DDEATH")) == 2)  # born, and dead again
            node.set("chute-1", "Enabled", False)  # dead again: kept for its birth
            await asyncio.sleep(0.1)
            cap.marks["device-up"] = len(host.seen)
            node.set_online("chute-1", True)
            await host.until(lambda s: len(host.of("DBIRTH")) == 7)
            cap.marks["old-state"] = len(host.seen)
            await host.state(False, t0 - 1000, retain=False)  # older than the online: ignored
            await asyncio.sleep(0.2)
            cap.marks["host-offline"] = len(host.seen)
            await host.state(False, now_ms())
            await host.until(lambda s: len(host.of("NDEATH")) == 1)
            async with asyncio.timeout(3):
                while node.bdseq == cap.bdseqs[-1] or not node.link.connected:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)  # reconnected, host offline: no birth
            cap.marks["host-back"] = len(host.seen)
            await host.state(True, now_ms())
            await host.until(lambda s: len(host.of("NBIRTH")) == births + 3)
            await host.until(lambda s: len(host.of("DBIRTH")) == 9)
            cap.bdseqs.append(node.bdseq)
            cap.marks["cut"] = len(host.seen)
            await node.link.abort()  # the broker publishes the will
            await host.until(lambda s: len(host.of("NDEATH")) == 2)
            cap.seen = list(host.seen)
    finally:
        os.environ.pop("SPB_TEST_LINE_PW", None)
        await node.close()
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
    return cap

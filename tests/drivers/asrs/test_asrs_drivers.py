"""Both AS/RS drivers against the simulator over real TCP on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from drivers.asrs import AsrsEvent, StorageSystem
from drivers.errors import ConnectionLost, DeviceFault, DeviceTimeout
from drivers.registry import create_storage
from plc_configs.devices import AsrsDevice
from simulators.asrs import AsrsSimulator

PROTOCOLS = ["osip", "gebhardt"]
WAIT_S = 2.0


@pytest.fixture(params=PROTOCOLS)
async def sim(request: pytest.FixtureRequest) -> AsyncIterator[AsrsSimulator]:
    simulator = AsrsSimulator(request.param, capacity=4, store_s=0.01, retrieve_s=0.01)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def asrs(sim: AsrsSimulator) -> AsyncIterator[StorageSystem]:
    device = AsrsDevice(
        kind="asrs", protocol=sim.protocol, url=sim.url, reply_timeout_ms=100, max_retries=3
    )
    driver = create_storage("asrs1", device)
    await driver.connect()
    yield driver
    await driver.close()


def collect(asrs: StorageSystem) -> list[AsrsEvent]:
    events: list[AsrsEvent] = []
    asrs.add_listener(events.append)
    return events


async def until(predicate, timeout_s: float = WAIT_S) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():  # noqa: ASYNC110 - polls counters, not only events
            await asyncio.sleep(0.005)


async def test_contract_store_then_retrieve(sim: AsrsSimulator, asrs: StorageSystem) -> None:
    events = collect(asrs)
    order = await asrs.store("W1-C0003")
    stored = await asrs.wait(order, WAIT_S)
    assert (stored.kind, stored.hu, stored.order_id) == ("stored", "W1-C0003", order)
    assert sim.snapshot() == {stored.location: "W1-C0003"}
    order2 = await asrs.retrieve("W1-C0003")
    done = await asrs.wait(order2, WAIT_S)
    assert (done.kind, done.location) == ("retrieved", asrs.out_location)
    assert sim.snapshot() == {}
    assert [e.kind for e in events] == ["stored", "retrieved"]
    assert sim.executed == [("store", "W1-C0003"), ("retrieve", "W1-C0003")]


async def test_lost_reply_is_sent_again_and_executed_once(
    sim: AsrsSimulator, asrs: StorageSystem
) -> None:
    sim.inject("drop_reply")
    order = await asrs.store("W1-C0004")
    await asrs.wait(order, WAIT_S)
    assert asrs.retransmissions == 1  # type: ignore[attr-defined]
    assert sim.duplicates == 1
    assert sim.executed == [("store", "W1-C0004")]
    assert list(sim.snapshot().values()) == ["W1-C0004"]


async def test_repeated_incoming_event_is_reported_once(
    sim: AsrsSimulator, asrs: StorageSystem
) -> None:
    events = collect(asrs)
    sim.inject("duplicate_event")
    if sim.protocol == "gebhardt":
        sim.inject("lose_ack")  # and the crane sends it again for want of our ack
    await asrs.wait(await asrs.store("W1-C0005"), WAIT_S)
    await until(lambda: asrs.duplicates >= 1)  # type: ignore[attr-defined]
    await asyncio.sleep(0.05)
    assert [e.kind for e in events] == ["stored"]
    if sim.protocol == "gebhardt":
        assert sim.retransmits == 1


@pytest.mark.parametrize(
    ("fault", "text", "codes"),
    [("occupied", "location occupied", ("00000102", "102"))],
)
async def test_location_occupied_is_refused(
    sim: AsrsSimulator, asrs: StorageSystem, fault: str, text: str, codes: tuple[str, str]
) -> None:
    events = collect(asrs)
    sim.inject(fault)
    order = await asrs.store("W1-C0006")
    with pytest.raises(DeviceFault, match=text) as info:
        await asrs.wait(order, WAIT_S)
    assert "asrs1" in str(info.value) and sim.url in str(info.value)
    assert events[-1].kind == "refused" and events[-1].error_code in codes
    assert sim.snapshot() == {}


async def test_unknown_handling_unit_is_refused(sim: AsrsSimulator, asrs: StorageSystem) -> None:
    order = await asrs.retrieve("W9-C9999")
    with pytest.raises(DeviceFault, match="unknown handling unit"):
        await asrs.wait(order, WAIT_S)


async def test_crane_fault_reported_refuses_orders_then_clears(
    sim: AsrsSimulator, asrs: StorageSystem
) -> None:
    events = collect(asrs)
    sim.crane_fault(0.2)
    await until(lambda: any(e.kind == "fault" for e in events))
    assert events[0].error_text == "crane fault"
    with pytest.raises(DeviceFault, match="crane fault"):
        await asrs.wait(await asrs.store("W1-C0007"), WAIT_S)
    await until(lambda: events[-1].kind == "cleared")
    await asrs.wait(await asrs.store("W1-C0007"), WAIT_S)


async def test_link_drop_then_reconnect(sim: AsrsSimulator, asrs: StorageSystem) -> None:
    session = asyncio.create_task(asrs.run())
    await sim.drop_connections()
    with pytest.raises(ConnectionLost, match="asrs1"):
        await asyncio.wait_for(session, WAIT_S)
    assert not asrs.connected
    with pytest.raises(ConnectionLost):
        await asrs.store("W1-C0008")
    await asrs.connect()
    assert asrs.connected
    await asrs.wait(await asrs.store("W1-C0008"), WAIT_S)
    assert sim.connections == 2


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_no_reply_at_all_is_a_device_timeout(protocol: str) -> None:
    received: list[bytes] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(4096):
                received.append(data)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    url = f"tcp://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    device = AsrsDevice(kind="asrs", protocol=protocol, url=url, reply_timeout_ms=30, max_retries=2)
    asrs = create_storage("asrs9", device)
    await asrs.connect()
    try:
        with pytest.raises(DeviceTimeout, match=r"asrs9 \(tcp://127\.0\.0\.1:\d+\): no .* 3 sends"):
            await asrs.store("W1-C0009")
    finally:
        await asrs.close()
        server.close()
        await server.wait_closed()
    sent = b"".join(received)
    one = len(sent) // 3
    assert sent == sent[:one] * 3  # the same telegram, same sequence, three times


async def test_order_retried_with_its_id_is_the_same_telegram(
    sim: AsrsSimulator, asrs: StorageSystem
) -> None:
    asrs.max_retries = 0  # type: ignore[attr-defined]
    sim.inject("drop_reply")
    with pytest.raises(DeviceTimeout):
        await asrs.store("W1-C0010", order_id="T42")
    assert await asrs.store("W1-C0010", order_id="T42") == "T42"  # e.g. after a reconnect
    await asrs.wait("T42", WAIT_S)
    assert sim.duplicates == 1 and sim.executed == [("store", "W1-C0010")]

"""The OPC UA sorter-PLC driver: what only OPC UA has (node map, subscriptions, restarts)."""

from __future__ import annotations

import asyncio

import pytest
from asyncua import ua

from drivers.errors import ConnectionLost, DeviceTimeout, DriverError, ProtocolError
from drivers.plc.opcua import OpcuaClientOptions, OpcuaSorterPlc
from plc_configs.opcua_certificates import ensure_certificate
from simulators.plc_opcua import OpcuaPlcSimulator
from simulators.twin import LineTwin
from tests.drivers.plc.conftest import OPCUA_PLC, opcua_driver
from tests.drivers.plc.test_plc_contract import SLOW_LINE, poll_until, start_line
from tests.simulators.sim_helpers import make_config


async def _sim(pki, **overrides) -> OpcuaPlcSimulator:
    config = make_config(**{**overrides, **OPCUA_PLC})
    sim = OpcuaPlcSimulator(
        config, LineTwin(config), "opc.tcp://127.0.0.1:0/plc", pki_dir=pki / "plc"
    )
    await sim.start()
    return sim


def _driver(sim: OpcuaPlcSimulator, pki, **options) -> OpcuaSorterPlc:
    return opcua_driver(sim.config, sim.url, pki / "host", **options)


async def test_a_server_restart_mid_shift_loses_no_confirmation_and_doubles_none(pki):
    """The PLC runs on while its OPC UA server restarts; the driver reconnects and every
    parcel is confirmed exactly once (entries acknowledged before the drop never return)."""
    line = {**SLOW_LINE, "simulation": {**SLOW_LINE["simulation"], "parcels": 16}}
    sim = await _sim(pki, **line)
    plc = _driver(sim, pki)
    confirmed: dict[int, int] = {}
    unacked: set[int] = set()
    repeats: list[int] = []
    restarted = reconnects = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    try:
        await plc.connect()
        await start_line(plc)
        while len(confirmed) < 16:
            assert loop.time() < deadline, f"only {len(confirmed)} confirmations"
            if not restarted and len(confirmed) >= 5:
                await sim.restart_server()
                restarted = 1
            try:
                poll = await plc.poll()
                for c in poll.confirmations:
                    if c.tracking_id in confirmed:
                        repeats.append(c.tracking_id)
                    confirmed.setdefault(c.tracking_id, c.chute)
                    unacked.add(c.tracking_id)
                if poll.request is not None:
                    await plc.answer(poll.request, 1 + poll.request.tracking_id % 3)
                last = poll.confirmations[-1].ring_index if poll.confirmations else None
                await plc.acknowledge(None, last)
                unacked.clear()
            except DriverError:
                await plc.close()
                while True:  # what the PLC link's supervisor does, without the backoff
                    try:
                        await plc.connect()
                        break
                    except DriverError:
                        await asyncio.sleep(0.1)
                reconnects += 1
            await asyncio.sleep(0.001)
    finally:
        await plc.close()
        await sim.stop()
    assert restarted and reconnects >= 1
    assert set(confirmed) == set(range(1, 17))
    assert set(repeats) <= unacked, f"acknowledged confirmations came again: {repeats}"
    assert sim.twin.stats.landed == 16


async def test_a_lost_notification_is_made_good_by_the_periodic_read(pki):
    sim = await _sim(pki, simulation={"parcels": 1, "plc": {"start_state": "stopped"}})
    plc = _driver(sim, pki, resync_s=0.2)
    try:
        await plc.connect()
        await plc.poll()
        sim.disable_chute(2)
        await asyncio.sleep(0.1)  # the notification is in the queue: drop it, as if lost
        queue = plc._subscription._event_queue  # type: ignore[union-attr]
        while not queue.empty():
            queue.get_nowait()
        poll = await poll_until(plc, lambda p: p.status.chute_disabled == {2})
        assert plc.corrected >= 1 and plc.resyncs >= 1
        assert poll.status.chute_disabled == {2}
    finally:
        await plc.close()
        await sim.stop()


async def test_a_repeated_request_notification_is_not_a_new_request(pki):
    sim = await _sim(pki, **SLOW_LINE)
    plc = _driver(sim, pki)
    try:
        await plc.connect()
        await start_line(plc)
        poll = await poll_until(plc, lambda p: p.request is not None, within=10)
        request = poll.request
        assert request is not None
        stale = plc._mirror["request"]
        await plc.answer(request, 1)
        plc._mirror.values["request"] = list(stale)  # the same notification delivered again
        again = await plc.poll()
        assert again.request is None or again.request.seq != request.seq
    finally:
        await plc.close()
        await sim.stop()


async def test_node_ids_siemens_style_work_like_browse_paths(pki):
    node_map = {
        "namespace_uri": "http://www.siemens.com/simatic-s7-opcua",
        "root": "PLC_1/DataBlocksGlobal/DB_Sorter",
        "plc": {k: f's="DB_Sorter"."{k}"' for k in ("heartbeat", "request", "scan_ring")},
        "host": {"answer": 's="DB_Sorter"."hostAnswer"'},
    }
    sim = await _sim(pki, node_map=node_map, **SLOW_LINE)
    plc = _driver(sim, pki)
    try:
        await plc.connect()
        await start_line(plc)
        poll = await poll_until(plc, lambda p: p.request is not None, within=10)
        assert poll.request is not None
        await plc.answer(poll.request, 2)
        await poll_until(plc, lambda p: sim.logic.stats.answers_accepted >= 1)
        paths = plc._nodes.paths  # type: ignore[union-attr]
        assert paths["plc.heartbeat"].endswith(';s="DB_Sorter"."heartbeat"')
        assert paths["plc.conveyor_running"] == (
            "Objects/PLC_1/DataBlocksGlobal/DB_Sorter/ConveyorRunning"
        )
    finally:
        await plc.close()
        await sim.stop()


async def test_a_node_map_that_does_not_match_the_plc_names_the_entry(pki):
    sim = await _sim(pki)
    try:
        wrong_ns = make_config(node_map={"namespace_uri": "urn:other"}, **OPCUA_PLC)
        plc = opcua_driver(wrong_ns, sim.url, pki / "host")
        with pytest.raises(ProtocolError, match=r"namespace_uri 'urn:other' is not on the server"):
            await plc.connect()
        assert not plc.connected
        wrong_path = make_config(node_map={"plc": {"request": "Mailbox/Request"}}, **OPCUA_PLC)
        plc = opcua_driver(wrong_path, sim.url, pki / "host")
        with pytest.raises(ProtocolError, match=r"node_map\.plc\.request: Objects/Sorter/Mailbox"):
            await plc.connect()
    finally:
        await sim.stop()


async def test_values_out_of_range_are_reported_and_skipped(pki):
    sim = await _sim(pki, simulation={"parcels": 1, "plc": {"start_state": "stopped"}})
    plc = _driver(sim, pki, resync_s=0.05)
    try:
        await plc.connect()
        await sim._stop_cycle()  # hold the PLC program: the test writes its variables
        server = sim.server
        assert server is not None
        state = ua.DataValue(ua.Variant(99, ua.VariantType.Int32))
        await server.write_attribute_value(sim._plc_ids["packml_state"], state)
        ring = [1] + [0] * (3 * sim.config.register_map.plc.confirm_ring.size)
        ring[1:4] = [5, 3, 42]
        value = ua.DataValue(ua.Variant(ring, ua.VariantType.UInt32))
        await server.write_attribute_value(sim._plc_ids["confirm_ring"], value)
        poll = await poll_until(plc, lambda p: len(p.problems) >= 2)
        text = " | ".join(str(p) for p in poll.problems)
        assert "node plc.packml_state = 99, expected 0..17" in text
        assert "plc.confirm_ring[0].result (tracking id 5)" in text and "= 42" in text
        assert poll.confirmations == ()
    finally:
        await plc.close()
        await sim.stop()


async def test_a_dead_server_is_a_lost_link_within_the_timeout(pki):
    sim = await _sim(pki, simulation={"parcels": 1})
    plc = _driver(sim, pki, timeout_s=0.2, resync_s=0.1)
    try:
        await plc.connect()
        await plc.poll()
        await sim._stop_server()
        with pytest.raises((ConnectionLost, DeviceTimeout)):
            for _ in range(200):
                await plc.poll()
                await asyncio.sleep(0.01)
    finally:
        await plc.close()
        await sim.stop()


async def test_sign_only_and_a_pinned_plc_certificate_work_and_a_wrong_pin_is_refused(pki, caplog):
    sim = await _sim(pki, simulation={"parcels": 1})
    other = pki / "other"
    ensure_certificate(other, "urn:somebody:else", "somebody else")
    try:
        pinned = OpcuaClientOptions(
            pki_dir=pki / "host",
            security_mode="Sign",
            server_certificate=pki / "plc" / "own" / "certificate.der",
        )
        plc = OpcuaSorterPlc("sorter", sim.url, sim.config.node_map, pinned)
        await plc.connect()
        assert (await plc.poll()).status.packml_state is not None
        await plc.close()
        wrong = OpcuaClientOptions(
            pki_dir=pki / "host",
            security_mode="SignAndEncrypt",
            server_certificate=other / "own" / "certificate.der",
            timeout_s=0.3,
        )
        plc = OpcuaSorterPlc("sorter", sim.url, sim.config.node_map, wrong)
        with pytest.raises(DriverError, match=r"sorter \(opc\.tcp://127\.0\.0\.1:\d+/plc\)"):
            await plc.connect()
        assert not plc.connected
    finally:
        await sim.stop()


async def test_mode_none_is_only_used_when_configured_and_is_logged(pki, caplog):
    sim = await _sim(pki, simulation={"parcels": 1, "plc": {"opcua_security": ["None"]}})
    try:
        plain = OpcuaClientOptions(pki_dir=pki / "host", security_mode="None")
        plc = OpcuaSorterPlc("sorter", sim.url, sim.config.node_map, plain)
        await plc.connect()
        await plc.close()
        assert "security mode None: unencrypted and unauthenticated" in caplog.text
    finally:
        await sim.stop()

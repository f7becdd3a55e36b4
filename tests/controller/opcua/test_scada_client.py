"""An independent asyncua client, as a SCADA would be, against the controller's OPC UA server."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asyncua import ua
from asyncua.ua.uaerrors import BadInvalidState, BadUserAccessDenied

from controller.alarms.board import Severity
from controller.auth.users import UserStore
from controller.opcua.model import EVENT_TYPE
from tests.controller.line.helpers import finished, until
from tests.controller.opcua.conftest import opcua_config, serving


async def test_a_viewer_browses_and_reads_the_line_over_an_encrypted_channel(ua_line, scada_pki):
    await until(lambda: finished(ua_line.line) == 6)
    async with ua_line.client(scada_pki, "vic", discover=True) as scada:
        assert scada.client.security_policy.Mode == ua.MessageSecurityMode.SignAndEncrypt
        ns = scada.ns
        objects = scada.client.nodes.objects
        packml = await objects.get_child([f"{ns}:Line", f"{ns}:PackML"])
        names = ("StateCurrent", "BaseStateNumber", "MachineStateNumber", "ExecuteStateNumber")
        numbers = [await (await packml.get_child(f"{ns}:{n}")).read_value() for n in names]
        assert numbers == [6, 19, 18, 6]  # PackTags Execute; Cleared, Running, Execute
        state = await (await packml.get_child(f"{ns}:ExecuteState")).read_value()
        assert state.Text == "Execute"
        chutes = await objects.get_child([f"{ns}:Line", f"{ns}:Chutes"])
        names = sorted([(await c.read_browse_name()).Name for c in await chutes.get_children()])
        assert names == ["Chute01", "Chute02", "Chute03", "Chute09"]
        routes = [await scada.read(f"Line.Chutes.{n}.Route") for n in names]
        assert routes == ["A", "B", "C", ""]
        await until(lambda: ua_line.server.model.vars["Line.Counters.Inducted"].last == 6, 5)
        assert (
            await scada.read("Line.Counters.Inducted")
            == 6
            == ua_line.line.tracker.counts["inducted"]
        )
        done = [await scada.read(f"Line.Counters.{n}") for n in ("Sorted", "Rejected", "Lost")]
        assert sum(done) == 6
        per_chute = [await scada.read(f"Line.Chutes.{n}.Count") for n in names]
        assert sum(per_chute) == 6 == sum(ua_line.line.tracker.per_chute.values())
        assert await scada.read("Line.Devices.sorter.LinkUp") is True
        assert await scada.read("Line.Chutes.Chute02.State") == "OK"


async def test_a_supervisor_starts_the_idle_line_and_the_counters_rise(tmp_path, scada_pki):
    config = opcua_config({"parcels": 12, "plc": {"start_state": "idle"}}, auto_start=False)
    async with serving(config, tmp_path) as ua_line:
        ua_line.trust(scada_pki)
        async with ua_line.client(scada_pki, "sue") as scada:
            assert await scada.read("Line.PackML.ExecuteStateNumber") == 4  # Idle
            assert await scada.read("Line.Counters.Inducted") == 0
            await scada.call("Line.PackML.Start")
            seen = []
            for _ in range(500):
                seen.append(await scada.read("Line.Counters.Inducted"))
                if seen[-1] == 12:
                    break
                await asyncio.sleep(0.01)
            assert seen[-1] == 12 and seen == sorted(seen) and len(set(seen)) > 2
            assert await scada.read("Line.PackML.ExecuteStateNumber") == 6
            await until(lambda: finished(ua_line.line) == 12)
            counts = ua_line.line.tracker.counts
            served = ua_line.server.model.vars["Line.Counters.Sorted"]
            await until(lambda: served.last == counts["sorted"], 5)
            assert await scada.read("Line.Counters.Sorted") == counts["sorted"] > 0


async def test_a_viewer_may_not_disable_a_chute_nor_stop_the_line(ua_line, scada_pki):
    async with ua_line.client(scada_pki, "vic") as scada:
        with pytest.raises(BadUserAccessDenied):
            await scada.call("Line.Chutes.Chute02.Disable")
        with pytest.raises(BadUserAccessDenied):
            await scada.call("Line.PackML.Stop")
        with pytest.raises(BadUserAccessDenied):
            await scada.node("Line.Chutes.Chute02.Enabled").write_value(False)
        assert 2 not in ua_line.line.plc.disabled_by_host
        assert await scada.read("Line.Chutes.Chute02.Enabled") is True
        assert ua_line.line.snapshot().packml_state.name == "EXECUTE"


async def test_a_supervisor_disables_and_enables_a_chute_and_the_audit_log_has_it(
    ua_line, scada_pki
):
    async with ua_line.client(scada_pki, "sue") as scada:
        assert await scada.call("Line.Chutes.Chute02.Disable") is None  # Good, no outputs
        assert 2 in ua_line.line.plc.disabled_by_host
        assert await scada.read("Line.Chutes.Chute02.Enabled") is False
        assert await scada.read("Line.Chutes.Chute02.State") == "OFF"
        await scada.call("Line.Chutes.Chute02.Enable")
        assert 2 not in ua_line.line.plc.disabled_by_host
        with pytest.raises(BadInvalidState):  # the line runs already
            await scada.call("Line.PackML.Start")
    await ua_line.line.journal.barrier()
    rows = await ua_line.line.audit.query(user="sue")
    assert [(r["action"], r["target"], r["ok"], r["via"]) for r in rows] == [
        ("line.start", "line", False, "opcua"),
        ("chute.enable", "chute 2", True, "opcua"),
        ("chute.disable", "chute 2", True, "opcua"),
        ("login", None, True, "opcua"),
    ]
    assert rows[0]["role"] == "supervisor" and "while the line is Execute" in rows[0]["detail"]


async def test_a_supervisor_stops_the_line_through_packml(ua_line, scada_pki):
    async with ua_line.client(scada_pki, "sue", mode="Sign") as scada:
        assert scada.client.security_policy.Mode == ua.MessageSecurityMode.Sign
        await scada.call("Line.PackML.Stop")
        await until(lambda: ua_line.line.snapshot().packml_state.name == "STOPPED", 5)
        await until(lambda: ua_line.server.model.vars["Line.PackML.StateCurrent"].last == 2, 5)
        numbers = [
            await scada.read(f"Line.PackML.{m}StateNumber") for m in ("Base", "Machine", "Execute")
        ]
        assert numbers == [19, 2, 0]
        assert (await scada.read("Line.PackML.ExecuteState")).Text in ("", None)


class _Events:
    def __init__(self) -> None:
        self.got: asyncio.Queue = asyncio.Queue()

    def event_notification(self, event) -> None:
        self.got.put_nowait(event)


async def test_an_alarm_and_its_clearing_arrive_as_events_on_line_and_server(ua_line, scada_pki):
    line = ua_line.line
    async with ua_line.client(scada_pki, "vic") as scada:
        on_line, on_server = _Events(), _Events()
        etype = scada.node(EVENT_TYPE)
        for handler, source in ((on_line, scada.node("Line")), (on_server, ua.ObjectIds.Server)):
            sub = await scada.client.create_subscription(20, handler)
            await sub.subscribe_events(source, etype)
        line.alarms.raise_("test-jam", "jam at chute 2", line.clock(), device="sorter",
                           severity=Severity.CRITICAL)  # fmt: skip
        for handler in (on_line, on_server):
            event = await asyncio.wait_for(handler.got.get(), 5)
            assert (event.AlarmKey, event.Active, event.Severity) == ("test-jam", True, 900)
            assert event.SourceName == "sorter" and event.Message.Text == "jam at chute 2"
        line.alarms.clear("test-jam", line.clock())
        event = await asyncio.wait_for(on_line.got.get(), 5)
        assert (event.AlarmKey, event.Active) == ("test-jam", False)
        assert event.Message.Text == "cleared: jam at chute 2"


async def test_active_alarms_are_listed(ua_line, scada_pki):
    line = ua_line.line
    line.alarms.raise_("test-a", "something", line.clock(), severity=Severity.WARNING)
    await ua_line.server.refresh()
    async with ua_line.client(scada_pki, "vic") as scada:
        active = await scada.read("Line.Alarms.Active")
        assert "warning test-a: something" in active
        assert await scada.read("Line.Alarms.ActiveCount") == len(active)


async def test_the_password_is_checked_in_a_thread_not_on_the_event_loop(
    ua_line, scada_pki, monkeypatch
):
    threads = []
    verify = UserStore.verify

    def spy(self, name, password, now=None):
        threads.append(threading.current_thread())
        return verify(self, name, password, now)

    monkeypatch.setattr(UserStore, "verify", spy)
    async with ua_line.client(scada_pki, "sue") as scada:
        assert await scada.read("Line.Name") == "test-line"
    assert threads and threading.main_thread() not in threads


async def test_a_wrong_password_is_refused(ua_line, scada_pki, caplog):
    with pytest.raises(BadUserAccessDenied):
        async with ua_line.client(scada_pki, "nobody"):
            pass
    assert (
        "OPC UA login of 'nobody'" in caplog.text and "wrong user name or password" in caplog.text
    )
    await ua_line.line.journal.barrier()
    rows = await ua_line.line.audit.query(action="login")
    assert [(r["user"], r["ok"], r["via"]) for r in rows] == [("nobody", False, "opcua")]
    assert "wrong user name or password" in rows[0]["detail"]

"""LaneSort's OPC UA server: the running line for SCADA and MES (``opcua_server`` section).

:class:`LineOpcuaServer` serves the address space of :mod:`controller.opcua.model` at
``opc.tcp://<host>:<port><path>`` with Basic256Sha256 Sign / SignAndEncrypt
(:mod:`plc_configs.opcua_security`: certificate made on first start in
``<data_dir>/<pki_dir>/own``, trusted clients in ``trusted/``, refused ones in
``rejected/``), users and roles as :mod:`controller.opcua.access` describes.

It runs as one of the line's services (:func:`controller.cli.serve.run_line`): one
task refreshes the values from :meth:`LineController.snapshot` every
``update_interval_ms`` (writing only what changed; :attr:`LineOpcuaServer.update_costs_ms`
keeps what each refresh cost the event loop), another turns alarm changes into
``LineAlarmEventType`` events emitted from ``Line`` and from ``Server``. Methods act
through :class:`LineController` under the caller's
``Actor(user, role, "opcua")``, so the audit log has every call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from asyncua import ua
from asyncua.server.event_generator import EventGenerator

from controller.alarms import Alarm, Severity
from controller.auth import UserStore, in_data_dir, users_path
from controller.errors import CommandRefused, ControllerError
from controller.line import LineController, ThroughputMeter, terminal_count
from controller.opcua.access import (
    CURRENT_USER,
    LineRuleset,
    LineUser,
    LineUserManager,
    LoginCheck,
)
from controller.opcua.model import NAMESPACE, LineModel, MethodCallback
from controller.opcua.transport import LineUaServer
from drivers.cancelling import start_guarded
from plc_configs.contract import PackMLCommand
from plc_configs.integration import OpcuaServerSection
from plc_configs.opcua_security import describe_modes, secure_server

log = logging.getLogger("lanesort.opcua")

#: OPC UA event severity (1..1000) of each alarm severity.
SEVERITY = {Severity.INFO: 200, Severity.WARNING: 500, Severity.CRITICAL: 900}


class LineOpcuaServer:
    """The line's OPC UA server: :meth:`serve` it in the line's TaskGroup."""

    def __init__(self, line: LineController, section: OpcuaServerSection | None = None):
        self.line = line
        self.section = section or line.config.opcua_server
        self.pki_dir = in_data_dir(line.data_dir, self.section.pki_dir)
        self.url: str | None = None
        """The endpoint URL once listening (the real port when configured 0)."""
        self.update_costs_ms: deque[float] = deque(maxlen=1000)
        """What each refresh cost the event loop (snapshot included), in ms."""
        self.model: LineModel | None = None
        self.server: LineUaServer | None = None
        self._meter = ThroughputMeter(self.section.update_interval_ms / 1000)
        self._alarms: asyncio.Queue[tuple[Alarm, str, float]] = asyncio.Queue(maxsize=10_000)
        self._events: list[EventGenerator] = []

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> str:
        """Build the address space and listen; the endpoint URL.

        ControllerError when the port is taken or the address cannot be bound.
        """
        section, name = self.section, self.line.config.line.name
        users = UserStore(
            users_path(self.line.data_dir, self.line.config.hmi.users_path),
            max_attempts=self.line.config.hmi.login_attempts,
        )
        server = LineUaServer(
            LineUserManager(section.allow_anonymous, log),
            LoginCheck(users, self.line.audit, log),
        )
        await server.init()
        url = f"opc.tcp://{section.host}:{section.port}{section.path}"
        server.set_endpoint(url)
        server.set_server_name(f"LaneSort {name}")
        ns = await server.register_namespace(NAMESPACE)
        await secure_server(
            server,
            pki_dir=self.pki_dir,
            application_uri=f"urn:lanesort:{name}",
            common_name=f"LaneSort {name}",
            modes=section.security_modes,
            log=log,
            permission_ruleset=LineRuleset(ns, log),
        )
        tokens: list[type] = [ua.UserNameIdentityToken]
        if section.allow_anonymous:
            tokens.append(ua.AnonymousIdentityToken)
        server.set_identity_tokens(tokens)
        self.model = LineModel(server, ns, self.line)
        await self.model.build(self._command, self._switch_chute)
        await self._event_generators(server)
        try:
            await server.start()
        except OSError as err:
            raise ControllerError(
                f"opcua_server: cannot listen on {section.host}:{section.port}: "
                f"{err.strerror or err} (is another controller running? set "
                "opcua_server.port in the line config)"
            ) from err
        self.server = server
        port = server.bserver.port if server.bserver is not None else section.port
        self.url = f"opc.tcp://{section.host}:{port}{section.path}"
        self.line.alarms.listeners.append(self._on_alarm)
        await self.refresh()
        return self.url

    def describe(self) -> str:
        """One line for the console: endpoint, security, where trusted clients go."""
        modes = describe_modes(self.section.security_modes)
        trusted = self.pki_dir / "trusted"
        return f"OPC UA server on {self.url} ({modes}; trusted clients in {trusted})"

    async def stop(self) -> None:
        """Close every session and stop listening; safe to call twice."""
        with contextlib.suppress(ValueError):
            self.line.alarms.listeners.remove(self._on_alarm)
        server, self.server = self.server, None
        if server is None:
            return
        clock = server.iserver.time_task
        if clock is not None:  # its 1 s loop would make stop wait up to a second
            clock.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await clock
            server.iserver.time_task = None
        # asyncua 2.1's stop() leaves the sessions of connected clients (their timeout
        # watchdogs) and their subscription loops running: end them first
        iserver = server.iserver
        for subscription in list(iserver.subscription_service.subscriptions.values()):
            await subscription.stop()
        for session in list(iserver._external_sessions.values()):
            await session.close_session()
        await server.stop()

    async def serve(
        self,
        started: asyncio.Event | None = None,
        announce: Callable[[str], None] | None = None,
    ) -> None:
        """Start, set ``started``, then refresh values and emit alarm events until cancelled."""
        try:
            await self.start()
            log.info("%s", self.describe())
            if announce is not None:
                announce(self.describe())
            if started is not None:
                started.set()
            async with asyncio.TaskGroup() as group:
                start_guarded(group, self._refresh_loop(), "opcua-refresh")
                start_guarded(group, self._event_loop(), "opcua-events")
        finally:
            await self.stop()

    # -- values -----------------------------------------------------------------------------

    async def refresh(self) -> int:
        """Write what changed since the last refresh; how many values were written."""
        assert self.model is not None
        began = time.perf_counter()
        snap = self.line.snapshot()
        throughput = self._meter.add(self.line.clock(), terminal_count(snap))
        written = await self.model.update(snap, throughput)
        self.update_costs_ms.append((time.perf_counter() - began) * 1000)
        return written

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.section.update_interval_ms / 1000)
            try:
                await self.refresh()
            except Exception:  # SCADA's view must never take the line down
                log.exception("OPC UA server: refreshing the values failed")

    # -- alarm events -----------------------------------------------------------------------

    async def _event_generators(self, server: LineUaServer) -> None:
        assert self.model is not None and self.model.line_node is not None
        for source in (self.model.line_node.nodeid, ua.NodeId(ua.ObjectIds.Server)):
            generator = EventGenerator(server.iserver.isession)
            await generator.init(self.model.event_type, emitting_node=source)
            self._events.append(generator)
        await server.nodes.server.add_reference(
            self.model.line_node.nodeid, ua.ObjectIds.HasNotifier
        )

    def _on_alarm(self, alarm: Alarm, change: str, now: float) -> None:
        """The alarm board's listener (on the loop): queue raises and clears."""
        if change in ("raised", "cleared"):
            try:
                self._alarms.put_nowait((alarm, change, now))
            except asyncio.QueueFull:
                log.warning("OPC UA: alarm event queue full; %s %s not sent", alarm.key, change)

    async def _event_loop(self) -> None:
        while True:
            alarm, change, now = await self._alarms.get()
            try:
                await self._emit(alarm, change == "raised", now)
            except Exception:
                log.exception("OPC UA server: the event of alarm %s failed", alarm.key)

    async def _emit(self, alarm: Alarm, active: bool, now: float) -> None:
        assert self.model is not None and self.model.line_node is not None
        when = datetime.fromtimestamp(now + self.line.journal.wall_offset, UTC)
        source = self.model.device_nodes.get(alarm.device or "", self.model.line_node.nodeid)
        text = alarm.text if active else f"cleared: {alarm.text}"
        for generator in self._events:
            event: Any = generator.event
            event.Severity = SEVERITY.get(alarm.severity, 500)
            event.SourceName = alarm.device or "Line"
            event.SourceNode = source
            event.AlarmKey = alarm.key
            event.Device = alarm.device or ""
            event.Active = active
            await generator.trigger(when, text)

    # -- methods ----------------------------------------------------------------------------

    def _caller(self, what: str) -> LineUser | ua.StatusCode:
        """The calling supervisor, or the status code refusing a viewer (or no user)."""
        user = CURRENT_USER.get()
        if user is None or not user.supervisor:
            who = user.actor if user is not None else "a client without a user"
            log.warning("OPC UA: %s may not %s (supervisors only)", who, what)
            return ua.StatusCode(ua.StatusCodes.BadUserAccessDenied)
        return user

    def _command(self, command: PackMLCommand) -> MethodCallback:
        async def call(parent: ua.NodeId) -> Any:
            user = self._caller(f"send {command.name.title()}")
            if isinstance(user, ua.StatusCode):
                return user
            try:
                self.line.command(command, user.actor)
            except CommandRefused as err:
                log.warning("OPC UA: %s: %s refused: %s", user.actor, command.name.title(), err)
                return ua.StatusCode(ua.StatusCodes.BadInvalidState)
            return []

        return call

    def _switch_chute(self, chute: int, enabled: bool) -> MethodCallback:
        async def call(parent: ua.NodeId) -> Any:
            what = f"{'enable' if enabled else 'disable'} chute {chute}"
            user = self._caller(what)
            if isinstance(user, ua.StatusCode):
                return user
            try:
                self.line.set_chute_enabled(chute, enabled, user.actor)
            except CommandRefused as err:
                log.warning("OPC UA: %s: %s refused: %s", user.actor, what, err)
                return ua.StatusCode(ua.StatusCodes.BadInvalidState)
            await self.refresh()  # the caller reads Enabled next: show it at once
            return []

        return call

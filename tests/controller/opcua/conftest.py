"""A running line with its OPC UA server, and an independent asyncua client as a SCADA."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asyncua import Client, ua

from controller.auth.users import UserStore
from controller.line.controller import LineController
from controller.opcua.model import NAMESPACE
from controller.opcua.server import LineOpcuaServer
from plc_configs.opcua_certificates import ensure_certificate
from plc_configs.opcua_security import SecurityMode, secure_client
from plc_configs.schema import LineConfig
from simulators.line import SimulatedLine
from tests.controller.line.helpers import line_config, pointed_at, simulated_line, until

PASSWORD = "opcua-pass-1"
SCADA_URI = "urn:lanesort:test:scada"
log = logging.getLogger("tests.scada")


@dataclass(frozen=True)
class Pki:
    """A client's certificate folder and its application URI."""

    dir: Path
    uri: str
    cert: Path


@pytest.fixture(scope="session")
def scada_pki(tmp_path_factory) -> Pki:
    """The SCADA client's certificate (made once per test session)."""
    folder = tmp_path_factory.mktemp("scada-pki")
    cert, _ = ensure_certificate(folder, SCADA_URI, "SCADA test")
    return Pki(folder, SCADA_URI, cert)


@pytest.fixture(scope="session")
def stranger_pki(tmp_path_factory) -> Pki:
    """A client certificate nobody trusted."""
    folder = tmp_path_factory.mktemp("stranger-pki")
    cert, _ = ensure_certificate(folder, "urn:lanesort:test:stranger", "Stranger")
    return Pki(folder, "urn:lanesort:test:stranger", cert)


@dataclass
class UaLine:
    """The line under test, its OPC UA server and the namespace index clients see."""

    line: LineController
    sim: SimulatedLine | None
    server: LineOpcuaServer
    data_dir: Path

    @property
    def url(self) -> str:
        assert self.server.url is not None
        return self.server.url

    def trust(self, pki: Pki) -> None:
        """Put ``pki``'s certificate in the server's trusted folder."""
        shutil.copy(pki.cert, self.server.pki_dir / "trusted" / f"{pki.cert.parent.name}.der")

    @contextlib.asynccontextmanager
    async def client(
        self,
        pki: Pki | None,
        user: str | None = None,
        mode: SecurityMode = "SignAndEncrypt",
        discover: bool = False,
    ) -> AsyncIterator[Scada]:
        """A connected client: ``pki`` None or mode None connect without security."""
        client = Client(self.url, timeout=5)
        if pki is not None:
            own = self.server.pki_dir / "own" / "certificate.der"
            await secure_client(
                client,
                pki_dir=pki.dir,
                application_uri=pki.uri,
                common_name="SCADA test",
                mode=mode,
                server_certificate=None if discover else own,
                log=log,
            )
        if user is not None:
            client.set_user(user)
            client.set_password(PASSWORD)
        try:
            await client.connect()
        except BaseException:
            client.disconnect_socket()
            raise
        try:
            yield Scada(client, await client.get_namespace_index(NAMESPACE))
        finally:
            await client.disconnect()


@dataclass
class Scada:
    """A connected SCADA client."""

    client: Client
    ns: int

    def node(self, path: str) -> Any:
        """The node of a browse path by its (stable) string node id."""
        return self.client.get_node(ua.NodeId(path, self.ns))

    async def read(self, path: str) -> Any:
        return await self.node(path).read_value()

    async def call(self, path: str) -> Any:
        """Call the method ``path`` on its parent object."""
        parent, _ = path.rsplit(".", 1)
        return await self.node(parent).call_method(ua.NodeId(path, self.ns))


def opcua_config(
    simulation: dict[str, Any] | None = None, auto_start: bool = True, **opcua: Any
) -> LineConfig:
    """The test line with its OPC UA server on a free port, refreshed every 50 ms.

    The simulated PLC starts Stopped and the controller starts the line once connected
    (``auto_start``), so no parcel passes before the controller is up.
    """
    section = {"enabled": True, "port": 0, "update_interval_ms": 50, **opcua}
    sim = {"parcels": 6, "plc": {"start_state": "stopped"}, **(simulation or {})}
    return line_config(
        line={"auto_start": auto_start}, simulation=sim, api={"port": 0}, opcua_server=section
    )


def add_users(data_dir: Path) -> None:
    """A supervisor ``sue`` and a viewer ``vic`` in the line's user store."""
    store = UserStore(data_dir / "users.sqlite")
    store.add("sue", "supervisor", PASSWORD)
    store.add("vic", "viewer", PASSWORD)


@contextlib.asynccontextmanager
async def serving(config: LineConfig, data_dir: Path) -> AsyncIterator[UaLine]:
    """A simulated line whose controller serves OPC UA (started before the PLC link)."""
    add_users(data_dir)
    async with simulated_line(config, data_dir) as sim:
        line = LineController(pointed_at(config, sim), data_dir)
        server = LineOpcuaServer(line)
        ready = asyncio.Event()
        task = asyncio.create_task(
            line.run(services=[lambda: server.serve(ready)], ready=[ready]), name="line"
        )
        try:
            await asyncio.wait_for(line.started.wait(), 30)
            await until(lambda: line.plc.link.up and line.plc.status is not None)
            if config.line.auto_start:
                await until(lambda: line.snapshot().packml_state.name == "EXECUTE", 5)
            yield UaLine(line, sim, server, data_dir)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@pytest.fixture
async def ua_line(tmp_path, scada_pki) -> AsyncIterator[UaLine]:
    """The running test line, its OPC UA server (default security) trusting ``scada_pki``."""
    async with serving(opcua_config(), tmp_path) as running:
        running.trust(scada_pki)
        yield running

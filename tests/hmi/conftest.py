"""NiceGUI's user simulation against the real HMI pages of a running simulated line.

The line is the same as the API tests' (a real PLC simulator over Modbus TCP);
the pages are the real ones, registered on NiceGUI's app after its globals were
reset; the browser is NiceGUI's simulated user (no JavaScript), so these tests
check page logic fast. The browser tests in ``tests/system`` check the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from nicegui import core, ui
from nicegui.functions.download import download
from nicegui.functions.navigate import Navigate
from nicegui.functions.notify import notify
from nicegui.testing.general import nicegui_reset_globals, prepare_simulation
from nicegui.testing.user import User

from controller.auth.users import UserStore
from controller.line.controller import LineController
from hmi.app import make_hmi, register_pages
from hmi.context import Hmi
from plc_configs.contract import PackMLState
from tests.controller.line.helpers import line_config, pointed_at, running, simulated_line, until

PASSWORDS = {"anna": "supervisor-pw-1", "victor": "viewer-pw-123"}


@dataclass
class HmiEnv:
    """The line, its HMI and a factory of simulated browsers."""

    line: LineController
    hmi: Hmi
    new_user: Callable[[], User]


@contextlib.asynccontextmanager
async def _simulation(hmi: Hmi) -> AsyncIterator[Callable[[], User]]:
    with nicegui_reset_globals():
        os.environ["NICEGUI_USER_SIMULATION"] = "true"
        try:
            prepare_simulation()
            register_pages(hmi)
            ui.run(storage_secret="simulated secret", binding_refresh_interval=None)
            async with core.app.router.lifespan_context(core.app):
                clients: list[httpx.AsyncClient] = []

                def new_user() -> User:
                    client = httpx.AsyncClient(
                        transport=httpx.ASGITransport(core.app), base_url="http://test"
                    )
                    clients.append(client)
                    return User(client)

                try:
                    yield new_user
                finally:
                    for client in clients:
                        await client.aclose()
        finally:
            os.environ.pop("NICEGUI_USER_SIMULATION", None)
            ui.navigate = Navigate()
            ui.notify = notify
            ui.download = download


@contextlib.asynccontextmanager
async def hmi_line(tmp_path: Path, **sections: Any) -> AsyncIterator[HmiEnv]:
    """The running test line with its HMI; ``sections`` replace or add config sections
    (deep-merged into the test line, e.g. ``topology={"doors": [...]}``)."""
    # The PLC starts stopped and the controller starts it once connected (auto_start), and
    # NiceGUI starts up (it scans every object on the heap) before that: no parcel is
    # inducted while the loop is busy with either, so none misses its answer for it.
    config = line_config(
        **{
            "line": {"auto_start": True},
            "simulation": {"parcels": 12, "plc": {"start_state": "stopped"}},
            "api": {"port": 0},
            **sections,
        }
    )
    async with simulated_line(config, tmp_path) as sim:
        line = LineController(pointed_at(config, sim), tmp_path)
        users = UserStore(tmp_path / "users.sqlite")
        users.add("anna", "supervisor", PASSWORDS["anna"])
        users.add("victor", "viewer", PASSWORDS["victor"])
        hmi = make_hmi(line, users)
        async with _simulation(hmi) as new_user, running(line):
            await until(
                lambda: (
                    line.plc.status is not None
                    and line.plc.status.packml_state is PackMLState.EXECUTE
                )
            )
            feed = asyncio.create_task(hmi.feed.run())
            try:
                yield HmiEnv(line, hmi, new_user)
            finally:
                feed.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await feed


@pytest.fixture
async def hmi_env(tmp_path) -> AsyncIterator[HmiEnv]:
    async with hmi_line(tmp_path) as env:
        yield env


async def log_in(user: User, name: str) -> None:
    """Log ``name`` in through the login page and land on the overview."""
    await user.open("/login")
    user.find("User name").type(name)
    user.find("Password").type(PASSWORDS[name])
    user.find("Log in").click()
    await user.should_see("Throughput now / h", retries=50)

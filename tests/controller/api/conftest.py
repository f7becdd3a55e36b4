"""A running line (real PLC simulator over Modbus TCP) and its API through httpx."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from controller.api.app import create_app
from controller.auth.tokens import TokenStore
from controller.line.controller import LineController
from simulators.line import SimulatedLine
from tests.controller.line.helpers import (
    executing,
    line_config,
    pointed_at,
    running,
    simulated_line,
    until,
)


@dataclass
class Api:
    """The app under test, a client and one token per role."""

    client: httpx.AsyncClient
    tokens: dict[str, str]
    line: LineController
    sim: SimulatedLine

    def auth(self, role: str) -> dict[str, str]:
        """The Authorization header of ``role``'s token."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    async def get(self, path: str, role: str = "viewer", **kw: Any) -> httpx.Response:
        return await self.client.get(path, headers=self.auth(role), **kw)

    async def send(self, method: str, path: str, role: str, **kw: Any) -> httpx.Response:
        headers = {**self.auth(role), **kw.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kw)


@pytest.fixture
async def api(tmp_path) -> AsyncIterator[Api]:
    config = line_config(simulation={"parcels": 6}, api={"port": 0})
    async with simulated_line(config, tmp_path) as sim:
        line = LineController(pointed_at(config, sim), tmp_path)
        store = TokenStore(tmp_path / "tokens.sqlite")
        tokens = {role: store.create(f"{role}-1", role) for role in ("tms", "supervisor", "viewer")}
        app = create_app(line, store)
        transport = httpx.ASGITransport(app=app)
        async with (
            running(line),
            httpx.AsyncClient(transport=transport, base_url="http://lanesort") as client,
        ):
            await until(lambda: executing(line))
            yield Api(client, tokens, line, sim)


@contextlib.asynccontextmanager
async def serving(
    config, tmp_path, token_name: str, role: str
) -> AsyncIterator[tuple[LineController, httpx.AsyncClient]]:
    """A running line with its simulator and an API client holding one token of ``role``."""
    async with simulated_line(config, tmp_path) as sim:
        line = LineController(pointed_at(config, sim), tmp_path)
        store = TokenStore(tmp_path / "tokens.sqlite")
        auth = {"Authorization": f"Bearer {store.create(token_name, role)}"}
        transport = httpx.ASGITransport(app=create_app(line, store))
        async with (
            running(line),
            httpx.AsyncClient(transport=transport, base_url="http://x", headers=auth) as api,
        ):
            await until(lambda: executing(line))
            yield line, api

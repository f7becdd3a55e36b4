"""Fixtures of the driver/simulator contract tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.drivers.contract.rig import Rig, start_rig, stop_rigs


@pytest.fixture
async def rig(tmp_path) -> AsyncIterator[Callable[..., Any]]:
    """``await rig(protocol, transport, **kw)``: a connected driver and its simulator."""
    started: list[Rig] = []

    async def make(protocol: str, transport: str, **kw: Any) -> Rig:
        return await start_rig(protocol, transport, tmp_path, started=started, **kw)

    yield make
    await stop_rigs(started)

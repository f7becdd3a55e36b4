"""Fixtures for the reference TMS simulator tests: a started simulator and an HTTP client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from simulators.tms import TmsSimulator
from tests.simulators.tms.helpers import delivery_headers, make_event

Deliver = Callable[..., Awaitable[tuple[int, dict[str, Any]]]]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session without keep-alive (so a closed listener shows as refused)."""
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(force_close=True),
        timeout=aiohttp.ClientTimeout(total=5),
    ) as session:
        yield session


@pytest.fixture
async def tms_factory() -> AsyncIterator[Callable[..., Awaitable[TmsSimulator]]]:
    """Start simulators with the given options; all are stopped at the end."""
    started: list[TmsSimulator] = []

    async def start(**options: Any) -> TmsSimulator:
        sim = TmsSimulator(**options)
        await sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        await sim.stop()


@pytest.fixture
async def tms(tms_factory) -> TmsSimulator:
    """A started simulator without secret."""
    return await tms_factory()


@pytest.fixture
def deliver(http: aiohttp.ClientSession) -> Deliver:
    """POST one event (or raw bytes) to a webhook URL; return (status, JSON answer)."""

    async def post(
        url: str,
        event: dict[str, Any] | None = None,
        *,
        raw: bytes | None = None,
        secret: str | None = None,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        event = event if event is not None else make_event()
        body = raw if raw is not None else json.dumps(event).encode()
        sent = delivery_headers(event, body, secret, timestamp)
        sent.update(headers or {})
        async with http.post(url, data=body, headers=sent) as response:
            return response.status, await response.json()

    return post

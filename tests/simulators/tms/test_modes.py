"""Failure modes set over the control site: down, slow, error, and the timed return to up."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from simulators.tms import TmsSimulator
from tests.simulators.tms.helpers import control, make_event


async def test_down_refuses_then_up_reopens_same_port(tms: TmsSimulator, deliver, http):
    url = tms.webhook_url
    answer = await control(http, tms, "POST", "/mode", {"mode": "down"})
    assert answer["mode"] == "down"
    with pytest.raises(aiohttp.ClientConnectorError):
        await deliver(url, make_event())
    assert (await control(http, tms, "GET", "/stats"))["mode"] == "down"
    await control(http, tms, "POST", "/mode", {"mode": "up"})
    assert tms.webhook_url == url
    assert (await deliver(url, make_event()))[0] == 200
    assert tms.stats()["received"] == 1


async def test_slow_delays_each_answer(tms: TmsSimulator, deliver, http):
    await control(http, tms, "POST", "/mode", {"mode": "slow", "delay_ms": 300})
    started = time.monotonic()
    status, _ = await deliver(tms.webhook_url, make_event())
    elapsed = time.monotonic() - started
    assert status == 200
    assert elapsed >= 0.28
    assert tms.stats()["received"] == 1


async def test_slow_records_before_answering(tms: TmsSimulator, deliver, http):
    """A sender that gives up on a slow answer and retries produces a duplicate."""
    await tms.set_mode("slow", delay_ms=2000)
    event = make_event()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(deliver(tms.webhook_url, event), 0.2)
    await tms.set_mode("up")
    status, answer = await deliver(tms.webhook_url, event)
    assert (status, answer["status"]) == (200, "duplicate")


async def test_error_answers_status_and_records_nothing(tms: TmsSimulator, deliver, http):
    await control(http, tms, "POST", "/mode", {"mode": "error"})
    status, answer = await deliver(tms.webhook_url, make_event())
    assert status == 500
    assert answer["error"] == "simulated failure"
    await control(http, tms, "POST", "/mode", {"mode": "error", "status": 503})
    assert (await deliver(tms.webhook_url, make_event()))[0] == 503
    stats = await control(http, tms, "GET", "/stats")
    assert (stats["received"], stats["errors_answered"], stats["mode"]) == (0, 2, "error")
    assert await control(http, tms, "GET", "/events") == []


async def test_for_s_returns_to_up(tms: TmsSimulator, deliver, http):
    answer = await control(http, tms, "POST", "/mode", {"mode": "error", "for_s": 0.3})
    assert 0 < answer["remaining_s"] <= 0.3
    assert (await deliver(tms.webhook_url, make_event()))[0] == 500
    await asyncio.sleep(0.45)
    mode = await control(http, tms, "GET", "/mode")
    assert (mode["mode"], mode["remaining_s"]) == ("up", None)
    assert (await deliver(tms.webhook_url, make_event()))[0] == 200


async def test_down_for_s_reopens(tms: TmsSimulator, deliver, http):
    await control(http, tms, "POST", "/mode", {"mode": "down", "for_s": 0.2})
    with pytest.raises(aiohttp.ClientConnectorError):
        await deliver(tms.webhook_url, make_event())
    await asyncio.sleep(0.35)
    assert (await deliver(tms.webhook_url, make_event()))[0] == 200


async def test_new_mode_cancels_pending_revert(tms: TmsSimulator, http):
    await control(http, tms, "POST", "/mode", {"mode": "error", "for_s": 0.1})
    await control(http, tms, "POST", "/mode", {"mode": "slow", "delay_ms": 10})
    await asyncio.sleep(0.2)
    assert tms.mode.mode == "slow"


async def test_stop_while_timed_mode_pending(tms_factory):
    tms = await tms_factory()
    await tms.set_mode("down", for_s=10)
    await tms.stop()  # cancels the revert; the fixture's second stop is a no-op


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "sideways"},
        {"mode": "slow", "delay_ms": -1},
        {"mode": "error", "status": 200},
        {"mode": "error", "for_s": 0},
        {"mode": "up", "colour": "red"},
        [1],
    ],
)
async def test_bad_mode_is_400(tms: TmsSimulator, http, body):
    async with http.post(tms.control_url + "/mode", json=body) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "bad mode"
    assert tms.mode.mode == "up"


async def test_going_down_cuts_a_slow_answer_in_flight(tms: TmsSimulator, deliver):
    await tms.set_mode("slow", delay_ms=5000)
    pending = asyncio.create_task(deliver(tms.webhook_url, make_event()))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await tms.set_mode("down")
    assert time.monotonic() - started < 2
    with pytest.raises(aiohttp.ClientError):
        await pending
    assert tms.stats()["received"] == 1  # recorded before the (lost) answer

"""Failure modes set over the control site: down, slow, error, and the timed return to up."""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp
import pytest

from simulators.tms import TmsSimulator
from tests.simulators.sim_helpers import wait_for
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
    await tms.set_mode("slow", delay_ms=60_000)
    event = make_event()
    sending = asyncio.create_task(deliver(tms.webhook_url, event))
    await wait_for(lambda: tms.stats()["received"] == 1, within=30)
    assert not sending.done()  # recorded, the answer still to come
    sending.cancel()  # the sender gives up
    with contextlib.suppress(asyncio.CancelledError):
        await sending
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


# A timed mode long enough for one delivery to land in it on a loaded machine; the
# return to up is awaited (TmsSimulator.wait_mode), never slept for.
FOR_S = 2.0


async def test_for_s_returns_to_up(tms: TmsSimulator, deliver, http):
    started = time.monotonic()
    answer = await control(http, tms, "POST", "/mode", {"mode": "error", "for_s": FOR_S})
    assert 0 < answer["remaining_s"] <= FOR_S
    assert (await deliver(tms.webhook_url, make_event()))[0] == 500
    await asyncio.wait_for(tms.wait_mode("up"), 60)
    assert time.monotonic() - started >= FOR_S - 0.001  # not before its time
    mode = await control(http, tms, "GET", "/mode")
    assert (mode["mode"], mode["remaining_s"]) == ("up", None)
    assert (await deliver(tms.webhook_url, make_event()))[0] == 200


async def test_down_for_s_reopens(tms: TmsSimulator, deliver, http):
    await control(http, tms, "POST", "/mode", {"mode": "down", "for_s": FOR_S})
    with pytest.raises(aiohttp.ClientConnectorError):
        await deliver(tms.webhook_url, make_event())
    await asyncio.wait_for(tms.wait_mode("up"), 60)
    assert (await deliver(tms.webhook_url, make_event()))[0] == 200


async def test_new_mode_cancels_pending_revert(tms: TmsSimulator):
    await tms.set_mode("error", for_s=0.1)
    await tms.set_mode("slow", delay_ms=10)  # at once: the revert cannot have run yet
    assert tms.mode_json()["remaining_s"] is None
    with pytest.raises(TimeoutError):  # the revert was due at 0.1 s: it never comes
        await asyncio.wait_for(tms.wait_mode("up"), 1.0)
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
    await tms.set_mode("slow", delay_ms=60_000)
    pending = asyncio.create_task(deliver(tms.webhook_url, make_event()))
    await wait_for(lambda: tms.stats()["received"] == 1, within=30)  # recorded, answer due
    await tms.set_mode("down")
    with pytest.raises(aiohttp.ClientError) as cut:
        await pending
    # Cut, not timed out: the client's own 5 s timeout would fire were the answer awaited.
    assert not isinstance(cut.value, TimeoutError), repr(cut.value)
    assert tms.stats()["received"] == 1  # recorded before the (lost) answer

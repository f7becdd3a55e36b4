"""The site page with NiceGUI's simulated user, over a site store filled by INSERTs."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from nicegui import core, ui
from nicegui.functions.navigate import Navigate
from nicegui.functions.notify import notify
from nicegui.testing.general import nicegui_reset_globals, prepare_simulation
from nicegui.testing.user import User

from controller.site.service import Site
from hmi.site import make_site_hmi, most_urgent, register_site_pages
from tests.controller.site.service.conftest import as_url, fill, site_config


@pytest.fixture
async def site_user(postgres_database: str, tmp_path: Path) -> AsyncIterator[tuple[Site, User]]:
    fill(postgres_database)
    url, password = as_url(postgres_database)
    site = Site.from_config(site_config(url), env={"SITE_PG_PW": password}, data_dir=tmp_path)
    site.users.add("maria", "viewer", "maria-pw-123")
    with nicegui_reset_globals():
        os.environ["NICEGUI_USER_SIMULATION"] = "true"
        try:
            prepare_simulation()
            register_site_pages(make_site_hmi(site))
            ui.run(storage_secret="simulated secret", binding_refresh_interval=None)
            async with (
                core.app.router.lifespan_context(core.app),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(core.app), base_url="http://test"
                ) as client,
            ):
                yield site, User(client)
        finally:
            os.environ.pop("NICEGUI_USER_SIMULATION", None)
            ui.navigate = Navigate()
            ui.notify = notify
            await site.store.close()


async def test_the_site_page_shows_every_line_with_its_counters_and_link(site_user) -> None:
    _site, user = site_user
    await user.open("/login")
    user.find("User name").type("maria")
    user.find("Password").type("maria-pw-123")
    user.find("Log in").click()
    await user.should_see(marker="line-north", retries=50)
    await user.should_see(marker="line-south")
    await user.should_see("sorted 1 · rejected 1 · lost 0")  # north
    await user.should_see("sorted 1 · rejected 0 · lost 1")  # south
    await user.should_see("● unreachable")  # the lines are not running
    link = user.find(marker="hmi-north").elements.pop()
    assert isinstance(link, ui.link) and link.props["href"] == "http://127.0.0.1:1/hmi"
    await user.should_not_see(marker="hmi-south")  # south has no hmi_url
    await user.should_not_see(marker="store-down")


def _alarm(key: str, severity: str, since: str, state: str = "unacknowledged") -> dict:
    return {
        "key": key, "device": "reader-1", "severity": severity, "text": f"{key} text",
        "since": since, "state": state,
    }  # fmt: skip


def test_a_lines_alarms_are_listed_most_urgent_first():
    alarms = [
        _alarm("old-warning", "warning", "2026-12-05T10:00:00Z"),
        _alarm("info", "info", "2026-12-05T10:05:00Z"),
        _alarm("acked-critical", "critical", "2026-12-05T10:06:00Z", "acknowledged"),
        _alarm("critical", "critical", "2026-12-05T10:01:00Z"),
        _alarm("new-warning", "warning", "2026-12-05T10:02:00Z"),
    ]
    assert [a["key"] for a in most_urgent(alarms)] == [
        "critical", "acked-critical", "new-warning", "old-warning", "info",
    ]  # fmt: skip


async def test_the_site_page_shows_a_lines_most_urgent_alarms(site_user) -> None:
    site, user = site_user
    await site.watcher.poll_once()  # the lines are not running: unreachable
    north = site.watcher.status["north"]  # as if north had answered GET /api/v1/line
    north.reachable, north.error = True, None
    north.state = {
        "packml_state": "Execute",
        "active_alarms": 4,
        "alarms": [
            _alarm("scanner", "warning", "2026-12-05T10:00:00Z"),
            _alarm("estop", "critical", "2026-12-05T10:01:00Z"),
            _alarm("note", "info", "2026-12-05T10:02:00Z"),
            _alarm("jam", "critical", "2026-12-05T10:03:00Z", "acknowledged"),
        ],
    }
    await user.open("/login")
    user.find("User name").type("maria")
    user.find("Password").type("maria-pw-123")
    user.find("Log in").click()
    await user.should_see(marker="alarms-north", retries=50)
    await user.should_see("CRITICAL · reader-1 · estop text")
    await user.should_see("CRITICAL · reader-1 · jam text (acknowledged)")
    await user.should_see("WARNING · reader-1 · scanner text")
    await user.should_not_see("note text")  # the fourth: counted, not listed
    await user.should_see("+ 1 more on the line's HMI")
    await user.should_see("alarms 4")
    await user.should_not_see(marker="alarms-south")  # unreachable: none known


async def test_a_wrong_password_stays_on_the_login_page(site_user) -> None:
    _site, user = site_user
    await user.open("/")
    await user.should_see("Log in")  # no session: the login page
    user.find("User name").type("maria")
    user.find("Password").type("wrong-password")
    user.find("Log in").click()
    await user.should_see("Log in")
    await user.should_see("wrong user name")
    await user.should_not_see(marker="line-north", retries=3)

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
from hmi.site import make_site_hmi, register_site_pages
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

"""The put-wall and loading pages in a real browser (Debian Chromium via Playwright) against
``lanesort demo --config plc_configs/demo-line-putwall.yaml`` with few parcels.

At a 10-inch touch screen's size (1280x800) the supervisor watches wall W1's cubbies fill
as the simulated operators put parcels, scans a code in the wall's scan field as a
keyboard-wedge scanner types it, closes a cubby's container through its confirmation,
then opens the loading page and the wall's truck and sees its load rows. Screenshots go
to ``test-artifacts/hmi/`` (putwall.png, loading.png).
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.system.test_hmi_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, SHOTS, Demo

pytestmark = pytest.mark.system

PARCELS = 40
#: A cubby tile of wall W1 holding at least one parcel.
FILLED = "[data-testid^='cubby-W1-'][data-parcels]:not([data-parcels='0'])"


@pytest.fixture(autouse=True)
def _no_leaked_tasks():
    """Synchronous (Playwright's sync API runs its own loop): no asyncio tasks to check."""
    yield


def _small_demo_config(tmp_path) -> str:
    """The put-wall demo line inducting only ``PARCELS`` parcels (absolute path)."""
    text = (ROOT / "plc_configs" / "demo-line-putwall.yaml").read_text()
    text = text.replace("\nsimulation:\n", f"\nsimulation:\n  parcels: {PARCELS}\n", 1)
    path = tmp_path / "putwall-small.yaml"
    path.write_text(text)
    return str(path)  # Demo joins it to plc_configs/: an absolute path stays itself


def _parcels_in(page: Page, tile: str) -> int:
    found = re.search(r"(\d+)\s*/\s*\d+", page.get_by_test_id(tile).inner_text())
    return int(found.group(1)) if found else 0


def test_the_wall_fills_a_scan_shows_and_a_cubby_closes_onto_its_truck(tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    demo = Demo(tmp_path, config_name=_small_demo_config(tmp_path), scenario=None)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                page.set_default_timeout(20_000)
                page.goto(f"{demo.hmi_url}/login")
                page.get_by_test_id("login-user").fill("supervisor")
                page.get_by_test_id("login-password").fill(demo.passwords["supervisor"])
                page.get_by_test_id("login-submit").click()
                expect(page.get_by_test_id("who")).to_contain_text("supervisor")

                page.goto(f"{demo.hmi_url}/putwall")
                expect(page.get_by_test_id("cubby-W1-01")).to_be_visible()
                # the simulated operators put parcels: a cubby tile counts them
                filled = page.locator(
                    "[data-testid^='cubby-W1-'][data-parcels]:not([data-parcels='0'])"
                )
                expect(filled.first).to_be_visible(timeout=45_000)
                tile = filled.first.get_attribute("data-testid") or ""
                cubby = tile.removeprefix("cubby-")
                assert _parcels_in(page, tile) >= 1
                # every cubby tile is a big touch target
                box = page.get_by_test_id("cubby-W1-01").bounding_box()
                assert box and box["width"] >= 100 and box["height"] >= 80, box
                page.screenshot(path=str(SHOTS / "putwall.png"))

                scan = page.get_by_test_id("wall-scan")
                scan.click()
                page.keyboard.type("NOT-A-PARCEL")
                page.keyboard.press("Enter")
                expect(page.get_by_test_id("wall-status")).to_contain_text("unknown parcel")
                expect(scan).to_have_value("")

                page.get_by_test_id(tile).click()
                page.get_by_test_id("cubby-close").click()
                dialog = page.locator(".q-dialog").filter(
                    has_text=f"Close the container of {cubby}"
                )
                expect(dialog).to_be_visible()
                dialog.get_by_test_id("confirm-yes").click()
                expect(page.get_by_text("Container closed")).to_be_visible()
                expect(page.get_by_test_id("wall-events")).to_contain_text(
                    "container_closed", timeout=10_000
                )

                page.goto(f"{demo.hmi_url}/loading")
                expect(page.get_by_test_id("truck-T01")).to_be_visible()
                page.get_by_test_id("truck-T01").click()
                expect(page).to_have_url(re.compile(r"/loading/T01$"))
                rows = page.get_by_test_id("load-rows")
                expect(rows.locator("[data-testid^='load-row-']").first).to_be_visible(
                    timeout=20_000
                )
                expect(page.get_by_test_id("truck-summary")).to_contain_text("parcels loaded")
                page.screenshot(path=str(SHOTS / "loading.png"))
                context.close()
            finally:
                browser.close()
    finally:
        started = time.monotonic()
        demo.stop()
        assert time.monotonic() - started < 30

"""The planning page in a real browser (Debian Chromium via Playwright) against the route-plan demo.

``lanesort demo --config plc_configs/demo-line-routeplan.yaml`` (policy manual) pushes a
generated route plan, so the line proposes a fresh sort plan that waits for a
supervisor. The test logs in as the supervisor, waits for that proposal on
``/planning``, saves a screenshot under ``test-artifacts/hmi/``, applies it through the
confirmation and sees it applied as the next sort-plan version.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.system.test_hmi_browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, Demo

pytestmark = pytest.mark.system


@pytest.fixture(autouse=True)
def _no_leaked_tasks():
    """Synchronous (Playwright's sync API runs its own loop): no asyncio tasks to check."""
    yield


def test_a_supervisor_applies_the_pending_proposal(tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    demo = Demo(tmp_path, config_name="demo-line-routeplan.yaml", scenario=None)
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

                page.goto(f"{demo.hmi_url}/planning")
                expect(page.get_by_test_id("replan-policy")).to_contain_text("manual")
                # the demo's route plan arrives, then the optimiser's fresh proposal
                expect(page.get_by_test_id("proposal-apply")).to_be_visible(timeout=90_000)
                expect(page.get_by_test_id("proposal-state")).to_contain_text(
                    "waiting for a supervisor"
                )
                expect(page.get_by_test_id("route-plan-version")).to_contain_text("Version")
                expect(page.get_by_test_id("chute-compare")).to_be_visible()
                page.screenshot(path=str(SHOTS / "11-planning-proposal.png"), full_page=True)

                page.get_by_test_id("proposal-apply").click()
                dialog = page.locator(".q-dialog").filter(has_text="Apply proposal")
                expect(dialog).to_contain_text("the sort plan becomes version")
                found = re.search(r"becomes version (\d+)", dialog.inner_text())
                assert found, dialog.inner_text()
                version = int(found.group(1))
                dialog.get_by_test_id("confirm-yes").click()

                expect(page.get_by_test_id("proposal-state")).to_contain_text(
                    f"applied by supervisor: sort plan version {version}", timeout=30_000
                )
                expect(page.get_by_test_id("plan-version")).to_have_text(
                    f"Sort plan version {version}"
                )
                expect(page.get_by_test_id("proposal-apply")).to_have_count(0)
                page.screenshot(path=str(SHOTS / "12-planning-applied.png"), full_page=True)
                context.close()
            finally:
                browser.close()
    finally:
        demo.stop()

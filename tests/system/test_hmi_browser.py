"""The HMI in a real browser (Debian Chromium driven by Playwright) against ``lanesort demo``.

The demo runs as its own process exactly as a user starts it; the test reads the
HMI address and the supervisor's password from what it prints, logs in, watches
the live counters move, disables a chute and checks that parcels avoid it,
acknowledges an alarm (the tunnel-faults scenario makes some), looks a parcel
up and saves a screenshot of every page under ``test-artifacts/hmi/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import on_free_ports

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("LANESORT_ARTIFACTS", ROOT / "test-artifacts")) / "hmi"
CHROMIUM = os.environ.get("LANESORT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# As root in a container, without the network: no sandbox, no background connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.system


@pytest.fixture(autouse=True)
def _no_leaked_tasks():
    """These tests are synchronous (Playwright's sync API runs its own loop): nothing to check."""
    yield


class Demo:
    """``lanesort demo`` as a child process, and what it printed."""

    def __init__(
        self,
        data_dir: Path,
        config_name: str = "demo-line.yaml",
        scenario: str | None = "tunnel-faults.yaml",
    ):
        text = on_free_ports((ROOT / "plc_configs" / config_name).read_text())
        config = data_dir / "line.yaml"
        config.write_text(text)
        argv = ["demo", "--plain", "--rate", "20000", "--config", str(config)]
        argv += ["--data-dir", str(data_dir)]
        if scenario is not None:
            argv += ["--scenario", str(ROOT / "plc_configs" / "scenarios" / scenario)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hmi.cli", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        self.lines: list[str] = []
        self.hmi_url = ""
        self.passwords: dict[str, str] = {}
        self.token = ""
        self.api_url = ""
        deadline = time.monotonic() + 90
        assert self.proc.stdout is not None
        while time.monotonic() < deadline and not (self.hmi_url and len(self.passwords) == 2):
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            if m := re.search(r"HMI on (\S+)", line):
                self.hmi_url = m.group(1).rstrip("/")
            if m := re.search(r"HMI login: user (\w+), password (\S+)", line):
                self.passwords[m.group(1)] = m.group(2)
            if m := re.search(r"viewer token for the API.*: (\S+)", line):
                self.token = m.group(1)
            if m := re.search(r"API on (http://\S+)/docs", line):
                self.api_url = m.group(1)
        assert self.hmi_url and self.passwords, "".join(self.lines)

    def api(self, path: str) -> object:
        """GET an API path with the demo's viewer token."""
        request = urllib.request.Request(
            self.api_url + path, headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def sorted_parcels(self, limit: int = 1000, since: datetime | None = None) -> list[Any]:
        """Sorted parcels (oldest first) from the API, inducted at or after ``since``."""
        query = f"?state=sorted&limit={limit}"
        if since is not None:
            query += "&since=" + urllib.parse.quote(since.isoformat())
        found = self.api("/api/v1/parcels" + query)
        assert isinstance(found, dict), found
        return found["items"]

    def stop(self) -> None:
        """Ctrl-C, as a user would."""
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Demo]:
    running = Demo(tmp_path_factory.mktemp("hmi-demo"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def page(browser: Browser, demo: Demo) -> Iterator[Page]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    failed: list[str] = []
    opened.on("requestfailed", lambda r: failed.append(r.url))
    opened.goto(f"{demo.hmi_url}/login")
    opened.screenshot(path=str(SHOTS / "01-login.png"))
    opened.get_by_test_id("login-user").fill("supervisor")
    opened.get_by_test_id("login-password").fill(demo.passwords["supervisor"])
    opened.get_by_test_id("login-submit").click()
    expect(opened.get_by_test_id("who")).to_contain_text("supervisor")
    yield opened
    external = [url for url in failed if not url.startswith(demo.hmi_url)]
    assert not external, f"the HMI asked for assets off this machine: {external}"
    context.close()


def _number(page: Page, testid: str) -> int:
    return int(page.get_by_test_id(testid).inner_text().replace(",", "") or 0)


def test_the_overview_counters_move_while_the_line_runs(page: Page, demo: Demo):
    page.goto(f"{demo.hmi_url}/")
    expect(page.get_by_test_id("overview-state")).to_have_text("Execute", timeout=30_000)
    first = _number(page, "kpi-sorted")
    deadline = time.monotonic() + 30
    while _number(page, "kpi-sorted") <= first and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    assert _number(page, "kpi-sorted") > first
    expect(page.get_by_test_id("link-sorter")).to_contain_text("UP")
    page.screenshot(path=str(SHOTS / "02-overview.png"))
    page.goto(f"{demo.hmi_url}/line")
    expect(page.get_by_test_id("chute-1")).to_be_visible()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SHOTS / "03-line-mimic.png"))


def _toggle_chute(page: Page, demo: Demo, chute: int, to_state: str, shot: str = "") -> None:
    """Disable or enable ``chute`` from its page as a supervisor does; wait until it shows."""
    page.goto(f"{demo.hmi_url}/chutes/{chute}")
    expect(page.get_by_test_id("chute-summary")).to_contain_text(f"Chute {chute}")
    page.get_by_test_id("chute-toggle").click()
    page.get_by_test_id("confirm-yes").click()
    expect(page.get_by_test_id(f"chute-{chute}")).to_have_attribute("data-state", to_state)
    if shot:
        page.screenshot(path=str(SHOTS / shot))


def test_a_disabled_chute_gets_no_more_parcels(page: Page, demo: Demo):
    chute, route, other = 3, "R03", 23  # the demo's sort plan: R03 -> [3, 23]
    page.goto(f"{demo.hmi_url}/chutes")
    expect(page.get_by_test_id(f"chute-{chute}")).to_be_visible()
    page.screenshot(path=str(SHOTS / "04-chutes.png"))
    page.get_by_test_id(f"chute-{chute}").click()
    expect(page.get_by_test_id("chute-summary")).to_contain_text(f"Chute {chute}")
    _toggle_chute(page, demo, chute, "disabled", "05-chute-disabled.png")
    # Decided from here on: parcels inducted after this instant (parcels already told
    # to go to the chute may still land there, so they are not counted).
    since = datetime.now(UTC)
    deadline = time.monotonic() + 120
    items = demo.sorted_parcels(since=since)
    while time.monotonic() < deadline and not (
        len(items) >= 40 and any(p["route"] == route for p in items)
    ):
        time.sleep(1)
        items = demo.sorted_parcels(since=since)
    mine = [p for p in items if p["route"] == route]
    assert len(items) >= 40 and mine, f"{len(items)} parcels sorted, {len(mine)} of {route}"
    assert [p for p in items if p["chute"] == chute] == [], f"chute {chute} got parcels"
    assert {p["chute"] for p in mine} == {other}, mine
    _toggle_chute(page, demo, chute, "normal")


def test_an_alarm_is_acknowledged(page: Page, demo: Demo):
    page.goto(f"{demo.hmi_url}/alarms")
    ack = page.locator("[data-testid^='ack-']:not([disabled])").first
    deadline = time.monotonic() + 60
    while ack.count() == 0 and time.monotonic() < deadline:
        page.wait_for_timeout(1000)
    assert ack.count() == 1, "no unacknowledged alarm appeared in a minute"
    key = (ack.get_attribute("data-testid") or "")[len("ack-") :]
    page.screenshot(path=str(SHOTS / "06-alarms.png"))
    ack.click()
    row = page.get_by_test_id(f"alarm-{key}")
    expect(row).not_to_have_attribute("data-state", "unacknowledged")
    page.screenshot(path=str(SHOTS / "07-alarm-acknowledged.png"))


def test_a_parcel_is_looked_up(page: Page, demo: Demo):
    deadline = time.monotonic() + 60
    while not (found := demo.sorted_parcels(limit=1)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert found, "no parcel sorted in a minute"
    barcode = found[0]["barcode"]
    page.goto(f"{demo.hmi_url}/parcels")
    page.get_by_test_id("barcode-input").fill(barcode)
    page.get_by_test_id("barcode-input").press("Enter")
    expect(page.get_by_test_id("parcel-barcode")).to_have_text(barcode)
    expect(page.get_by_test_id("parcel-state")).to_contain_text("sorted")
    expect(page.get_by_test_id("parcel-events")).to_contain_text("terminal")
    page.screenshot(path=str(SHOTS / "08-parcel.png"), full_page=True)


def test_report_and_audit_pages(page: Page, demo: Demo):
    page.goto(f"{demo.hmi_url}/report")
    expect(page.get_by_test_id("report-table")).to_contain_text("inducted")
    page.screenshot(path=str(SHOTS / "09-report.png"))
    with page.expect_download() as download:
        page.get_by_test_id("report-csv").click()
    assert download.value.suggested_filename.endswith(".csv")
    chute = 5  # not the chute another test disables: these rows are this test's own
    _toggle_chute(page, demo, chute, "disabled")
    _toggle_chute(page, demo, chute, "normal")
    page.goto(f"{demo.hmi_url}/audit")
    table = page.get_by_test_id("audit-table")
    target = page.get_by_role("cell", name=f"chute {chute}", exact=True)
    rows = {
        action: table.locator("tr")
        .filter(has=page.get_by_role("cell", name=action, exact=True))
        .filter(has=target)
        for action in ("chute.disable", "chute.enable")
    }
    show = page.get_by_role("button", name=re.compile("Show"))
    deadline = time.monotonic() + 30
    while any(r.count() == 0 for r in rows.values()) and time.monotonic() < deadline:
        show.click()  # the journal writes the audit rows from its own thread: look again
        with contextlib.suppress(PlaywrightTimeout):
            rows["chute.enable"].first.wait_for(timeout=1000)
    for action, row in rows.items():
        expect(row, f"{action} of chute {chute}").to_have_count(1)
        expect(row).to_contain_text("supervisor")
        expect(row).to_contain_text("done")
    page.screenshot(path=str(SHOTS / "10-audit.png"))


# Records what the browser blocks under the Content-Security-Policy, on every document.
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${where}`);
});
"""


def _csp_violations(page: Page) -> list[str]:
    return page.evaluate("window.__cspViolations || ['the CSP watch did not run']")


def test_no_page_breaks_the_content_security_policy(browser: Browser, page: Page, demo: Demo):
    # The watch can fail: a request off this origin is caught (in a context of its own,
    # as is ReDoc, whose "powered by" logo is the one thing it fetches from the internet;
    # the policy blocks it, as a line network would).
    probe = browser.new_context()
    probe.add_init_script(CSP_WATCH)
    probe_page = probe.new_page()
    probe_page.goto(f"{demo.hmi_url}/login")
    probe_page.evaluate("fetch('http://203.0.113.1/').catch(() => 0)")
    probe_page.wait_for_function("window.__cspViolations.length > 0", timeout=5000)
    assert _csp_violations(probe_page)[0].startswith("connect-src http://203.0.113.1")
    probe_page.goto(f"{demo.api_url}/redoc")
    heading = probe_page.get_by_role("heading", name=re.compile("^LaneSort"), level=1)
    expect(heading).to_be_visible(timeout=20_000)  # ReDoc renders the description
    redoc = [v for v in _csp_violations(probe_page) if "cdn.redoc.ly/redoc/logo" not in v]
    probe.close()

    page.context.add_init_script(CSP_WATCH)
    console: list[str] = []

    def on_console(message: Any) -> None:
        if "Content Security Policy" in message.text:
            console.append(message.text)

    page.on("console", on_console)
    seen: dict[str, list[str]] = {"/redoc": redoc}
    ready = {
        "/": "kpi-sorted",
        "/line": "chute-1",
        "/chutes/3": "chute-summary",
        "/planning": "plan-version",
        "/parcels": "barcode-input",
        "/report": "report-table",
    }
    for path, testid in ready.items():
        answer = page.goto(f"{demo.hmi_url}{path}")
        assert answer is not None
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        expect(page.get_by_test_id(testid).first).to_be_visible()
        expect(page.get_by_test_id("who")).to_contain_text("supervisor")
        seen[path] = _csp_violations(page)
    page.goto(f"{demo.api_url}/docs")
    expect(page.locator(".swagger-ui .information-container").first).to_be_visible(timeout=20_000)
    seen["/docs"] = _csp_violations(page)
    page.remove_listener("console", on_console)
    assert {path: v for path, v in seen.items() if v} == {}, seen
    assert console == []

"""What open HMI screens cost the control loop: the demo at 150,000/h with and without browsers.

Runs ``lanesort demo`` (HMI mounted, webhooks on) twice with the same seed:
once with no browser, once with ``--browsers`` headless Chromium pages logged
in as supervisor, each cycling through the live pages (overview, line mimic,
chutes, alarms) and staying on each for a few seconds. Prints the PLC-side
destination-answer latency of both runs (p50/p99/max), wrong/lost parcels, and
how long each page took to open.

    python benchmarks/hmi_load.py [--parcels 4000] [--rate 150000] [--browsers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from controller.cli.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = ("/", "/line", "/chutes", "/alarms")


def start_demo(
    work: Path, parcels: int, rate: float, pin: bool
) -> tuple[subprocess.Popen, dict[str, str]]:
    """The demo on free ports; returns the process and what it printed (URL, password)."""
    text = (ROOT / "plc_configs" / "demo-line.yaml").read_text()
    for port in ("15020", "15023", "15031", "15032"):
        text = text.replace(f"127.0.0.1:{port}", f"127.0.0.1:{free_port()}")
    text += f"\napi:\n  port: {free_port()}\n"
    config = work / "line.yaml"
    config.write_text(text)
    argv = ["taskset", "-c", "0"] if pin else []
    argv += [sys.executable, "-m", "hmi.cli", "demo", "--plain", "--seed", "1"]
    argv += ["--parcels", str(parcels), "--rate", str(rate), "--config", str(config)]
    argv += ["--data-dir", str(work / "data"), "--report", str(work / "report.json")]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    found: dict[str, str] = {}
    assert proc.stdout is not None
    while not ("url" in found and "password" in found):
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("the demo stopped before it served the HMI")
        if m := re.search(r"HMI on (\S+)", line):
            found["url"] = m.group(1).rstrip("/")
        if m := re.search(r"HMI login: user supervisor, password (\S+)", line):
            found["password"] = m.group(1)
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
    return proc, found


def browse(
    url: str,
    password: str,
    browsers: int,
    stop: threading.Event,
    opened: list[float],
    cycle_s: float,
    pages_to_cycle: tuple[str, ...] = PAGES,
):
    """Log ``browsers`` pages in and cycle them through the live pages until ``stop``
    (``cycle_s`` 0: they stay on the overview)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        pages = []
        for _ in range(browsers):
            page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            page.goto(f"{url}/login")
            page.get_by_test_id("login-user").fill("supervisor")
            page.get_by_test_id("login-password").fill(password)
            page.get_by_test_id("login-submit").click()
            page.get_by_test_id("who").wait_for()
            pages.append(page)
        step = 0
        while not stop.is_set():
            for i, page in enumerate(pages):
                started = time.perf_counter()
                try:
                    page.goto(url + pages_to_cycle[(step + i) % len(pages_to_cycle)])
                    page.get_by_test_id("packml-state").wait_for()
                except PlaywrightError:
                    if stop.wait(5):  # the demo finished while a page was opening
                        break
                    raise
                opened.append((time.perf_counter() - started) * 1000)
            step += 1
            if not cycle_s:
                stop.wait()
            stop.wait(cycle_s)
        browser.close()


def run(
    parcels: int, rate: float, browsers: int, cycle_s: float = 4.0, pin: bool = False
) -> tuple[dict, list[float]]:
    """One demo run; the report and the page-open times."""
    with tempfile.TemporaryDirectory(prefix="hmi-load-") as tmp:
        work = Path(tmp)
        proc, found = start_demo(work, parcels, rate, pin)
        stop = threading.Event()
        opened: list[float] = []
        thread = None
        if browsers:
            thread = threading.Thread(
                target=browse,
                args=(found["url"], found["password"], browsers, stop, opened, cycle_s),
            )
            thread.start()
        try:
            proc.wait(timeout=parcels / rate * 3600 * 3 + 120)
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=60)
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=30)
        return json.loads((work / "report.json").read_text()), opened


def main() -> None:
    """Both runs, then the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=4000)
    parser.add_argument("--rate", type=float, default=150_000)
    parser.add_argument("--browsers", type=int, default=2)
    parser.add_argument(
        "--cycle-s", type=float, default=4.0, help="seconds on each page (0: stay on overview)"
    )
    parser.add_argument("--skip-baseline", action="store_true", help="only the run with browsers")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="the demo on CPU 0, the browsers on CPU 1: the HMI's cost to the controller "
        "without the browsers' rendering competing for its CPU (on a line the panel is "
        "another computer)",
    )
    args = parser.parse_args()
    if args.pin:
        os.sched_setaffinity(0, {1})  # this process and the browsers it starts
    for browsers in (args.browsers,) if args.skip_baseline else (0, args.browsers):
        report, opened = run(args.parcels, args.rate, browsers, args.cycle_s, args.pin)
        plc = report["answer_latency_ms_plc"]
        ctl = report["answer_latency_ms_controller"]
        print(
            f"{browsers} browser(s): {report['inducted']} parcels at "
            f"{report['throughput_pph']:,.0f}/h; PLC-side answer p50 {plc['p50']:.2f} / "
            f"p99 {plc['p99']:.2f} / max {plc['max']:.2f} ms; wrong chute "
            f"{report['sorted_wrong_chute']}, lost {report['lost']}, too late "
            f"{report['rejected_by_reason'].get('answer_too_late', 0)}; controller-side p50 "
            f"{ctl['p50']:.2f} / p99 {ctl['p99']:.2f} / max {ctl['max']:.2f} ms"
        )
        if opened:
            ordered = sorted(opened)
            print(
                f"  {len(opened)} page opens: median {ordered[len(ordered) // 2]:.0f} ms, "
                f"max {ordered[-1]:.0f} ms (login to page drawn, in the browser)"
            )


if __name__ == "__main__":
    main()

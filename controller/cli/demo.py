"""``lanesort demo``: the simulated line as a child process, the controller, live counters.

The simulator runs as its own process (``python -m simulators``), exactly as a
real line's devices are other machines: the controller only knows the
addresses in the config. With ``--parcels N`` the demo stops when every one of
the N parcels has its terminal state, then writes the report.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.auth import TokenStore, UserStore, tokens_path, users_path
from controller.cli import demo_fleet, demo_putwall
from controller.cli.child_process import ChildProcess
from controller.cli.demo_screen import status_line, watch
from controller.cli.demo_tms import TmsProcess
from controller.cli.serve import WebExtension, bind, run_line
from controller.errors import ControllerError
from controller.line import LineController
from controller.line.realtime import raise_to_realtime
from controller.reports import DemoReport, build_report, read_journal
from plc_configs.schema import LineConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoOptions:
    """What the user asked of the demo."""

    config_path: Path
    data_dir: Path
    parcels: int | None
    rate_pph: float | None
    seed: int | None
    report: Path | None
    live: bool
    scenario: Path | None = None
    web: tuple[WebExtension, ...] = ()
    """Pages mounted on the API's app (the HMI): the demo then makes HMI logins."""
    settle_s: float = 10.0
    """At the end: this long with nothing new at the walls and doors means they are done."""


class SimulatorProcess:
    """The line simulator as a child process."""

    def __init__(self, options: DemoOptions):
        self.options = options
        self.truth_path = options.data_dir / "truth.json"
        self.child = ChildProcess("simulator", options.data_dir / "simulator.log", nice=0)
        self.log_path = self.child.log_path
        self.ready: dict[str, object] = {}
        self.drained = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def start(self, timeout_s: float = 60.0) -> dict[str, object]:
        """Start the simulator and wait for its ready line."""
        o = self.options
        args = [sys.executable, "-m", "simulators", "--config", str(o.config_path),
                "--data-dir", str(o.data_dir), "--truth", str(self.truth_path)]  # fmt: skip
        for flag, value in (
            ("--parcels", o.parcels),
            ("--rate", o.rate_pph),
            ("--seed", o.seed),
            ("--scenario", o.scenario),
        ):
            if value is not None:
                args += [flag, str(value)]
        self.ready = await self.child.start(args, timeout_s)
        self._reader = asyncio.create_task(self._read_events())
        return self.ready

    async def _read_events(self) -> None:
        async for message in self.child.lines():
            if message.get("event") == "drained":
                self.drained.set()

    async def stop(self) -> int | None:
        """Ask the simulator to stop (SIGTERM), then wait; kill after 10 s."""
        code = await self.child.stop()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        return code

    def truth(self) -> dict[str, object] | None:
        """The twin's ground truth, if the simulator wrote it."""
        try:
            return json.loads(self.truth_path.read_text())
        except (OSError, json.JSONDecodeError):
            return None


async def run_demo(config: LineConfig, options: DemoOptions, config_text: str) -> DemoReport | None:
    """Run the demo until N parcels are done or it is stopped, and return the report.

    A stop is a cancellation of this task (Ctrl-C or SIGTERM, see
    :mod:`controller.cli.stop_signal`): once the line runs, it ends the run like reaching N
    parcels does (the report says ``interrupted``; without ``--report`` there is none);
    before that it propagates. Either way the line and both simulators are stopped first.
    """
    options.data_dir.mkdir(parents=True, exist_ok=True)
    sim = SimulatorProcess(options)
    tms = TmsProcess(options.data_dir)
    fleet = demo_fleet.FleetDemo(options.config_path, options.data_dir, options.seed)
    started = time.monotonic()
    started_wall = time.time()
    try:
        ready = await sim.start()
        print(f"simulator ready: {json.dumps(ready)}")
        if (priority := config.line.realtime_priority) and sim.child.proc is not None:
            # the simulator is the PLC: a real one has a CPU of its own and does not wait
            # for the line's, so it runs a step above the line's loop
            pid = sim.child.proc.pid
            who = f"the simulator's event loop (pid {pid})"
            raise_to_realtime(min(priority + 1, 99), who, pid)
        config = _at_belt_speed(config, float(str(ready.get("belt_speed_mps") or 0)))
        await tms.start()
        config = _api_for_demo(tms.configure(config))
        if config.fleet.enabled:
            config = await fleet.start(config)
        line = LineController(config, options.data_dir, config_text)
        fleet.schedule_arrivals(line)
        run = await _run_line(line, options, tms, started, fleet)
    finally:
        await fleet.stop()
        await tms.stop()
        code = await sim.stop()
        if code not in (0, None, -signal.SIGTERM):
            print(f"simulator exited with {code}; see {sim.log_path}", file=sys.stderr)
    print(status_line(line.snapshot()))
    if run.error is not None:
        raise ControllerError(f"the controller stopped: {run.error}") from run.error
    if run.interrupted and options.report is None:
        return None
    journal = await asyncio.to_thread(read_journal, line.journal.path, line.journal.session)
    versions = await line.plan_service.history(limit=100_000)
    report = build_report(
        journal,
        sim.truth(),
        config.sort_plan,
        plans={v.version: v.plan for v in versions},
        parcels_requested=options.parcels,
        rate_pph=options.rate_pph or config.simulation.rate_pph,
        seed=options.seed if options.seed is not None else config.simulation.seed,
        wall_time_s=run.wall_s,
        interrupted=run.interrupted,
    )
    report.upstream = run.upstream
    report.plc_reads = line.plc.reads
    if config.putwall.walls:
        report.putwall = demo_putwall.figures(line)
    if config.fleet.enabled:
        report.fleet = demo_fleet.figures(line)
    report.plan_changes = [
        {
            "version": v.version,
            "action": v.action,
            "actor": v.actor,
            "reason": v.reason,
            "routes_changed": len(v.change),
        }
        for v in reversed(versions)
        if v.time >= started_wall
    ]
    if options.report is not None:
        options.report.parent.mkdir(parents=True, exist_ok=True)
        options.report.write_text(report.to_json())
        print(f"report written to {options.report}")
    return report


@dataclass
class _LineRun:
    """How the demo's line run ended."""

    interrupted: bool
    wall_s: float
    upstream: dict[str, Any]
    error: BaseException | None


def _stop_taken() -> None:
    """A stop (this task cancelled) was caught to end the run in order: undo its count."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


async def _run_line(
    line: LineController,
    options: DemoOptions,
    tms: TmsProcess,
    started: float,
    fleet: demo_fleet.FleetDemo,
) -> _LineRun:
    """Run the line with its API (logins and a token printed) until done or stopped; the
    line is stopped (its journal closed) before this returns."""
    config = line.config
    token = await asyncio.to_thread(
        TokenStore(tokens_path(options.data_dir, config.api.tokens_path)).create,
        f"demo-{os.getpid()}",
        "viewer",
    )
    logins = await asyncio.to_thread(_demo_logins, config, options) if options.web else []
    task = asyncio.create_task(run_line(line, announce=print, web=options.web), name="line")
    try:
        for user, password in logins:
            print(f"HMI login: user {user}, password {password}")
        print(f"TMS simulator receives the webhooks at {tms.webhook_url}")
        print(f"a viewer token for the API (Authorize in /docs): {token}", flush=True)
        await _send_route_plan(line, options, tms, task)
        try:
            await watch(line, task, options.parcels, options.rate_pph, options.live, started)
            await fleet.arrivals_done()
            await demo_putwall.finish(line, quiet_s=options.settle_s)
            interrupted = False
        except asyncio.CancelledError:
            _stop_taken()
            interrupted = True
        wall = time.monotonic() - started
        upstream: dict[str, Any] = {}
        if not interrupted or options.report is not None:
            upstream = await _drain_upstream(line, tms, interrupted)
    finally:
        error = await _stop_line(task)
    return _LineRun(interrupted, wall, upstream, error)


ROUTE_PLAN_FILE = "route-plan.json"
"""Written by the simulator (``simulation.route_plan``) next to its manifest."""


async def _send_route_plan(
    line: LineController, options: DemoOptions, tms: TmsProcess, task: asyncio.Task[None]
) -> None:
    """When the simulator generated a route plan, send it as the TMS does, once the API is
    up: the line then plans its sort plan from it (``replanning``)."""
    path = options.data_dir / ROUTE_PLAN_FILE
    if not path.exists():
        return
    while line.api_url is None and not task.done():  # noqa: ASYNC110 (set by the server)
        await asyncio.sleep(0.05)
    if task.done():
        return
    token = await asyncio.to_thread(
        TokenStore(tokens_path(options.data_dir, line.config.api.tokens_path)).create,
        f"demo-tms-{os.getpid()}",
        "tms",
    )
    plan = await tms.push_route_plan(str(line.api_url), token, path)
    print(
        f"route plan version {plan['version']} sent as the TMS does (PUT /api/v1/route-plan): "
        f"{len(plan['trucks'])} trucks, {len(plan['routes'])} routes; "
        f"re-planning policy {line.config.replanning.policy}",
        flush=True,
    )


async def _stop_line(task: asyncio.Task[None], grace_s: float = 15.0) -> BaseException | None:
    """Cancel the line and wait for it (never hang on a stuck task); return its error."""
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=grace_s)
    if not done:
        log.error("the controller did not stop within %.0f s; cancelling again", grace_s)
        print(f"warning: the controller did not stop within {grace_s:.0f} s", file=sys.stderr)
        task.cancel()
        await asyncio.wait({task}, timeout=grace_s)
    if task.done() and not task.cancelled() and task.exception() is not None:
        log.error("the controller stopped with an error", exc_info=task.exception())
        return task.exception()
    return None


async def _drain_upstream(
    line: LineController, tms: TmsProcess, interrupted: bool, within_s: float = 30.0
) -> dict[str, Any]:
    """Wait (up to ``within_s``) until the outbox is empty; what was sent and received."""
    deadline = time.monotonic() + (0 if interrupted else within_s)
    try:
        if line.journal.is_open:
            await line.journal.barrier()
        await asyncio.sleep(1.5)  # the deliverer refreshes its counts about every second
        while time.monotonic() < deadline and line.upstream.stats().pending:  # noqa: ASYNC110
            await asyncio.sleep(0.5)
    except asyncio.CancelledError:  # stopped while waiting: what was delivered so far
        _stop_taken()
    stats = line.upstream.stats()
    return {
        "webhook_url": tms.webhook_url,
        "pending": stats.pending,
        "dead": stats.dead,
        "delivered": stats.delivered_total,
        "tms": await tms.stats(),
    }


def _demo_logins(config: LineConfig, options: DemoOptions) -> list[tuple[str, str]]:
    """A supervisor and a viewer for the HMI, with fresh passwords printed for this run."""
    if not config.hmi.enabled:
        return []
    store = UserStore(users_path(options.data_dir, config.hmi.users_path))
    existing = {u.name for u in store.list()}
    logins = []
    for name in ("supervisor", "viewer"):
        password = secrets.token_urlsafe(9)
        if name in existing:
            store.set_password(name, password)
        else:
            store.add(name, name, password)
        logins.append((name, password))
    return logins


def _api_for_demo(config: LineConfig) -> LineConfig:
    """The configured API and OPC UA ports, or any free ones when taken (a second demo)."""
    try:
        bind(config.api.host, config.api.port).close()
    except ControllerError:
        api = config.api.model_copy(update={"port": 0})
        config = config.model_copy(update={"api": api})
    opcua = config.opcua_server
    if opcua.enabled and opcua.port:
        try:
            bind(opcua.host, opcua.port, "opcua_server").close()
        except ControllerError:
            any_port = opcua.model_copy(update={"port": 0})
            config = config.model_copy(update={"opcua_server": any_port})
    return config


def _at_belt_speed(config: LineConfig, speed: float) -> LineConfig:
    """The config of the line the simulator really runs.

    At rates the configured belt cannot carry (the 150,000 parcels/h stress test) the
    simulator runs the belt faster; the controller must then know the real speed (its
    scan-window check depends on it) and answer within the shorter answer window.
    """
    if speed <= config.topology.belt_speed_mps:
        return config
    data = config.model_dump(mode="python")
    data["topology"]["belt_speed_mps"] = speed
    window = (config.topology.decision_point_mm - config.topology.request_point_mm) / speed
    deadline = min(config.decision.deadline_ms, window / 2)
    data["decision"]["deadline_ms"] = deadline
    read_budget = (config.topology.request_point_mm - config.topology.scan_point_mm) / speed
    timeout = max(1, int(read_budget / 2))
    for name in config.tunnel_devices():
        device = data["devices"][name]
        device["timeout_ms"] = min(device["timeout_ms"], timeout)
    data["tunnel"]["measure_deadline_ms"] = min(config.tunnel.measure_deadline_ms, timeout)
    print(
        f"the simulator runs the belt at {speed:.1f} m/s to carry this rate: answer window "
        f"{window:.1f} ms, decision deadline {deadline:.1f} ms, tunnel device timeouts "
        f"at most {timeout} ms"
    )
    return LineConfig.model_validate(data)


def default_data_dir(base: str) -> Path:
    """A fresh folder for one demo run under ``base``."""
    return Path(base) / time.strftime("demo-%Y%m%d-%H%M%S") / str(os.getpid())

"""``lanesort demo --site N``: a hub of N simulated lines, one Mosquitto, one PostgreSQL and
the site service on this machine.

Each line is the one-line demo (``lanesort demo``, its own simulators and reference TMS)
as a child process, on free ports, named ``line-1`` … ``line-N``, with a ``site:`` section
(its journal relayed to the site's PostgreSQL, its parcel events on the broker) and a
``sparkplug:`` section (an edge node of group ``site``). The site service
(``lanesort site``) reads the store and links to each line. Passwords (PostgreSQL, the
broker, the site's API token for the lines) are made for the run and passed in
environment variables, never in a file or on a command line.

When every line has finished its parcels, the demo waits until the store has all of
them (the relay caught up) and prints the site's totals against the sum of the lines'.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.auth import TokenStore, UserStore, in_data_dir, tokens_path
from controller.cli.child_process import niced
from controller.cli.ports import free_port, on_free_ports, with_line_key
from drivers.mqtt.broker import MosquittoBroker
from drivers.postgres.server import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
LINE_CONFIG = ROOT / "plc_configs" / "demo-line.yaml"
PG_PASSWORD_ENV = "LANESORT_SITE_PG_PASSWORD"
MQTT_PASSWORD_ENV = "LANESORT_SITE_MQTT_PASSWORD"
SITE_NAME = "demo-site"
SITE_TIER_NICE = 10
"""The store, the broker and the site service run below the lines' controllers: the
lines answer their PLCs in real time, the site tier is built to catch up (its relay
and event cursors wait for it). The lines' TMS simulators run at the same niceness
(:data:`~controller.cli.child_process.STAND_IN_NICE`)."""
TERMINAL = ("sorted", "rejected", "lost")
#: A belt fast enough for 36,000 parcels/h a line (at 2.5 m/s parcels would touch), and
#: parcels that fit the pitch (as in the crash-restart system test).
FAST_BELT = {
    "  belt_speed_mps: 2.5": "  belt_speed_mps: 8",
    "  parcel_length_mm: [200, 600]": "  parcel_length_mm: [200, 400]",
}
REALTIME_PRIORITY = 10
"""Each line's event loop runs at this real-time priority while an answer to its PLC can
be due (``line.realtime_priority``, ``line.realtime_scope: answering``), its PLC simulator
one step above all the time: N lines, the store and the broker share this machine's
cores, and a line's answer to its PLC must not wait behind them. Measured with
``benchmarks/site_load.py``: 4 lines on 2 cores, answer p99 x1.4–2.0 the line alone at
normal priority, x0.96–1.04 at this one over the latest three rounds, x1.13–1.18 in a
noisier hour (``docs/site-projection.md``)."""


@dataclass
class SiteDemoOptions:
    """What the user asked of the site demo."""

    lines: int
    data_dir: Path
    parcels: int | None
    rate_pph: float | None
    seed: int
    report: Path | None = None
    line_config: Path = LINE_CONFIG
    realtime_priority: int = REALTIME_PRIORITY


@dataclass
class DemoLine:
    """One line of the hub: its config, data folder, ports and process."""

    name: str
    data_dir: Path
    config_path: Path
    api_port: int
    token_env: str
    token: str = ""
    proc: asyncio.subprocess.Process | None = None
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        """The line's REST API."""
        return f"http://127.0.0.1:{self.api_port}"


def line_config_text(
    base: str,
    name: str,
    api_port: int,
    pg: PostgresServer,
    broker: MosquittoBroker,
    realtime_priority: int = REALTIME_PRIORITY,
) -> str:
    """The demo line's config on free ports, named ``name``, linked to the site, its event
    loop at ``realtime_priority``."""
    text = on_free_ports(base).replace("  name: demo-line", f"  name: {name}", 1)
    for old, new in FAST_BELT.items():
        text = text.replace(old, new, 1)
    text = with_line_key(text, "realtime_priority", realtime_priority)
    mqtt = f"    url: {broker.url}\n    username: line\n    password_env: {MQTT_PASSWORD_ENV}\n"
    return text + (
        f"\napi:\n  host: 127.0.0.1\n  port: {api_port}\n"
        "opcua_server:\n  enabled: false\n"
        f"site:\n  site: {SITE_NAME}\n"
        f"  api_url: http://127.0.0.1:{api_port}\n  hmi_url: http://127.0.0.1:{api_port}/hmi\n"
        f"  postgres:\n    url: {pg.url}\n    password_env: {PG_PASSWORD_ENV}\n"
        f"  mqtt:\n{mqtt.replace('    ', '    ')}"
        f"sparkplug:\n  group_id: {SITE_NAME}\n  mqtt:\n{mqtt}"
    )


def site_config_text(lines: list[DemoLine], pg: PostgresServer, port: int, data: Path) -> str:
    """The site service's config: the store, its port and every line (routes R01–R20 are
    spread over the lines in turn)."""
    entries = "".join(
        f"  {line.name}:\n    api_url: {line.api_url}\n    hmi_url: {line.api_url}/hmi\n"
        f"    token_env: {line.token_env}\n"
        for line in lines
    )
    routes = "".join(f"    R{r:02d}: {lines[(r - 1) % len(lines)].name}\n" for r in range(1, 21))
    return (
        f"site:\n  name: {SITE_NAME}\n  data_dir: {data}\n"
        f"postgres:\n  url: {pg.url}\n  password_env: {PG_PASSWORD_ENV}\n"
        f"http:\n  host: 127.0.0.1\n  port: {port}\n"
        f"lines:\n{entries}routes:\n  map:\n{routes}"
    )


class SiteDemo:
    """The hub: store, broker, site service and lines, started and stopped together."""

    def __init__(self, options: SiteDemoOptions):
        self.options = options
        self.data = options.data_dir
        self.env = dict(os.environ)
        # made for the run, unless the caller (a benchmark, a test) chose them
        self.env.setdefault(PG_PASSWORD_ENV, secrets.token_urlsafe(18))
        self.env.setdefault(MQTT_PASSWORD_ENV, secrets.token_urlsafe(18))
        self.pg = PostgresServer(free_port(), self.env[PG_PASSWORD_ENV], database="site")
        self.broker = MosquittoBroker(free_port(), users={"line": self.env[MQTT_PASSWORD_ENV]})
        self.site_port = free_port()
        self.site_proc: asyncio.subprocess.Process | None = None
        self.lines: list[DemoLine] = []
        self.site_password = ""
        self.site_token = ""

    def _prepare_lines(self) -> None:
        base = self.options.line_config.read_text()
        for k in range(1, self.options.lines + 1):
            name = f"line-{k}"
            folder = self.data / name
            folder.mkdir(parents=True, exist_ok=True)
            line = DemoLine(name, folder, folder / "line.yaml", free_port(), f"LANESORT_{k}_TOKEN")
            line.config_path.write_text(
                line_config_text(
                    base, name, line.api_port, self.pg, self.broker, self.options.realtime_priority
                )
            )
            store = TokenStore(tokens_path(folder, "tokens.sqlite"))
            line.token = store.create(f"site-{SITE_NAME}", "tms")
            self.env[line.token_env] = line.token
            self.lines.append(line)

    async def start(self) -> None:
        """Start the store, the broker, the site service and every line.

        What blocks (``initdb`` and ``pg_ctl``, the broker's start, the token and user
        stores' SQLite and password hashing) runs in a worker thread, not on the loop.
        """
        self.data.mkdir(parents=True, exist_ok=True)
        self.pg.nice = self.broker.nice = SITE_TIER_NICE
        await asyncio.gather(asyncio.to_thread(self.pg.start), asyncio.to_thread(self.broker.start))
        await asyncio.to_thread(self._prepare_lines)
        site_config = self.data / "site.yaml"
        site_config.write_text(
            site_config_text(self.lines, self.pg, self.site_port, self.data / "site")
        )
        await asyncio.to_thread(self._site_logins, self.data / "site")
        self.site_proc = await self._spawn(
            [sys.executable, "-m", "hmi.cli", "site", "--config", str(site_config)],
            self.data / "site.log",
            SITE_TIER_NICE,
        )
        o = self.options
        for k, line in enumerate(self.lines, 1):
            report = line.data_dir / "report.json"
            args = [sys.executable, "-m", "hmi.cli", "demo", "--config",
                    str(line.config_path), "--data-dir", str(line.data_dir), "--plain",
                    "--seed", str(o.seed + k), "--report", str(report)]  # fmt: skip
            if o.parcels is not None:
                args += ["--parcels", str(o.parcels)]
            if o.rate_pph is not None:
                args += ["--rate", str(o.rate_pph)]
            line.proc = await self._spawn(args, line.data_dir / "demo.log")
        (self.data / "where.json").write_text(json.dumps(self.where_json(), indent=2))

    def where_json(self) -> dict[str, Any]:
        """Where everything is, for tools (benchmarks): ports, pids, data folders."""
        return {
            "site": SITE_NAME,
            "postgres": {"url": self.pg.url, "port": self.pg.port, "pid": self.pg.pid,
                         "password_env": PG_PASSWORD_ENV},
            "mqtt": {"url": self.broker.url, "port": self.broker.port, "pid": self.broker.pid,
                     "username": "line", "password_env": MQTT_PASSWORD_ENV},
            "site_service": {"url": f"http://127.0.0.1:{self.site_port}",
                             "pid": self.site_proc.pid if self.site_proc else None},
            "lines": {
                line.name: {"api_url": line.api_url, "data_dir": str(line.data_dir),
                            "pid": line.proc.pid if line.proc else None}
                for line in self.lines
            },
        }  # fmt: skip

    def _site_logins(self, site_dir: Path) -> None:
        """A supervisor for the site's HMI and a viewer token for its API, made for the run."""
        site_dir.mkdir(parents=True, exist_ok=True)
        users = UserStore(in_data_dir(site_dir, "users.sqlite"))
        self.site_password = secrets.token_urlsafe(9)
        if "supervisor" in {u.name for u in users.list()}:
            users.set_password("supervisor", self.site_password)
        else:
            users.add("supervisor", "supervisor", self.site_password)
        self.site_token = TokenStore(in_data_dir(site_dir, "tokens.sqlite")).create(
            "site-demo-viewer", "viewer"
        )

    async def _spawn(self, args: list[str], log: Path, nice: int = 0) -> asyncio.subprocess.Process:
        with log.open("wb") as out:
            return await asyncio.create_subprocess_exec(
                *niced(args, nice), stdout=out, stderr=out, stdin=asyncio.subprocess.DEVNULL,
                env=self.env,
            )  # fmt: skip

    def where(self) -> list[str]:
        """Where everything is, for the console."""
        rows = [
            f"PostgreSQL (site store): {self.pg.url} (password in ${PG_PASSWORD_ENV})",
            f"MQTT broker: {self.broker.url} (user line, password in ${MQTT_PASSWORD_ENV}); "
            f"events on lanesort/v1/{SITE_NAME}/+/events/#, Sparkplug on spBv1.0/{SITE_NAME}/#",
            f"site service: http://127.0.0.1:{self.site_port}/hmi (login supervisor / "
            f"{self.site_password}); API /api/v1 (Authorization: Bearer {self.site_token}), "
            f"metrics /metrics; log {self.data / 'site.log'}",
        ]
        rows += [
            f"{line.name}: API {line.api_url}/docs, HMI {line.api_url}/hmi "
            f"(its logins in {line.data_dir / 'demo.log'})"
            for line in self.lines
        ]
        return rows

    async def wait_lines(self) -> None:
        """Wait for every line's demo to finish its parcels."""
        for line in self.lines:
            assert line.proc is not None
            code = await line.proc.wait()
            with contextlib.suppress(OSError, json.JSONDecodeError):
                line.report = json.loads((line.data_dir / "report.json").read_text())
            if code != 0:
                line.report.setdefault("exit_code", code)

    def store_totals(self) -> dict[str, dict[str, int]]:
        """Parcels by terminal state per line, as the site store has them."""
        import psycopg

        with psycopg.connect(self.pg.conninfo(), connect_timeout=5) as conn:
            rows = conn.execute(
                "SELECT line, state, count(*) FROM parcels WHERE state = ANY(%s) "
                "GROUP BY line, state",
                (list(TERMINAL),),
            ).fetchall()
        totals: dict[str, dict[str, int]] = {}
        for line, state, count in rows:
            totals.setdefault(line, {})[state] = count
        return totals

    async def wait_store(self, timeout_s: float = 60.0) -> dict[str, dict[str, int]]:
        """Wait until the store has every line's terminal parcels (the relays caught up)."""
        deadline = time.monotonic() + timeout_s
        want = {
            line.name: await asyncio.to_thread(_journal_terminals, line.data_dir)
            for line in self.lines
        }
        while True:
            totals = await asyncio.to_thread(self.store_totals)
            have = {name: sum(totals.get(name, {}).values()) for name in want}
            if have == want or time.monotonic() > deadline:
                return totals
            await asyncio.sleep(0.5)

    async def stop(self) -> None:
        """Stop the lines, the site service, the broker and the store."""
        procs = [line.proc for line in self.lines] + [self.site_proc]
        for proc in procs:
            if proc is not None and proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
        for proc in procs:
            if proc is not None:
                try:
                    async with asyncio.timeout(20):
                        await proc.wait()
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
        await asyncio.to_thread(self.broker.close)
        await asyncio.to_thread(self.pg.close)  # pg_ctl stop waits for the server


def _journal_terminals(data_dir: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(f"file:{data_dir / 'journal.sqlite'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM events WHERE kind = 'terminal'").fetchone()[0]
    finally:
        conn.close()


async def run_site_demo(options: SiteDemoOptions) -> dict[str, Any]:
    """Run the hub until every line is done; return the summary (also printed)."""
    demo = SiteDemo(options)
    try:
        await demo.start()
        for row in demo.where():
            print(row, flush=True)
        await demo.wait_lines()
        totals = await demo.wait_store()
        terminals = [await asyncio.to_thread(_journal_terminals, x.data_dir) for x in demo.lines]
        summary = {
            "lines": {
                line.name: {
                    "journal_terminal": terminal,
                    "store": totals.get(line.name, {}),
                    "answer_p99_ms": line.report.get("answer_latency_ms_controller", {}).get("p99"),
                    "rejected_by_reason": line.report.get("rejected_by_reason"),
                    "exit_code": line.report.get("exit_code", 0),
                }
                for line, terminal in zip(demo.lines, terminals, strict=True)
            },
            "site_total": sum(sum(t.values()) for t in totals.values()),
            "sum_of_lines": sum(terminals),
        }
        if options.report is not None:
            options.report.write_text(json.dumps(summary, indent=2))
        return summary
    finally:
        await demo.stop()

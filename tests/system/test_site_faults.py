"""System test: a hub of two lines meets every site-side fault, on one machine.

Each line (line simulator, reference TMS simulator, controller) runs in a network
namespace of its own, reaching the site only over a veth link to the site's bridge
(:mod:`tests.system.netns`). On the bridge's address: PostgreSQL (the site store),
Mosquitto (users per line and for the host, the Sparkplug ACL), the site service and the
Sparkplug primary host ``scada`` (:mod:`tests.system.scada`). Each line sorts 400 parcels
at 36,000/h while, at journal terminal counts (not at times):

(a) line 1's link is cut for 5 s, then mended (its MQTT keepalive and PostgreSQL TCP
    timeout are short, so both links really break);
(b) line 2's controller is killed with SIGKILL and started again;
(c) the broker is stopped for 2 s and started again (no persistence: retained STATE gone);
(d) PostgreSQL is stopped for 2 s and started again, then killed with SIGKILL and started;
(e) the primary host says STATE offline, then online again.

Then, per line: the site store's terminal (session, uid) are the journal's, each once;
its event rows are the journal's (nothing lost, nothing twice); its parcels' terminal
states are the journal's; the site service's counters sum the lines; the Sparkplug rules
hold over the whole captured stream and each node was born again after each fault that
ended its session; every line sorted on during every site-side fault; every physical
parcel has exactly one terminal state.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from drivers.mqtt.broker import MosquittoBroker
from drivers.postgres.server import PostgresServer
from drivers.sparkplug.acl import sparkplug_acl
from tests.conftest import free_port
from tests.drivers.sparkplug import rules
from tests.system import netns
from tests.system.harness import ROOT, Line, Process, wait_until
from tests.system.scada import HOST_ID, Scada

pytestmark = pytest.mark.system

PARCELS = 400  # 40 s: the faults are played by about the 290th parcel of a line
RATE = 36_000
SITE = "hub"
LINES = ("line-1", "line-2")
TERMINAL = ("sorted", "rejected", "lost")
PG_ENV, MQTT_ENV = "LANESORT_SITE_PG_PASSWORD", "LANESORT_SITE_MQTT_PASSWORD"
# The fast belt of the crash-restart test, and the line's name.
CONFIG = """\
  name: {name}
  belt_speed_mps: 16
  parcel_length_mm: [200, 400]
  lost_after_s: 5
"""
# Short keepalive and TCP timeouts: a 5 s cut breaks the links instead of stalling them.
MQTT = """\
    url: mqtt://{address}:{port}
    username: {user}
    password_env: {env}
    keepalive_s: 2
    reconnect_max_s: 2
"""
SITE_LINK = """\
site:
  site: {site}
  postgres:
    url: {pg_url}
    password_env: {pg_env}
    connect_timeout_s: 1
    reconnect_max_s: 2
  mqtt:
{mqtt}sparkplug:
  group_id: {site}
  primary_host: {host}
  command_host: {host}
  publish_interval_s: 0.5
  mqtt:
{mqtt}"""


def _site_config(path: Path, pg: PostgresServer, port: int, lines: dict[str, Line]) -> None:
    entries = "".join(
        f"  {name}:\n    api_url: {line.api_url}\n    hmi_url: {line.api_url}/hmi\n"
        for name, line in lines.items()
    )
    path.write_text(
        f"site:\n  name: {SITE}\n  data_dir: {path.parent / 'site-data'}\n"
        f"postgres:\n  url: {pg.url}\n  password_env: {PG_ENV}\n"
        f"http:\n  host: {netns.SITE_ADDRESS}\n  port: {port}\n"
        f"hmi:\n  enabled: false\nlines:\n{entries}routes:\n  default: line-1\n"
    )


def _journal(line: Line) -> dict[str, Any]:
    conn = sqlite3.connect(line.data / "journal.sqlite")
    try:
        return {
            "events": conn.execute("SELECT count(*) FROM events").fetchone()[0],
            "terminal": conn.execute(
                "SELECT session, uid, state, tracking_id FROM events WHERE kind = 'terminal'"
            ).fetchall(),
            "parcels": dict(
                ((s, u), state) for s, u, state in conn.execute(
                    "SELECT session, uid, state FROM parcels"
                )
            ),
            "outbox_top": conn.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()[0],
            "events_cursor": conn.execute(
                "SELECT last_id FROM site_event_cursor WHERE name = 'mqtt'"
            ).fetchone()[0],
            "open": conn.execute(
                "SELECT count(*) FROM parcels WHERE state NOT IN ('sorted', 'rejected', 'lost')"
            ).fetchone()[0],
        }  # fmt: skip
    finally:
        conn.close()


def _store(pg: PostgresServer) -> dict[str, Any]:
    with psycopg.connect(pg.conninfo(), connect_timeout=5) as conn:
        return {
            "events": dict(
                conn.execute("SELECT line, count(*) FROM parcel_events GROUP BY line").fetchall()
            ),
            "terminal": conn.execute(
                "SELECT line, session, uid, state FROM parcel_events WHERE kind = 'terminal'"
            ).fetchall(),
            "twice": conn.execute(
                "SELECT line, session, uid, count(*) FROM parcel_events WHERE kind = 'terminal'"
                " GROUP BY line, session, uid HAVING count(*) > 1"
            ).fetchall(),
            "parcels": conn.execute("SELECT line, session, uid, state FROM parcels").fetchall(),
        }


def _caught_up(pg: PostgresServer, lines: dict[str, Line]) -> bool:
    with contextlib.suppress(psycopg.Error):
        events = _store(pg)["events"]
        return all(events.get(name) == _journal(line)["events"] for name, line in lines.items())
    return False


class Hub:
    """The lines, and each fault's window: every line's terminal count at its start and end."""

    def __init__(self, lines: dict[str, Line]):
        self.lines = lines
        self.windows: dict[str, dict[str, tuple[int, int]]] = {}
        self.born: dict[str, dict[str, int]] = {}

    def counts(self) -> dict[str, int]:
        """Each line's terminal count in its journal now."""
        return {name: line.terminal_count() for name, line in self.lines.items()}

    def begin(self, fault: str, births: dict[str, int]) -> None:
        """A fault starts now (``births``: each node's NBIRTH count before it)."""
        self.born[fault] = births
        self.windows[fault] = {n: (c, c) for n, c in self.counts().items()}

    def end(self, fault: str) -> None:
        """The fault is still on: the counts now close its window."""
        self.windows[fault] = {n: (self.windows[fault][n][0], c) for n, c in self.counts().items()}


def _relayed(pg: PostgresServer, start: dict[str, int]) -> bool:
    with contextlib.suppress(psycopg.Error):
        now = _store(pg)["events"]
        return all(now.get(name, 0) > start.get(name, 0) for name in LINES)
    return False


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    reason = netns.available()
    assert reason is None, f"this test needs network namespaces: {reason}"
    tmp = tmp_path_factory.mktemp("site-faults")
    pg_password = secrets.token_urlsafe(12)
    passwords = {user: secrets.token_urlsafe(12) for user in (*LINES, HOST_ID)}
    with contextlib.ExitStack() as stack:
        net = stack.enter_context(netns.SiteNetwork())
        pg = PostgresServer(free_port(), pg_password, host=netns.SITE_ADDRESS, database="site")
        stack.callback(pg.close)
        pg.start()
        acl = sparkplug_acl(SITE, HOST_ID, [(n, n) for n in LINES])
        for name in LINES:
            acl[name].append(("write", f"lanesort/v1/{SITE}/{name}/events/#"))
        broker = MosquittoBroker(free_port(), host=netns.SITE_ADDRESS, users=passwords, acl=acl)
        stack.callback(broker.close)
        broker.start()
        scada = Scada(netns.SITE_ADDRESS, broker.port, HOST_ID, passwords[HOST_ID])
        stack.callback(scada.close)
        scada.start()
        lines: dict[str, Line] = {}
        spaces: dict[str, netns.LineNamespace] = {}
        for name in LINES:
            ns = spaces[name] = net.add_line()
            folder = tmp / name
            folder.mkdir()
            mqtt = MQTT.format(
                address=netns.SITE_ADDRESS, port=broker.port, user=name, env=MQTT_ENV
            )
            append = SITE_LINK.format(
                site=SITE, pg_url=pg.url, pg_env=PG_ENV, mqtt=mqtt, host=HOST_ID
            )
            line = Line(
                folder, PARCELS, RATE, CONFIG.format(name=name), config_append=append,
                wrap=ns.argv, api_host=ns.address,
                env={PG_ENV: pg_password, MQTT_ENV: passwords[name]},
            )  # fmt: skip
            stack.callback(line.close)
            lines[name] = line
        site_yaml = tmp / "site.yaml"
        site_port = free_port()
        _site_config(site_yaml, pg, site_port, lines)
        token = subprocess.run(
            [sys.executable, "-m", "controller.cli", "token", "create", "--site", str(site_yaml),
             "--name", "faults-test", "--role", "viewer"],
            capture_output=True, text=True, check=True, cwd=ROOT,
        ).stdout.strip()  # fmt: skip
        site = Process(
            [sys.executable, "-m", "controller.cli", "site", "--config", str(site_yaml)],
            tmp / "site.log",
            {PG_ENV: pg_password},
        )
        stack.callback(site.stop)
        site_url = f"http://{netns.SITE_ADDRESS}:{site_port}"

        def site_up() -> bool:
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(f"{site_url}/health", timeout=1).status_code == 200
            return False

        for line in lines.values():
            line.start_controller()
        for line in lines.values():
            line.start_sim()
        wait_until(site_up, 30, "the site service's API")
        hub = Hub(lines)
        stack.callback(_summary, tmp / "summary.json", hub, scada)  # also after a failure
        _play(hub, lines, spaces, pg, broker, scada)
        for line in lines.values():
            line.wait_sim_drained(120)
        with contextlib.suppress(AssertionError):  # the tests below name what is open
            wait_until(
                lambda: all(_journal(line)["open"] == 0 for line in lines.values()),
                30,
                "every journal record closed",
            )
        truth = {name: line.stop_sim() for name, line in lines.items()}
        with contextlib.suppress(AssertionError):  # the tests below say what is missing
            wait_until(lambda: _caught_up(pg, lines), 60, "the relays to catch up")
        counters = httpx.get(
            f"{site_url}/api/v1/counters", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        store = _store(pg)
        for line in lines.values():  # SIGTERM: NDEATH, the events cursor saved
            assert line.controller is not None
            line.controller.stop()
        with contextlib.suppress(AssertionError):  # the Sparkplug test names a node left on
            scada.wait(
                lambda: (
                    not any(n.online for n in rules.violations(list(scada.seen)).nodes.values())
                ),
                10,
                "every node's last NDEATH",
            )
        seen = list(scada.seen)
        journal = {name: _journal(line) for name, line in lines.items()}
        return {
            "windows": hub.windows,
            "journal": journal,
            "store": store,
            "counters": counters,
            "seen": seen,
            "truth": truth,
            "logs": {name: (tmp / name / "controller.log").read_text() for name in LINES},
        }


def _summary(path: Path, hub: Hub, scada: Scada) -> None:
    """The fault windows and what the host saw of each node, for a look after a run."""
    seen = list(scada.seen)
    nodes = {
        n: {**vars(h), "devices": sorted(h.devices)}
        for n, h in rules.violations(seen).nodes.items()
    }
    for name, node in nodes.items():
        mine = [s for s in seen if s.sparkplug is not None and s.sparkplug.edge_node == name]
        node["last_seen"] = time.strftime("%H:%M:%S", time.localtime(mine[-1].at)) if mine else None
    path.write_text(json.dumps({"windows": hub.windows, "nodes": nodes}, indent=1))


def _play(
    hub: Hub,
    lines: dict[str, Line],
    spaces: dict[str, netns.LineNamespace],
    pg: PostgresServer,
    broker: MosquittoBroker,
    scada: Scada,
) -> None:
    """The faults, one after the other, each once both lines sort (journal counts grew)."""
    two = lines["line-2"]

    def sorting(grown: int = 10) -> None:
        start = hub.counts()
        wait_until(
            lambda: all(n >= start[k] + grown for k, n in hub.counts().items()),
            60,
            f"{grown} more terminal states on every line",
        )

    def births() -> dict[str, int]:
        return {name: scada.count("NBIRTH", name) for name in LINES}

    def born_again(before: dict[str, int], names: tuple[str, ...] = LINES) -> None:
        scada.wait(
            lambda: all(births()[n] > before[n] for n in names), 30, f"new births of {names}"
        )

    def relayed_again() -> None:
        start = _store(pg)["events"]
        wait_until(
            lambda: _relayed(pg, start), 30, "every relay committing again after the restart"
        )

    scada.wait(lambda: all(births()[n] >= 1 for n in LINES), 30, "the first births")
    sorting(30)
    # (a) line 1 cut off from the site for 5 s
    hub.begin("cut", births())
    spaces["line-1"].cut()
    time.sleep(5)
    hub.end("cut")
    spaces["line-1"].mend()
    born_again(hub.born["cut"], ("line-1",))
    sorting()
    # (b) line 2's controller killed and started again
    born = births()
    two.controller.kill()
    time.sleep(1)
    two.start_controller()
    born_again(born, ("line-2",))
    sorting()  # the API answers before the PLC link is up: wait until line 2 sorts again
    # (c) the broker stopped for 2 s
    hub.begin("broker", births())
    broker.stop()
    time.sleep(2)
    hub.end("broker")
    broker.start()
    born_again(hub.born["broker"])
    sorting()
    # (d) PostgreSQL stopped for 2 s; once the relays commit again, killed and started
    hub.begin("postgres", births())
    pg.stop()
    time.sleep(2)
    hub.end("postgres")
    pg.start()
    relayed_again()
    pg.kill()
    time.sleep(1)
    pg.start()
    sorting()
    # (e) the primary host offline, then online
    deaths = {name: scada.count("NDEATH", name) for name in LINES}
    hub.begin("host", births())
    scada.set_online(False)
    scada.wait(lambda: all(scada.count("NDEATH", n) > deaths[n] for n in LINES), 15, "every NDEATH")
    time.sleep(1)
    hub.end("host")
    scada.set_online(True)
    born_again(hub.born["host"])


def test_the_site_store_has_each_terminal_state_of_each_line_once(hub):
    store = hub["store"]
    assert store["twice"] == []
    for name in LINES:
        journal = {(s, u): state for s, u, state, _ in hub["journal"][name]["terminal"]}
        assert len(journal) == PARCELS
        mine = [(s, u, state) for line, s, u, state in store["terminal"] if line == name]
        assert len(mine) == len(journal), name
        assert {(s, u): state for s, u, state in mine} == journal, name


def test_the_site_store_has_every_event_row_of_each_line_once(hub):
    for name in LINES:
        assert hub["store"]["events"].get(name) == hub["journal"][name]["events"], name


def test_the_site_parcels_end_in_the_journals_terminal_states(hub):
    for name in LINES:
        site = {(s, u): state for line, s, u, state in hub["store"]["parcels"] if line == name}
        assert site == hub["journal"][name]["parcels"], name
        assert set(site.values()) <= set(TERMINAL), name


def test_the_site_counters_are_the_sum_of_the_lines(hub):
    response = hub["counters"]
    assert response.status_code == 200, response.text
    counters = response.json()
    per_line = {name: len(hub["journal"][name]["terminal"]) for name in LINES}
    assert {name: counters["lines"][name]["terminal"] for name in LINES} == per_line
    assert counters["site"]["terminal"] == sum(per_line.values()) == 2 * PARCELS


def test_the_sparkplug_rules_hold_and_each_fault_ended_a_session(hub):
    report = rules.violations(hub["seen"])
    assert report.problems == []
    # line 1: first birth, after its cut, after the broker restart, after the host was
    # offline; line 2: first, after its controller's restart, broker, host.
    assert report.nodes["line-1"].births >= 4
    assert report.nodes["line-2"].births >= 4
    # each stopped at the end: its own NDEATH ended its last session
    assert [n for n, node in report.nodes.items() if node.online] == []


def test_each_line_sorted_on_through_every_site_side_fault(hub):
    windows = hub["windows"]
    assert windows["cut"]["line-1"][1] > windows["cut"]["line-1"][0]
    for fault in ("broker", "postgres", "host"):
        for name in LINES:
            before, after = windows[fault][name]
            assert after > before, (fault, name, before, after)


def test_every_physical_parcel_has_exactly_one_terminal_state(hub):
    for name in LINES:
        terminal = Counter(tid for _, _, _, tid in hub["journal"][name]["terminal"])
        physical = {p["tracking_id"] for p in hub["truth"][name]["parcels"]}
        assert len(physical) == PARCELS
        assert set(terminal) == physical, name
        assert {tid: n for tid, n in terminal.items() if n != 1} == {}, name


def test_every_outbox_event_was_published_to_the_site_broker(hub):
    """The MQTT events publisher's cursor (moved only past acknowledged rows) reached the
    end of the outbox after every broker fault."""
    for name in LINES:
        journal = hub["journal"][name]
        assert journal["outbox_top"] > 0
        assert journal["events_cursor"] == journal["outbox_top"], name


def test_the_line_restarted_after_its_kill(hub):
    assert hub["logs"]["line-2"].count("left open by an earlier run") == 1

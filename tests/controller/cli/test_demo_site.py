"""``lanesort demo --site N``: the configs it writes are valid and link every piece."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import pytest

from controller.cli.demo_site import (
    LINE_CONFIG,
    MQTT_PASSWORD_ENV,
    PG_PASSWORD_ENV,
    REALTIME_PRIORITY,
    SITE_NAME,
    DemoLine,
    SiteDemo,
    SiteDemoOptions,
    line_config_text,
    site_config_text,
)
from drivers.mqtt.broker import MosquittoBroker
from drivers.postgres.server import PostgresServer
from plc_configs.loader import parse_line_config
from plc_configs.site import parse_site_config


def test_each_line_and_the_site_get_valid_configs_on_their_own_ports(tmp_path: Path) -> None:
    pg = PostgresServer(54321, "unused")
    broker = MosquittoBroker(18830, users={"line": "unused"})
    base = LINE_CONFIG.read_text()
    texts = [line_config_text(base, f"line-{k}", 9000 + k, pg, broker) for k in (1, 2)]
    configs = [parse_line_config(text, f"line-{k}.yaml") for k, text in enumerate(texts, 1)]
    for k, config in enumerate(configs, 1):
        assert config.line.name == f"line-{k}"
        assert config.api.port == 9000 + k and not config.opcua_server.enabled
        assert config.topology.belt_speed_mps == 8  # fast enough for 36,000 parcels/h
        assert config.line.realtime_priority == REALTIME_PRIORITY
        assert config.site is not None and config.site.site == SITE_NAME
        assert config.site.postgres is not None and config.site.postgres.port == 54321
        assert config.site.postgres.password_env == PG_PASSWORD_ENV
        assert config.site.mqtt is not None and config.site.mqtt.password_env == MQTT_PASSWORD_ENV
        assert config.sparkplug is not None and config.sparkplug.group_id == SITE_NAME
    normal = line_config_text(base, "line-1", 9001, pg, broker, realtime_priority=0)
    assert parse_line_config(normal, "line-1.yaml").line.realtime_priority == 0
    # the simulated devices of the two lines are on different ports
    urls = [{d.url for d in c.devices.values()} for c in configs]
    assert urls[0].isdisjoint(urls[1])
    lines = [
        DemoLine(f"line-{k}", tmp_path, tmp_path / "x.yaml", 9000 + k, f"T{k}") for k in (1, 2)
    ]
    site = parse_site_config(site_config_text(lines, pg, 8090, tmp_path), "site.yaml")
    assert set(site.lines) == {"line-1", "line-2"}
    assert site.lines["line-2"].api_url == "http://127.0.0.1:9002"
    assert site.lines["line-1"].token_env == "T1"
    assert site.routes.map["R01"] == "line-1" and site.routes.map["R02"] == "line-2"
    assert "password" not in site.postgres.url


@pytest.mark.system
async def test_starting_the_hub_leaves_the_event_loop_free(tmp_path: Path) -> None:
    """initdb, pg_ctl and the broker take seconds to start: in worker threads, so a
    ticker on the demo's loop keeps ticking meanwhile."""
    demo = SiteDemo(SiteDemoOptions(1, tmp_path / "hub", 1, 1.0, seed=1, realtime_priority=0))
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.01)
            ticks.append(time.monotonic())

    ticker = asyncio.create_task(tick())
    try:
        started = time.monotonic()
        await demo.start()
        ended = time.monotonic()
        running = demo.pg.pid is not None and demo.broker.pid is not None
    finally:
        ticker.cancel()
        await demo.stop()
    times = [started, *(t for t in ticks if t < ended), ended]
    longest = max(b - a for a, b in itertools.pairwise(times))
    took = ended - started
    assert running
    # the store alone takes about a second to initialise; the loop never stopped that long
    assert took > 0.5 and longest < took / 2, (took, longest)

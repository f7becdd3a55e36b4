import asyncio
import json

import aiomqtt
import pytest

from controller.errors import ConfigError
from controller.line.controller import LineController
from plc_configs.schema import LineConfig
from tests.controller.line.helpers import (
    finished,
    line_config,
    pointed_at,
    running,
    simulated_line,
    until,
)
from tests.controller.site.helpers import site_rows


def _with_site(config: LineConfig, site: dict) -> LineConfig:
    data = config.model_dump(mode="python")
    data["site"] = site
    return LineConfig.model_validate(data)


def test_a_missing_password_variable_is_an_error_naming_the_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SITE_PG_PASSWORD_UNSET", raising=False)
    config = _with_site(
        line_config(),
        {
            "site": "hub",
            "postgres": {
                "url": "postgresql://lanesort@127.0.0.1:1/site",
                "password_env": "SITE_PG_PASSWORD_UNSET",
            },
        },
    )
    with pytest.raises(
        ConfigError, match=r"site\.postgres\.password_env: .*SITE_PG_PASSWORD_UNSET"
    ):
        LineController(config, tmp_path)


async def test_a_line_with_a_site_relays_its_parcels_and_publishes_their_events(
    tmp_path, monkeypatch, postgres_server, postgres_database, mqtt_broker
):
    monkeypatch.setenv("SITE_PG_PASSWORD", postgres_server.password)
    database = postgres_database.split("dbname=")[1].split()[0]
    url = f"postgresql://{postgres_server.user}@127.0.0.1:{postgres_server.port}/{database}"
    config = line_config(simulation={"parcels": 8, "manifest_missing_share": 0.0})
    config = _with_site(
        config,
        {
            "site": "hub",
            "postgres": {"url": url, "password_env": "SITE_PG_PASSWORD", "interval_s": 0.05},
            "mqtt": {"url": mqtt_broker.url, "client_id": "line-site-test"},
            "event_types": ["parcel.sorted"],
        },
    )
    got: list[dict] = []
    async with aiomqtt.Client("127.0.0.1", mqtt_broker.port, identifier="site-test-sub") as sub:
        await sub.subscribe("lanesort/v1/hub/+/events/#", qos=1)

        async def consume() -> None:
            async for message in sub.messages:
                got.append(json.loads(message.payload))

        consumer = asyncio.create_task(consume())
        async with simulated_line(config, tmp_path) as sim:
            line = LineController(pointed_at(config, sim), tmp_path)
            async with running(line):
                await until(lambda: finished(line) == 8 and len(line.tracker) == 0, 20)
                await until(lambda: len(got) == 8, 10)
                relay = line.site.relay
                assert relay is not None
                # the relay's backlog figure is from its last cycle: ask the store itself
                await until(
                    lambda: (
                        site_rows(
                            postgres_database,
                            "SELECT count(*) FROM parcels WHERE line = %s AND state = 'sorted'",
                            config.line.name,
                        )
                        == [(8,)]
                    ),
                    10,
                )
        consumer.cancel()
    name = config.line.name
    states = site_rows(
        postgres_database,
        "SELECT state, count(*) FROM parcels WHERE line = %s GROUP BY state",
        name,
    )
    assert states == [("sorted", 8)]
    assert {g["type"] for g in got} == {"parcel.sorted"}
    assert {g["line"] for g in got} == {name}

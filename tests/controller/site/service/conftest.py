"""A site over a fresh site-store database filled by INSERTs in the relay's shape, and
its API through httpx (ASGI, no socket)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from controller.site.schema import SCHEMA
from controller.site.service import Site, create_site_app
from plc_configs.site import SiteConfig


def site_config(conninfo_url: str = "postgresql://lanesort@127.0.0.1:1/site", **over: Any):
    """A two-line site config (``over`` replaces whole sections)."""
    data: dict[str, Any] = {
        "site": {"name": "hub-test"},
        "postgres": {"url": conninfo_url, "password_env": "SITE_PG_PW"},
        "lines": {
            "north": {
                "api_url": "http://127.0.0.1:1",
                "hmi_url": "http://127.0.0.1:1/hmi/",
                "token_env": "NORTH_TOKEN",
                "timeout_s": 0.5,
            },
            "south": {"api_url": "http://127.0.0.1:2", "token_env": "SOUTH_TOKEN"},
        },
        "routes": {"map": {"R01": "north"}, "prefixes": {"S": "south"}},
    }
    data.update(over)
    return SiteConfig.model_validate(data)


def fill(conninfo: str) -> None:
    """The schema and a few lines' rows, as relays would have written them (times are
    relative to now)."""
    NOW = time.time()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SCHEMA)
        for line in ("north", "south"):
            conn.execute(
                "INSERT INTO site_lines VALUES (%s, 'hub-test', NULL, NULL, %s, %s)",
                (line, NOW - 7200, NOW - 5),
            )
        rows = [
            # line, uid, barcode, route, state, chute, updated
            ("north", 1, "BC-1", "R01", "sorted", 3, NOW - 60),
            ("north", 2, "BC-2", "R01", "rejected", 9, NOW - 7000),
            ("north", 3, "BC-3", "R01", "assigned", None, NOW - 10),
            ("south", 1, "BC-1", "S7", "lost", None, NOW - 30),
            ("south", 2, "BC-4", "S7", "sorted", 5, NOW - 20),
        ]
        for i, (line, uid, barcode, route, state, chute, updated) in enumerate(rows):
            conn.execute(
                "INSERT INTO parcels VALUES (%s, 1, %s, %s, %s, %s, %s, %s, NULL, %s, %s,"
                " 1.5, 300, 200, 100, %s)",
                (line, uid, 100 + uid, barcode, route, state, chute, updated - 5, updated, i),
            )
            conn.execute(
                "INSERT INTO parcel_events VALUES (%s, %s, 1, %s, %s, %s, 'inducted',"
                " 'inducted', NULL, NULL, NULL, NULL, NULL, %s)",
                (line, 10 * uid, uid, 100 + uid, updated - 5, NOW),
            )
            kind = "terminal" if state in ("sorted", "rejected", "lost") else "update"
            conn.execute(
                "INSERT INTO parcel_events VALUES (%s, %s, 1, %s, %s, %s, %s, %s, %s, %s, %s,"
                " NULL, %s, %s)",
                (
                    line,
                    10 * uid + 1,
                    uid,
                    100 + uid,
                    updated,
                    kind,
                    state,
                    barcode,
                    route,
                    chute,
                    json.dumps({"n": uid}),
                    NOW,
                ),
            )
        conn.execute(
            "INSERT INTO relay_positions VALUES ('north', 'events', 31, 6, %s),"
            " ('north', 'trucks', 1, 1, %s), ('south', 'events', 21, 4, %s)",
            (NOW - 2, NOW - 40, NOW - 12),
        )
        conn.execute(
            "INSERT INTO trucks VALUES ('north', 1, 'T01', %s, %s), ('south', 4, 'T02', %s, %s)",
            (NOW - 100, json.dumps({"parcels": 12}), NOW - 50, json.dumps({"parcels": 3})),
        )


@dataclass
class SiteApi:
    """The site under test, its client and one token per role."""

    site: Site
    client: httpx.AsyncClient
    tokens: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        """The Authorization header of ``role``'s token."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    async def get(self, path: str, role: str = "viewer", **kw: Any) -> httpx.Response:
        return await self.client.get(path, headers=self.auth(role), **kw)


async def open_site(config: SiteConfig, env: dict[str, str], tmp_path: Path):
    """The site of ``config`` with one token per role, and an ASGI client on its app."""
    site = Site.from_config(config, env=env, data_dir=tmp_path)
    tokens = {r: site.tokens.create(f"{r}-1", r) for r in ("tms", "supervisor", "viewer")}
    transport = httpx.ASGITransport(app=create_site_app(site))
    client = httpx.AsyncClient(transport=transport, base_url="http://site")
    return SiteApi(site, client, tokens)


def as_url(conninfo: str) -> tuple[str, str]:
    """A key=value conninfo as the site config's URL and its password."""
    fields = dict(p.split("=", 1) for p in conninfo.split())
    url = f"postgresql://{fields['user']}@{fields['host']}:{fields['port']}/{fields['dbname']}"
    return url, fields["password"]


@pytest.fixture
async def site_api(postgres_database: str, tmp_path: Path) -> AsyncIterator[SiteApi]:
    """The site over a filled database (its lines are not running: ports 1 and 2)."""
    fill(postgres_database)
    url, password = as_url(postgres_database)
    api = await open_site(site_config(url), {"SITE_PG_PW": password}, tmp_path)
    try:
        yield api
    finally:
        await api.client.aclose()
        await api.site.store.close()

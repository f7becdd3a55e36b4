"""``lanesort site``: a bad SITE.yaml is refused with its problems; a good one is served
and says where."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from pathlib import Path

import aiohttp

from controller.cli.command import main
from controller.cli.site import run_site
from controller.site.service import Site
from tests.controller.site.service.conftest import site_config


def test_a_bad_site_config_is_refused_with_every_problem(tmp_path: Path, capsys) -> None:
    path = tmp_path / "SITE.yaml"
    path.write_text("site: {name: hub}\npostgres: {url: 'postgresql://u:pw@h/db'}\n")
    assert main(["site", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:2: postgres.url: the password must not be in the file" in err
    assert f"{path}:1: lines: required key is missing" in err
    assert "pw@" not in err


async def test_the_site_is_served_and_announced(tmp_path: Path) -> None:
    config = site_config(http={"host": "127.0.0.1", "port": 0})
    site = Site.from_config(config, env={"NORTH_TOKEN": "lst_x"}, data_dir=tmp_path)
    said: list[str] = []
    mounted: list[Site] = []

    def web(app, s: Site) -> str:
        mounted.append(s)
        return "extension mounted"

    task = asyncio.create_task(run_site(site, said.append, [web]))
    try:
        for _ in range(300):
            if site.url is not None:
                break
            await asyncio.sleep(0.01)
        assert site.url is not None
        async with aiohttp.ClientSession() as client:
            for _ in range(300):
                with contextlib.suppress(aiohttp.ClientError):
                    async with client.get(f"{site.url}/health") as r:
                        assert r.status == 200
                        break
                await asyncio.sleep(0.01)
            async with client.get(f"{site.url}/api/v1/counters") as r:
                assert r.status == 401
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert said[0] == f"site hub-test: API on {site.url}/docs, metrics on {site.url}/metrics"
    assert "extension mounted" in said and mounted == [site]
    assert "line north: API http://127.0.0.1:1 (token set), HMI http://127.0.0.1:1/hmi" in said
    assert "line south: API http://127.0.0.1:2 (NO TOKEN), HMI -" in said


async def test_the_site_serves_https_with_a_self_signed_pair_and_hardening_headers(
    tmp_path: Path,
) -> None:
    config = site_config(http={"host": "127.0.0.1", "port": 0, "tls": {"self_signed": True}})
    site = Site.from_config(config, env={}, data_dir=tmp_path)
    said: list[str] = []
    task = asyncio.create_task(run_site(site, said.append))
    try:
        for _ in range(500):
            if site.url is not None:
                break
            await asyncio.sleep(0.01)
        assert site.url is not None and site.url.startswith("https://") and site.https
        cert = tmp_path / "tls" / "certificate.pem"
        context = ssl.create_default_context(cafile=str(cert))
        async with aiohttp.ClientSession() as client:
            for _ in range(300):
                with contextlib.suppress(aiohttp.ClientConnectionError):
                    async with client.get(f"{site.url}/health", ssl=context) as r:
                        assert r.status == 200
                        headers = r.headers
                        break
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert any("self-signed, made now" in s and "SHA-256 fingerprint" in s for s in said)

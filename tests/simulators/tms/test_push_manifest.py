"""The TMS pushing a manifest to LaneSort: request shape and error handling.

LaneSort's API is played by a tiny aiohttp app that records what it received.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from simulators.tms import ManifestPushError, push_manifest

TOKEN = "tok-123"


@pytest.fixture
async def fake_api() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    async def manifest(request: web.Request) -> web.Response:
        body = await request.read()
        received.append(
            {
                "query": dict(request.query),
                "authorization": request.headers.get("Authorization"),
                "content_type": request.headers.get("Content-Type"),
                "content_length": request.content_length,
                "body": body,
            }
        )
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"detail": "bad token"}, status=401)
        return web.json_response({"rows": body.count(b"\n") - 1})

    app = web.Application()
    app.router.add_post("/api/v1/manifest", manifest)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/", received
    finally:
        await runner.cleanup()


@pytest.fixture
def manifest_file(tmp_path: Path) -> Path:
    path = tmp_path / "manifest.csv"
    rows = "".join(f"1Z{i:06d},R{i % 7:02d}\n" for i in range(5000))
    path.write_text("barcode,route\n" + rows, encoding="utf-8")
    return path


async def test_push_manifest_streams_file_with_bearer_token(fake_api, manifest_file):
    url, received = fake_api
    answer = await push_manifest(url, TOKEN, manifest_file)
    assert answer == {"rows": 5000}
    [request] = received
    assert request["query"] == {"partial": "false"}
    assert request["authorization"] == f"Bearer {TOKEN}"
    assert request["content_type"] == "text/csv"
    assert request["body"] == manifest_file.read_bytes()
    assert request["content_length"] == manifest_file.stat().st_size


async def test_push_manifest_partial_and_content_type(fake_api, manifest_file):
    url, received = fake_api
    await push_manifest(url, TOKEN, str(manifest_file), content_type="text/plain", partial=True)
    assert received[0]["query"] == {"partial": "true"}
    assert received[0]["content_type"] == "text/plain"


async def test_push_manifest_non_2xx_raises_with_status_and_body(fake_api, manifest_file):
    url, _ = fake_api
    with pytest.raises(ManifestPushError) as info:
        await push_manifest(url, "wrong", manifest_file)
    assert info.value.status == 401
    assert "bad token" in info.value.body
    assert "401" in str(info.value)

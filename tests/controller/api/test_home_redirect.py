"""``/``: a person typing the controller's address gets the HMI, or the API's docs without it."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from controller.api.app import create_app
from controller.auth.tokens import TokenStore
from controller.line.controller import LineController
from tests.controller.line.helpers import line_config


def _app(tmp_path, **hmi: object):
    config = line_config(api={"port": 0}, **({"hmi": hmi} if hmi else {}))
    line = LineController(config, tmp_path)
    return create_app(line, TokenStore(tmp_path / "tokens.sqlite")), config.hmi.path


def _pages() -> Starlette:
    """A stand-in for the HMI's web app: one page at its root."""
    return Starlette(routes=[Route("/", lambda _request: PlainTextResponse("the HMI"))])


async def _get(app, path: str, method: str = "GET") -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://line") as client:
        return await client.request(method, path)


async def test_root_redirects_to_the_docs_without_an_hmi(tmp_path):
    app, _ = _app(tmp_path)
    response = await _get(app, "/")
    assert response.status_code == 307
    assert response.headers["location"] == "/docs"
    assert (await _get(app, "/docs")).status_code == 200


async def test_root_redirects_to_the_mounted_hmi_at_its_configured_path(tmp_path):
    app, path = _app(tmp_path, path="/floor")
    app.mount(path, _pages())
    for method in ("GET", "HEAD"):
        response = await _get(app, "/", method)
        assert response.status_code == 307, method
        assert response.headers["location"] == "/floor/"
    page = await _get(app, "/floor/")
    assert page.status_code == 200 and page.text == "the HMI"


async def test_the_api_is_unchanged_and_root_is_not_part_of_it(tmp_path):
    app, path = _app(tmp_path)
    app.mount(path, _pages())
    assert (await _get(app, "/health")).status_code == 200
    unauthorised = await _get(app, "/api/v1/line")
    assert unauthorised.status_code == 401
    assert unauthorised.headers["content-type"].startswith("application/problem+json")
    missing = await _get(app, "/nothing-here")
    assert missing.status_code == 404
    spec = (await _get(app, "/openapi.json")).json()
    assert "/" not in spec["paths"] and "/health" in spec["paths"]

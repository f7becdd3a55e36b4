"""Hardening headers and the session cookie's options; an ASGI app in process, no sockets."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from controller.api.hardening import (
    CONTENT_SECURITY_POLICY,
    add_hardening_headers,
    session_cookie_options,
)
from tests.controller.api.conftest import Api


def _app(https: bool) -> FastAPI:
    app = FastAPI()

    @app.get("/plain")
    def plain() -> PlainTextResponse:
        return PlainTextResponse("hi")

    @app.get("/framable")
    def framable() -> PlainTextResponse:
        return PlainTextResponse("hi", headers={"X-Frame-Options": "SAMEORIGIN"})

    add_hardening_headers(app, https=https)
    return app


async def _get(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        return await client.get(path)


async def test_every_response_gets_the_headers_and_hsts_only_under_https():
    for https in (False, True):
        app = _app(https)
        for path in ("/plain", "/no-such-page"):
            answer = await _get(app, path)
            assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
            assert answer.headers["x-frame-options"] == "DENY"
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["referrer-policy"] == "same-origin"
            assert ("strict-transport-security" in answer.headers) is https


async def test_a_header_the_app_set_is_kept():
    answer = await _get(_app(False), "/framable")
    assert answer.headers.get_list("x-frame-options") == ["SAMEORIGIN"]


def test_the_policy_forbids_framing_plugins_and_foreign_sources():
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert directives["default-src"] == "'self'"
    assert all("*" not in v and "http" not in v for v in directives.values())


def test_the_cookie_lives_the_session_and_is_secure_under_https():
    assert session_cookie_options(12 * 3600, https=True) == {
        "max_age": 43200,
        "https_only": True,
        "same_site": "lax",
    }
    assert session_cookie_options(90.2, https=False)["max_age"] == 91
    assert session_cookie_options(90, https=False)["https_only"] is False


async def test_the_line_api_sends_them_over_http(api: Api):
    answer = await api.get("/api/v1/line")
    assert answer.status_code == 200
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert answer.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in answer.headers
    unauthorised = await api.client.get("/api/v1/line")
    assert unauthorised.status_code == 401
    assert unauthorised.headers["x-content-type-options"] == "nosniff"

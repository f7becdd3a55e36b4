"""The line's web app (API and HMI) over HTTPS on loopback, with the real uvicorn server.

The line config asks for a self-signed pair (``api.tls.self_signed``): it is made on
first start, the client trusts exactly that certificate file, and the fingerprint the
controller announced and logged is the file's. Every response, the API's and the HMI's,
carries the hardening headers with HSTS, and the HMI's session cookie is ``Secure``,
HttpOnly, SameSite=Lax and lives as long as a session may.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import stat
from http.cookies import SimpleCookie

import httpx
from cryptography import x509
from nicegui.testing.general import nicegui_reset_globals

from controller.api.hardening import CONTENT_SECURITY_POLICY
from controller.api.tls import fingerprint_sha256
from controller.cli.serve import run_line
from controller.line.controller import LineController
from hmi.app import mount_hmi
from tests.controller.line.helpers import line_config, pointed_at, simulated_line

SESSION_MAX_H = 2.5


async def test_https_with_a_self_signed_pair_made_on_first_start(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="lanesort.tls")
    config = line_config(
        simulation={"parcels": 4},
        api={"port": 0, "tls": {"self_signed": True}},
        hmi={"session_max_h": SESSION_MAX_H},
    )
    announced: list[str] = []
    async with simulated_line(config, tmp_path) as sim:
        line = LineController(pointed_at(config, sim), tmp_path)
        with nicegui_reset_globals():
            task = asyncio.create_task(run_line(line, announced.append, web=[mount_hmi]))
            try:
                await asyncio.wait_for(line.started.wait(), 20)
                await _check_https(line, tmp_path, announced, caplog)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def _check_https(line, tmp_path, announced, caplog) -> None:
    cert_path, key_path = tmp_path / "tls" / "certificate.pem", tmp_path / "tls" / "key.pem"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    fingerprint = fingerprint_sha256(x509.load_pem_x509_certificate(cert_path.read_bytes()))
    assert line.api_url.startswith("https://127.0.0.1:")
    assert f"SHA-256 fingerprint {fingerprint}" in "\n".join(announced)
    assert fingerprint in caplog.text
    trust = ssl.create_default_context(cafile=str(cert_path))
    async with httpx.AsyncClient(base_url=line.api_url, verify=trust) as client:
        health = await client.get("/health")
        login = await client.get("/hmi/login")
        docs = await client.get("/docs")
        # the login page issues the cookie again (same browser id): it lives the session's
        # longest life from about the login, not from the browser's first visit
        again = await client.get("/hmi/login")
    for answer in (health, login, docs):
        assert answer.status_code == 200, (answer.url, answer.text[:200])
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
        assert answer.headers["strict-transport-security"].startswith("max-age=")
    assert "LaneSort" in login.text
    cookie = SimpleCookie(login.headers["set-cookie"])
    morsel = next(iter(cookie.values()))
    assert morsel["max-age"] == str(int(SESSION_MAX_H * 3600))
    assert morsel["secure"] is True
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "lax"
    renewed = next(iter(SimpleCookie(again.headers["set-cookie"]).values()))
    assert renewed.key == morsel.key and renewed["max-age"] == morsel["max-age"]
    assert renewed.value.split(".")[0] == morsel.value.split(".")[0]  # the same session data
    # plain HTTP on the HTTPS port is refused, never answered in clear
    async with httpx.AsyncClient() as plain:
        try:
            answer = await plain.get(line.api_url.replace("https", "http") + "/health")
        except httpx.HTTPError:
            pass
        else:
            assert answer.status_code >= 400

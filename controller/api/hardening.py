"""Hardening headers on every HTTP response of a web app (the API, the HMI), and the
session cookie's settings.

:func:`add_hardening_headers` puts a pure ASGI middleware on a FastAPI/Starlette app (the
outermost one, so a mounted NiceGUI app and error responses get the headers too); it sets:

- ``Content-Security-Policy`` that fits NiceGUI 3 and the offline Swagger UI and ReDoc
  (:data:`CONTENT_SECURITY_POLICY`): everything from this origin only; inline scripts and
  styles and ``eval`` are allowed because NiceGUI's page is inline scripts and Vue
  templates compiled in the browser (Tailwind and Quasar inject styles); images and fonts
  also as ``data:``/``blob:`` URLs; ReDoc's search runs in a ``blob:`` worker; the
  socket.io connection is same-origin (``'self'`` covers ``ws:``/``wss:`` to this host);
  no framing (``frame-ancestors 'none'``), no plugins, no ``<base>`` elsewhere, forms post
  here only.
- ``X-Frame-Options: DENY`` (older browsers), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: same-origin``, ``Cross-Origin-Opener-Policy: same-origin``,
  ``Permissions-Policy`` with nothing granted.
- ``Strict-Transport-Security`` only when serving HTTPS (``https=True``).

A header the app already set on a response is left as it is.

:func:`session_cookie_options` are the keyword arguments of Starlette's
``SessionMiddleware`` (NiceGUI's ``session_middleware_kwargs``): the cookie's lifetime
matches the session's, ``Secure`` under HTTPS, HttpOnly and SameSite=Lax.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "media-src 'self' data: blob:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "frame-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    ]
)
"""The Content-Security-Policy sent with every response (NiceGUI 3, Swagger UI, ReDoc)."""

HSTS_MAX_AGE_S = 365 * 24 * 3600
"""How long a browser keeps to HTTPS after seeing ``Strict-Transport-Security``."""

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def hardening_headers(https: bool) -> list[tuple[str, str]]:
    """The hardening headers (name, value) for a server on HTTPS (``https``) or HTTP."""
    headers = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", PERMISSIONS_POLICY),
    ]
    if https:
        headers.append(("Strict-Transport-Security", f"max-age={HSTS_MAX_AGE_S}"))
    return headers


class HardeningHeadersMiddleware:
    """Pure ASGI middleware adding :func:`hardening_headers` to every HTTP response."""

    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app = app
        self.headers = [(n.lower().encode(), v.encode()) for n, v in hardening_headers(https)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to its response's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", ()))
                present = {name.lower() for name, _ in raw}
                raw.extend(header for header in self.headers if header[0] not in present)
                message["headers"] = raw
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_hardening_headers(app: Any, https: bool = False) -> None:
    """Send the hardening headers (HSTS too when ``https``) on every HTTP response of
    ``app`` (a FastAPI or Starlette app), including apps mounted on it later (the HMI).

    Call it before the app starts serving (Starlette builds its middleware stack then).
    """
    app.add_middleware(HardeningHeadersMiddleware, https=https)


def session_cookie_options(max_age_s: float, https: bool) -> dict[str, Any]:
    """Starlette ``SessionMiddleware`` options (NiceGUI's ``session_middleware_kwargs``):
    the cookie lives ``max_age_s`` (the session's longest life; rounded up to whole
    seconds), is ``Secure`` under HTTPS, HttpOnly and SameSite=Lax."""
    return {
        "max_age": max(1, math.ceil(max_age_s)),
        "https_only": https,
        "same_site": "lax",
    }

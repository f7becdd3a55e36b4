"""Serving the API inside the controller's event loop (uvicorn, no signal handlers of its own)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import Any

import uvicorn
from fastapi import FastAPI

from controller.api import create_app
from controller.api.tls import ServerTls, prepare_tls
from controller.auth import TokenStore, tokens_path
from controller.errors import ControllerError
from controller.line import LineController
from controller.opcua import LineOpcuaServer
from controller.sparkplug import SparkplugService

log = logging.getLogger("lanesort.api")

WebExtension = Callable[[FastAPI, LineController], "str | None"]
"""Mounts more pages on the API's app (the HMI, from the layer above); returns a line to
announce (its address) or None. The controller never imports what mounts itself here."""


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the controller."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int, section: str = "api") -> socket.socket:
    """A listening TCP socket (port 0: any free port); raises ControllerError when taken.

    ``section`` names the config section whose port it is, in the error message.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise ControllerError(
            f"{section}: cannot listen on {host}:{port}: {err.strerror} "
            f"(is another controller running? set {section}.port in the line config)"
        ) from err
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def serve(
    app: FastAPI,
    sock: socket.socket,
    started: asyncio.Event | None = None,
    tls: ServerTls | None = None,
) -> None:
    """Serve ``app`` on ``sock`` until cancelled; then close connections gracefully.

    ``started`` is set once the server and the app's start-up (the HMI's) are done.
    With ``tls`` (from :func:`controller.api.tls.prepare_tls`) it serves HTTPS.
    """
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=3,
        loop="none",
        **(tls.uvicorn_kwargs() if tls is not None else {}),
    )
    server = _EmbeddedServer(config)
    host, port = sock.getsockname()[:2]
    log.info("API on %s://%s:%d/docs", "https" if tls else "http", host, port)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="api-server")
    try:
        while started is not None and not server.started and not task.done():  # noqa: ASYNC110 (uvicorn has no event)
            await asyncio.sleep(0.01)
        if started is not None:
            started.set()
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await task
        raise
    finally:
        sock.close()


async def run_line(
    line: LineController,
    announce: Callable[[str], None] | None = None,
    web: Sequence[WebExtension] = (),
) -> None:
    """Run ``line`` with its API (when ``api.enabled``), its OPC UA server (when
    ``opcua_server.enabled``) and its Sparkplug edge node (with a ``sparkplug`` section) in
    the line's TaskGroup, until cancelled.

    The API socket is bound before the line starts, and the OPC UA port tried, so a taken
    port fails at once. ``web`` extensions (the HMI) mount themselves on the API's app.
    The PLC link starts once every service is up.
    """
    api = line.config.api
    services: list[Callable[[], Coroutine[Any, Any, None]]] = []
    ready: list[asyncio.Event] = []
    opcua = line.config.opcua_server
    if opcua.enabled:
        if opcua.port:
            bind(opcua.host, opcua.port, "opcua_server").close()
        opcua_server = LineOpcuaServer(line)
        opcua_ready = asyncio.Event()
        services.append(lambda: opcua_server.serve(opcua_ready, announce))
        ready.append(opcua_ready)
    if line.config.sparkplug is not None:
        sparkplug = SparkplugService(line, line.config.sparkplug)
        services.append(sparkplug.run)
    if not api.enabled:
        await line.run(services=services, ready=ready)
        return
    tls = await asyncio.to_thread(prepare_tls, api.tls, line.data_dir, api.host, "api.tls")
    sock = bind(api.host, api.port)
    tokens = TokenStore(tokens_path(line.data_dir, api.tokens_path))
    app = create_app(line, tokens)
    host, port = sock.getsockname()[:2]
    line.api_url = f"{'https' if tls else 'http'}://{host}:{port}"
    if announce is not None:
        announce(f"API on {line.api_url}/docs")
        if tls is not None:
            announce(
                f"HTTPS certificate {tls.certificate}"
                f"{' (self-signed, made now)' if tls.made else ''}: "
                f"SHA-256 fingerprint {tls.fingerprint}"
            )
    for mount in web:
        text = mount(app, line)
        if text and announce is not None:
            announce(text)
    started = asyncio.Event()
    try:
        await line.run(
            services=[lambda: serve(app, sock, started, tls), *services], ready=[started, *ready]
        )
    finally:
        sock.close()

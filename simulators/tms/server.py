"""The reference TMS as two aiohttp listeners: the webhook site and the control site.

See :mod:`simulators.tms` for the contract. The webhook site has its own
:class:`aiohttp.web.AppRunner`, so mode ``down`` can close it entirely (listening
socket and open connections) and mode ``up`` can bind the same port again, while
the control site stays up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from plc_configs.webhook import DEFAULT_TOLERANCE_S, SIGNATURE_HEADER, verify_signature
from simulators.tms.ledger import EventLedger

log = logging.getLogger(__name__)

DEFAULT_PATH = "/lanesort/events"
MODES = ("up", "down", "slow", "error")
SHUTDOWN_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class Mode:
    """A failure mode of the webhook site (``POST /mode`` body, ``GET /mode`` answer)."""

    mode: str = "up"
    delay_ms: float = 2000.0
    status: int = 500
    for_s: float | None = None

    @classmethod
    def from_json(cls, data: Any) -> Mode:
        """Validate a ``POST /mode`` body; raise :class:`ValueError` with the reason."""
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        unknown = set(data) - {"mode", "delay_ms", "status", "for_s"}
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
        mode = data.get("mode")
        if mode not in MODES:
            raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
        delay_ms = data.get("delay_ms", cls.delay_ms)
        if not _is_number(delay_ms) or delay_ms < 0:
            raise ValueError("delay_ms: expected a number >= 0")
        status = data.get("status", cls.status)
        if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
            raise ValueError("status: expected an HTTP error status 400..599")
        for_s = data.get("for_s")
        if for_s is not None and (not _is_number(for_s) or for_s <= 0):
            raise ValueError("for_s: expected a number of seconds > 0, or null")
        return cls(mode, float(delay_ms), status, None if for_s is None else float(for_s))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class TmsSimulator:
    """The upstream TMS: receives LaneSort's webhook events and serves the manifest.

    Args:
        host: address both sites listen on.
        port: webhook site port (0: any free port, kept for the simulator's lifetime).
        control_port: control site port (0: any free port).
        path: the webhook path LaneSort POSTs to.
        secret: the shared HMAC secret; None accepts unsigned deliveries.
        manifest: the CSV file served at ``GET /manifest.csv`` (404 without one).
        events_file: accepted events are appended there as JSON lines.
        signature_tolerance_s: how far a signature's ``t`` may be from now.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        control_port: int = 0,
        *,
        path: str = DEFAULT_PATH,
        secret: str | None = None,
        manifest: Path | str | None = None,
        events_file: Path | str | None = None,
        signature_tolerance_s: float = DEFAULT_TOLERANCE_S,
    ) -> None:
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")
        self.host = host
        self.port = port
        self.control_port = control_port
        self.path = path
        self.secret = secret
        self.manifest = None if manifest is None else Path(manifest)
        self.signature_tolerance_s = signature_tolerance_s
        self.ledger = EventLedger(None if events_file is None else Path(events_file))
        self._mode = Mode()
        self._mode_until: float | None = None
        self._mode_lock = asyncio.Lock()
        self._revert_task: asyncio.Task[None] | None = None
        self._switched = asyncio.Event()  # set, then replaced, at every mode switch
        self._webhook: web.AppRunner | None = None
        self._control: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Bind both sites; afterwards ``port`` and ``control_port`` are the real ports."""
        self.ledger.open()
        try:
            self._control = await self._serve(self._control_app(), self.control_port)
            self.control_port = self._control.addresses[0][1]
            await self._open_webhook()
        except BaseException:
            await self.stop()
            raise
        log.info("TMS simulator: webhook %s, control %s", self.webhook_url, self.control_url)

    async def stop(self) -> None:
        """Close both sites, cancel a pending mode revert, close the events file."""
        if self._revert_task is not None:
            self._revert_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._revert_task
            self._revert_task = None
        await self._close_webhook()
        if self._control is not None:
            await self._control.cleanup()
            self._control = None
        self.ledger.close()

    async def __aenter__(self) -> TmsSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def webhook_url(self) -> str:
        """The URL LaneSort is configured to POST events to."""
        return f"http://{self.host}:{self.port}{self.path}"

    @property
    def manifest_url(self) -> str:
        """The URL of the manifest CSV on the webhook site."""
        return f"http://{self.host}:{self.port}/manifest.csv"

    @property
    def control_url(self) -> str:
        """The base URL of the control site (``/mode``, ``/stats``, ``/events``, ``/reset``)."""
        return f"http://{self.host}:{self.control_port}"

    # -- modes -----------------------------------------------------------------

    @property
    def mode(self) -> Mode:
        """The current failure mode."""
        return self._mode

    def mode_json(self) -> dict[str, Any]:
        """The ``GET /mode`` answer: the mode plus ``remaining_s`` before it reverts to up."""
        remaining = None
        if self._mode_until is not None:
            remaining = round(max(0.0, self._mode_until - time.monotonic()), 3)
        return {**asdict(self._mode), "remaining_s": remaining}

    async def set_mode(self, mode: Mode | str, **options: Any) -> None:
        """Switch the failure mode (``"up"``, ``"down"``, ``"slow"``, ``"error"``).

        ``options`` are the other fields of :class:`Mode` when ``mode`` is a string.
        ``down`` closes the webhook listener; leaving it reopens the same port
        (:class:`OSError` if that fails, the mode then stays ``down``).
        """
        new = mode if isinstance(mode, Mode) else Mode.from_json({"mode": mode, **options})
        async with self._mode_lock:
            task, self._revert_task = self._revert_task, None
            if task is not None and task is not asyncio.current_task():
                task.cancel()
            if new.mode == "down":
                await self._close_webhook()
            elif self._webhook is None:
                await self._open_webhook()
            self._mode = new
            self._switched.set()
            self._switched = asyncio.Event()
            self._mode_until = None
            if new.for_s is not None and new.mode != "up":
                self._mode_until = time.monotonic() + new.for_s
                self._revert_task = asyncio.create_task(
                    self._revert_after(new.for_s), name="tms-mode-revert"
                )
        log.info("TMS simulator mode: %s", new)

    async def wait_mode(self, mode: str) -> Mode:
        """Return once the failure mode is ``mode`` (at once if it is): a timed revert, say."""
        while self._mode.mode != mode:
            await self._switched.wait()
        return self._mode

    async def _revert_after(self, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        try:
            await self.set_mode("up")
        except OSError:
            log.exception("TMS simulator: could not reopen the webhook port")

    # -- webhook site ----------------------------------------------------------

    async def _serve(self, app: web.Application, port: int) -> web.AppRunner:
        runner = web.AppRunner(
            app,
            access_log=None,
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
            handler_cancellation=True,  # a sender that hangs up does not leave a slow answer
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        return runner

    async def _open_webhook(self) -> None:
        app = web.Application()
        app.router.add_post(self.path, self._on_event)
        app.router.add_get("/manifest.csv", self._on_manifest)
        self._webhook = await self._serve(app, self.port)
        self.port = self._webhook.addresses[0][1]

    async def _close_webhook(self) -> None:
        runner, self._webhook = self._webhook, None
        if runner is not None:
            await runner.cleanup()

    async def _on_event(self, request: web.Request) -> web.Response:
        raw = await request.read()
        mode = self._mode
        if mode.mode == "error":
            self.ledger.errors_answered += 1
            return web.json_response(
                {"error": "simulated failure", "mode": "error"}, status=mode.status
            )
        status, answer = self._take(raw, request)
        if mode.mode == "slow":  # recorded first, answered late: a timed-out retry is a duplicate
            await asyncio.sleep(mode.delay_ms / 1000)
        return web.json_response(answer, status=status)

    def _take(self, raw: bytes, request: web.Request) -> tuple[int, dict[str, Any]]:
        if self.secret is not None:
            reason = verify_signature(
                self.secret,
                request.headers.get(SIGNATURE_HEADER),
                raw,
                time.time(),
                self.signature_tolerance_s,
            )
            if reason is not None:
                self.ledger.bad_signatures += 1
                return 401, {"error": "bad signature", "reason": reason}
        return self.ledger.receive(raw, request.headers)

    async def _on_manifest(self, request: web.Request) -> web.StreamResponse:
        if self.manifest is None or not self.manifest.is_file():
            return web.json_response({"error": "no manifest configured"}, status=404)
        return web.FileResponse(self.manifest, headers={"Content-Type": "text/csv"})

    # -- control site ----------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """The ``GET /stats`` answer."""
        return {**self.ledger.stats(), "mode": self._mode.mode}

    def _control_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/mode", self._on_get_mode)
        app.router.add_post("/mode", self._on_set_mode)
        app.router.add_get("/stats", self._on_stats)
        app.router.add_get("/events", self._on_events)
        app.router.add_post("/reset", self._on_reset)
        return app

    async def _on_get_mode(self, request: web.Request) -> web.Response:
        return web.json_response(self.mode_json())

    async def _on_set_mode(self, request: web.Request) -> web.Response:
        try:
            new = Mode.from_json(await request.json())
        except ValueError as err:  # json.JSONDecodeError is a ValueError
            return web.json_response({"error": "bad mode", "reason": str(err)}, status=400)
        try:
            await self.set_mode(new)
        except OSError as err:
            return web.json_response({"error": "cannot reopen", "reason": str(err)}, status=500)
        return web.json_response(self.mode_json())

    async def _on_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _on_events(self, request: web.Request) -> web.Response:
        try:
            after = int(request.query.get("after", "0"))
            limit_text = request.query.get("limit")
            limit = None if limit_text is None else int(limit_text)
        except ValueError:
            return web.json_response({"error": "after/limit: expected integers"}, status=400)
        return web.json_response(self.ledger.events(after, limit))

    async def _on_reset(self, request: web.Request) -> web.Response:
        self.ledger.reset()
        return web.json_response(self.stats())

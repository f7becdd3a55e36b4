"""The demo's TMS: the reference TMS simulator as a child process, receiving the webhooks.

The demo points ``upstream.webhook_url`` at it, signs with a fresh secret, and at
the end asks it what it received (every event once, in order per parcel).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import sys
from pathlib import Path
from typing import Any

import httpx

from controller.errors import ControllerError
from plc_configs.schema import LineConfig

SECRET_ENV = "LANESORT_DEMO_WEBHOOK_SECRET"


class TmsProcess:
    """``python -m simulators.tms`` with its events file in the demo's data directory."""

    def __init__(self, data_dir: Path):
        self.log_path = data_dir / "tms.log"
        self.events_path = data_dir / "tms-events.jsonl"
        self.secret = secrets.token_urlsafe(24)
        self.proc: asyncio.subprocess.Process | None = None
        self.webhook_url = ""
        self.control_url = ""

    async def start(self, timeout_s: float = 30.0) -> None:
        """Start it and read its ready line (its URLs)."""
        os.environ[SECRET_ENV] = self.secret  # the controller signs with it
        args = [
            sys.executable, "-m", "simulators.tms", "--secret-env", SECRET_ENV,
            "--events-file", str(self.events_path),
        ]  # fmt: skip
        with self.log_path.open("wb") as log_file:
            self.proc = await asyncio.create_subprocess_exec(
                *args,
                stdout=asyncio.subprocess.PIPE,
                stderr=log_file,
                stdin=asyncio.subprocess.DEVNULL,
            )
        assert self.proc.stdout is not None
        try:
            ready = json.loads(await asyncio.wait_for(self.proc.stdout.readline(), timeout_s))
        except (TimeoutError, json.JSONDecodeError) as err:
            await self.stop()
            raise ControllerError(f"the TMS simulator did not start; see {self.log_path}") from err
        self.webhook_url, self.control_url = ready["webhook_url"], ready["control_url"]

    def configure(self, config: LineConfig) -> LineConfig:
        """``config`` reporting to this TMS, signed."""
        upstream = config.upstream.model_copy(
            update={"webhook_url": self.webhook_url, "secret_env": SECRET_ENV}
        )
        return config.model_copy(update={"upstream": upstream})

    async def stats(self) -> dict[str, Any] | None:
        """What the TMS received, or None when it does not answer."""
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                return (await client.get(f"{self.control_url}/stats")).json()
        except (httpx.HTTPError, ValueError):
            return None

    async def stop(self) -> None:
        """SIGTERM, then wait (kill after 10 s)."""
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()

"""The demo's TMS: the reference TMS simulator as a child process, receiving the webhooks.

The demo points ``upstream.webhook_url`` at it, signs with a fresh secret, and at
the end asks it what it received (every event once, in order per parcel).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import aiohttp

from controller.cli.child_process import ChildProcess
from controller.errors import ControllerError
from plc_configs.schema import LineConfig

SECRET_ENV = "LANESORT_DEMO_WEBHOOK_SECRET"


class TmsProcess:
    """``python -m simulators.tms`` with its events file in the demo's data directory."""

    def __init__(self, data_dir: Path):
        self.child = ChildProcess("TMS simulator", data_dir / "tms.log")
        self.events_path = data_dir / "tms-events.jsonl"
        self.secret = secrets.token_urlsafe(24)
        self.webhook_url = ""
        self.control_url = ""

    async def start(self, timeout_s: float = 30.0) -> None:
        """Start it and read its ready line (its URLs)."""
        os.environ[SECRET_ENV] = self.secret  # the controller signs with it
        ready = await self.child.start(
            [sys.executable, "-m", "simulators.tms", "--secret-env", SECRET_ENV,
             "--events-file", str(self.events_path)],
            timeout_s,
        )  # fmt: skip
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
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as client,
                client.get(f"{self.control_url}/stats") as response,
            ):
                return await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None

    async def push_route_plan(self, api_url: str, token: str, path: Path) -> dict[str, Any]:
        """PUT the route plan the simulator generated (``path``) to LaneSort's API, as the
        TMS does; the stored plan, or ControllerError with the API's answer."""
        body = json.loads(await asyncio.to_thread(path.read_text))
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as client,
                client.put(f"{api_url}/api/v1/route-plan", json=body, headers=headers) as answer,
            ):
                text = await answer.text()
                if answer.status != 200:
                    raise ControllerError(
                        f"the route plan {path} was refused ({answer.status}): {text[:2000]}"
                    )
                return json.loads(text)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise ControllerError(f"the route plan could not be sent to {api_url}: {err}") from err

    async def stop(self) -> None:
        """SIGTERM, then wait (kill after 10 s)."""
        await self.child.stop()

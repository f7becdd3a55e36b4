"""Each line's own state, asked from its REST API (``GET /api/v1/line``) every few seconds.

The site store has the parcels; the line itself knows its PackML state, its device links
and its active alarms. A line that does not answer within its ``timeout_s`` is shown as
unreachable with the reason, and the last state it gave is kept (with its time).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from controller.site.service.http import LinesClient
from plc_configs.site import SiteLine


@dataclass
class LineStatus:
    """What the site knows of a line from the line itself."""

    line: str
    reachable: bool = False
    checked: float | None = None
    """When the line was last asked (epoch seconds)."""
    answered: float | None = None
    """When the line last answered."""
    error: str | None = None
    state: dict[str, Any] | None = None
    """The line's answer to ``GET /api/v1/line`` (PackML state, counts, alarms …)."""

    @property
    def packml_state(self) -> str | None:
        """The line's PackML state name, if it ever answered."""
        return (self.state or {}).get("packml_state")

    @property
    def active_alarms(self) -> int | None:
        """The line's active alarms, if it ever answered."""
        return (self.state or {}).get("active_alarms")

    @property
    def alarms(self) -> list[dict[str, Any]]:
        """The alarms on the line's board (key, device, severity, text, since, state …)
        when it last answered, oldest first."""
        alarms = (self.state or {}).get("alarms")
        return alarms if isinstance(alarms, list) else []

    def as_dict(self) -> dict[str, Any]:
        """The status in the site's answers."""
        return {
            "reachable": self.reachable,
            "checked": self.checked,
            "answered": self.answered,
            "error": self.error,
            "packml_state": self.packml_state,
            "active_alarms": self.active_alarms,
            "alarms": self.alarms,
            "state": self.state,
        }


class LineWatcher(LinesClient):
    """Polls every line's state; :attr:`status` is always the latest."""

    def __init__(
        self,
        lines: Mapping[str, SiteLine],
        tokens: Mapping[str, str | None],
        poll_s: float = 2.0,
        session: aiohttp.ClientSession | None = None,
    ):
        self.lines = dict(lines)
        self.tokens = dict(tokens)
        self.poll_s = poll_s
        self.status = {name: LineStatus(name) for name in lines}
        super().__init__(session)

    async def poll_once(self) -> None:
        """Ask every line once (in parallel)."""
        await asyncio.gather(*(self._poll(name) for name in self.lines))

    async def run(self) -> None:
        """Poll every ``poll_s`` until cancelled."""
        while True:
            await self.poll_once()
            await asyncio.sleep(self.poll_s)

    async def _poll(self, name: str) -> None:
        cfg = self.lines[name]
        status = self.status[name]
        token = self.tokens.get(name)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = f"{cfg.api_url}/api/v1/line"
        status.checked = time.time()
        try:
            async with self._client().get(
                url, headers=headers, timeout=aiohttp.ClientTimeout(total=cfg.timeout_s)
            ) as response:
                body: Any = None
                with contextlib.suppress(aiohttp.ContentTypeError, ValueError):
                    body = await response.json(content_type=None)
                if response.status != 200:
                    detail = body.get("detail") if isinstance(body, dict) else None
                    status.reachable = True
                    status.error = f"{url} answered {response.status}: {detail or 'no reason'}"
                    return
        except (aiohttp.ClientError, TimeoutError) as err:
            status.reachable = False
            status.error = f"{url}: {str(err) or type(err).__name__}"
            return
        status.reachable, status.error = True, None
        status.answered = status.checked
        status.state = body if isinstance(body, dict) else None

"""Pushing each line its part of a manifest or route plan over the line's REST API.

Each line has a queue of parts in the order they came. A new part is queued, then the
queue is sent in order until it is empty or the line cannot be reached (connection
refused, timeout, 5xx): what is left stays pending and is retried every ``retry_s``
(and on :meth:`Distributor.retry`), so a later manifest never overtakes an earlier one
on a line. A line that answers with a refusal (4xx: bad rows, a refused plan, a refused
token) reports it, and the part is not retried: sending it again would be refused again.
Pending parts are kept on disk (:mod:`controller.site.service.pending`) before the
answer says so, and leave it once their line took or refused them: a site restart loses
none and sends them on in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from controller.site.service.http import LinesClient
from controller.site.service.pending import Part, PendingParts
from plc_configs.site import SiteLine

log = logging.getLogger("lanesort.site")


@dataclass
class LineResult:
    """What one line answered to its part."""

    line: str
    status: str
    """``accepted``, ``loading`` (an import job still running), ``refused`` (4xx, not
    retried), ``pending`` (the line cannot be reached: kept and retried)."""
    rows: int
    detail: str
    http_status: int | None = None
    answer: Any = None
    pending: int = 0
    """Parts still waiting for this line after this one."""

    def as_dict(self) -> dict[str, Any]:
        """The result in the site's answer."""
        return {
            "line": self.line,
            "status": self.status,
            "rows": self.rows,
            "detail": self.detail,
            "http_status": self.http_status,
            "answer": self.answer,
            "pending": self.pending,
        }


class Distributor(LinesClient):
    """The site's queues of parts to its lines."""

    def __init__(
        self,
        lines: Mapping[str, SiteLine],
        env: Mapping[str, str],
        session: aiohttp.ClientSession | None = None,
        retry_s: float = 30.0,
        kept: PendingParts | None = None,
    ):
        """``kept``: where pending parts are kept (those of an earlier run are queued
        again); None: in memory only (a restart forgets them)."""
        self.lines = dict(lines)
        self.env = env
        self.retry_s = retry_s
        super().__init__(session)
        self._queues: dict[str, list[Part]] = {name: [] for name in lines}
        self._locks = {name: asyncio.Lock() for name in lines}
        self.kept = kept
        if kept is not None:
            self._requeue(kept)

    def _requeue(self, kept: PendingParts) -> None:
        """Queue the parts an earlier run kept (file I/O: before the loop runs)."""
        for line, parts in kept.load().items():
            if line in self._queues:
                self._queues[line].extend(parts)
                log.info("%d part(s) kept for line %s by an earlier run: queued", len(parts), line)
            else:
                log.warning(
                    "%d part(s) kept for line %s, which the site config no longer has: left in %s",
                    len(parts),
                    line,
                    kept.path,
                )

    def token(self, line: str) -> str | None:
        """The line API token the site uses (from the line's ``token_env``), or None."""
        name = self.lines[line].token_env
        return self.env.get(name) if name else None

    def pending(self) -> dict[str, list[dict[str, Any]]]:
        """Every line's parts still waiting, oldest first."""
        return {line: [p.summary() for p in queue] for line, queue in self._queues.items()}

    async def send(self, parts: Mapping[str, Part]) -> dict[str, LineResult]:
        """Queue each line's part and send every queue, lines in parallel."""
        lines = list(parts)
        for line in lines:
            queue = self._queues[line]
            async with self._locks[line]:  # not while a flush of this line is sending
                moot: list[Part] = []
                if parts[line].kind == "route-plan":
                    # A newer plan replaces the whole plan: an older one still waiting is moot.
                    moot = [p for p in queue if p.kind == "route-plan"]
                    queue[:] = [p for p in queue if p.kind != "route-plan"]
                await self._keep(line, parts[line], moot)
                queue.append(parts[line])
        results = await asyncio.gather(*(self._flush(line, parts[line]) for line in lines))
        return dict(zip(lines, results, strict=True))

    async def retry(self) -> dict[str, LineResult]:
        """Send every line's pending parts now; the result of each line's last attempt."""
        lines = [line for line, queue in self._queues.items() if queue]
        results = await asyncio.gather(*(self._flush(line, None) for line in lines))
        return {line: r for line, r in zip(lines, results, strict=True) if r is not None}

    async def run(self) -> None:
        """Retry pending parts every ``retry_s`` until cancelled."""
        while True:
            await asyncio.sleep(self.retry_s)
            if any(self._queues.values()):
                for line, result in (await self.retry()).items():
                    log.info("retry to %s: %s (%s)", line, result.status, result.detail)

    async def _flush(self, line: str, mine: Part | None) -> LineResult:
        """Send ``line``'s queue in order; the result for ``mine`` (or the last sent)."""
        async with self._locks[line]:
            queue = self._queues[line]
            result: LineResult | None = None
            while queue:
                part = queue[0]
                sent = await self._send_one(line, part)
                if sent.status == "pending":
                    await self._note_attempt(part)
                    sent.pending = len(queue)
                    if mine is not None and part is not mine and mine in queue:
                        sent = LineResult(
                            line,
                            "pending",
                            mine.rows,
                            f"queued behind {queue.index(mine)} earlier parts the line has "
                            f"not received: {sent.detail}",
                            pending=len(queue),
                        )
                    return sent
                await self._forget([part])
                queue.pop(0)
                if mine is None or part is mine:
                    result = sent
            if result is None:  # mine was sent by a flush running before this one
                result = LineResult(line, "accepted", mine.rows if mine else 0, "sent")
            return result

    async def _keep(self, line: str, part: Part, replaced: list[Part]) -> None:
        if self.kept is not None:
            await asyncio.to_thread(self._keep_now, line, part, replaced)

    def _keep_now(self, line: str, part: Part, replaced: list[Part]) -> None:
        assert self.kept is not None
        self.kept.remove(replaced)
        self.kept.add(line, part)

    async def _forget(self, parts: list[Part]) -> None:
        if self.kept is not None:
            await asyncio.to_thread(self.kept.remove, parts)

    async def _note_attempt(self, part: Part) -> None:
        if self.kept is not None:
            await asyncio.to_thread(self.kept.note_attempt, part)

    async def _send_one(self, line: str, part: Part) -> LineResult:
        cfg = self.lines[line]
        token = self.token(line)
        part.attempts += 1
        if token is None:
            detail = (
                f"no API token for line {line}: set the environment variable {cfg.token_env}"
                if cfg.token_env
                else f"no API token for line {line}: lines.{line}.token_env is not set"
            )
            return LineResult(line, "refused", part.rows, detail)
        url = cfg.api_url + part.path
        headers = {"Authorization": f"Bearer {token}", "Content-Type": part.media_type}
        timeout = aiohttp.ClientTimeout(total=cfg.timeout_s * 2 + 5, connect=cfg.timeout_s)
        try:
            async with self._client().request(
                part.method, url, data=part.body, headers=headers, timeout=timeout
            ) as response:
                answer: Any = None
                with contextlib.suppress(aiohttp.ContentTypeError, ValueError):
                    answer = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as err:
            why = str(err) or type(err).__name__
            part.last_error = f"{url}: {why}"
            return LineResult(
                line, "pending", part.rows, f"line {line} unreachable at {url}: {why}; kept"
            )
        detail = answer.get("detail") if isinstance(answer, dict) else None
        if status >= 500:
            part.last_error = f"{url}: HTTP {status} {detail or ''}".strip()
            return LineResult(
                line,
                "pending",
                part.rows,
                f"line {line} answered {status} ({detail or 'server error'}); kept",
                status,
                answer,
            )
        if status >= 400:
            return LineResult(
                line,
                "refused",
                part.rows,
                f"line {line} refused it ({status}): {detail or 'no reason given'}",
                status,
                answer,
            )
        state = "loading" if status == 202 else "accepted"
        what = "still loading on the line" if status == 202 else "accepted"
        return LineResult(line, state, part.rows, what, status, answer)

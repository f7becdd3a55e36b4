"""Messages to handlers: a FIFO per topic, drained by a task of that topic.

The reading loop only appends (:meth:`TopicDispatcher.put` never waits). The messages of
one topic (one vehicle's ``state``) are handled in arrival order; a slow handler delays
only later messages of its own topic, never the reading of the socket or other topics.
A topic's task starts when a message arrives and ends when its FIFO is empty, so an idle
link holds no tasks. A FIFO holds at most ``max_backlog`` messages: beyond that the
oldest is dropped and counted. A handler that raises is logged with the topic and
counted; the others still run.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Handler = Callable[[str, bytes, bool], Awaitable[None]]
"""``async def handler(topic, payload, retain)``."""

_Item = tuple[tuple[Handler, ...], bytes, bool]


class TopicDispatcher:
    """Per-topic FIFOs of messages and the tasks that hand them to their handlers."""

    def __init__(self, name: str, max_backlog: int = 1000):
        self.name = name
        self.max_backlog = max_backlog
        self.dropped = 0
        self.handler_errors = 0
        self._backlog: dict[str, collections.deque[_Item]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}

    @property
    def busy_topics(self) -> int:
        """Topics with messages waiting or being handled."""
        return len(self._workers)

    def put(self, topic: str, payload: bytes, retain: bool, handlers: tuple[Handler, ...]) -> None:
        """Queue one message for ``handlers`` (called in this order) behind its topic's others."""
        if not handlers:
            return
        queue = self._backlog.setdefault(topic, collections.deque())
        if len(queue) >= self.max_backlog:
            queue.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning(
                    "%s: the handlers of %s are %d messages behind: dropped the oldest "
                    "(%d dropped so far)",
                    self.name,
                    topic,
                    len(queue),
                    self.dropped,
                )
        queue.append((handlers, payload, retain))
        if topic not in self._workers:
            self._workers[topic] = asyncio.create_task(
                self._drain(topic, queue), name=f"{self.name}-mqtt:{topic}"
            )

    async def _drain(self, topic: str, queue: collections.deque[_Item]) -> None:
        try:
            while queue:
                handlers, payload, retain = queue.popleft()
                for handler in handlers:
                    try:
                        await handler(topic, payload, retain)
                    except Exception:
                        self.handler_errors += 1
                        log.exception("%s: the handler of %s failed", self.name, topic)
        finally:
            if self._workers.get(topic) is asyncio.current_task():
                del self._workers[topic]
                self._backlog.pop(topic, None)

    async def stop(self) -> None:
        """Cancel every topic's task and drop what waits."""
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._workers.clear()
        self._backlog.clear()

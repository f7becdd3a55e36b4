"""What the serial/TCP scale drivers share: a framed link, errors that name the scale."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from drivers.errors import DeviceFault
from drivers.scale.base import Weight
from drivers.transport.device import LinkDevice
from drivers.transport.link import Framer

POLL_INTERVAL_S = 0.05


class LinkScale(LinkDevice):
    """Base of the request/response scale drivers: connect, close, transact.

    ``timeout_s`` bounds one request and its answer; ``stable_timeout_s`` (default:
    ``timeout_s``) bounds :meth:`read_stable` as a whole, retries included.
    """

    def __init__(
        self,
        name: str,
        url: str,
        framer: Framer,
        timeout_s: float = 0.3,
        stable_timeout_s: float | None = None,
    ):
        super().__init__(name, url, framer, timeout_s)
        self.stable_timeout_s = timeout_s if stable_timeout_s is None else stable_timeout_s

    async def _transact(self, request: bytes, timeout_s: float | None = None) -> bytes:
        return await self.link.transact(request, self.timeout_s if timeout_s is None else timeout_s)

    async def _poll_until_stable(self, read_now: Callable[[], Awaitable[Weight]]) -> Weight:
        """Ask again while the scale reports motion, until stable or ``stable_timeout_s``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.stable_timeout_s
        while True:
            weight = await read_now()
            if weight.stable:
                return weight
            if loop.time() + POLL_INTERVAL_S >= deadline:
                raise DeviceFault(
                    self.name,
                    self.address,
                    f"weight not stable within {self.stable_timeout_s * 1000:.0f} ms "
                    f"(last reply {weight.raw!r})",
                )
            await asyncio.sleep(POLL_INTERVAL_S)

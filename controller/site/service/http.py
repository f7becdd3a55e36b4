"""The site's HTTP client to its lines, made on first use and closed with its owner."""

from __future__ import annotations

import aiohttp


class LinesClient:
    """Owns one :class:`aiohttp.ClientSession` (given, or made on first use)."""

    def __init__(self, session: aiohttp.ClientSession | None = None):
        self._session = session

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        """Close the HTTP client."""
        if self._session is not None:
            await self._session.close()

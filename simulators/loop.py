"""Run a simulator's main coroutine on uvloop where it is installed (less CPU per
request, as for the controller), else on asyncio's own loop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)``, on uvloop when available."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is in requirements.lock
        return asyncio.run(coro)
    return uvloop.run(coro)

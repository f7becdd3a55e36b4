"""Cancels that a library swallowed, caught.

On Python 3.11 ``asyncio.wait_for`` returns the result instead of raising when the
awaited future completes in the same loop iteration as the cancellation (CPython's
``except CancelledError: if fut.done(): return fut.result()``). LaneSort's own code uses
``asyncio.timeout`` instead (ruff bans ``wait_for``), but pymodbus, asyncua and aiomqtt
await their replies with ``wait_for``: a loop around such a call can run on after
``cancel()``, and a TaskGroup, so a line's stop, would wait for it for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)


def raise_if_cancelling(task: asyncio.Task | None = None) -> None:
    """Re-raise a cancellation that a library swallowed (call it after such a call).

    ``task``: the calling task when the caller keeps it (``current_task()`` costs more
    than the check, in a loop that runs hundreds of times a second).
    """
    task = task or asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


RECANCEL_S = 1.0
"""How often a task that did not end when cancelled is cancelled again."""


async def ends_when_cancelled(
    coro: Coroutine[Any, Any, T], name: str, recancel_s: float = RECANCEL_S
) -> T:
    """Run ``coro`` in a task of its own; cancelled, cancel that task until it ends.

    A library may swallow a cancel (see :func:`raise_if_cancelling`); a part of the line
    that loops on such a call would run on after ``cancel()``, and the TaskGroup, so the
    line's stop on SIGTERM, would wait for it for ever. This cancels it again every
    ``recancel_s`` and logs a warning naming it; the cancel is then raised here as usual.
    """
    inner = asyncio.create_task(coro, name=name)
    try:
        return await asyncio.shield(inner)
    except asyncio.CancelledError:
        while not inner.done():
            inner.cancel()
            with contextlib.suppress(asyncio.CancelledError):  # again: end the part first
                await asyncio.wait({inner}, timeout=recancel_s)
            if not inner.done():
                log.warning("%s did not end when cancelled: cancelling it again", name)
        if not inner.cancelled() and (err := inner.exception()) is not None:
            log.error("%s failed while it was being stopped", name, exc_info=err)
        raise


def start_guarded(
    group: asyncio.TaskGroup,
    coro: Coroutine[Any, Any, T],
    name: str,
    recancel_s: float = RECANCEL_S,
) -> asyncio.Task[T]:
    """``group.create_task(coro, name=name)``, run under :func:`ends_when_cancelled`.

    A TaskGroup cancels its tasks once: a task that swallowed that cancel (a loop around
    an aiomqtt publish or a pymodbus read, say) would hold the group, and so whatever
    waits for it, for ever; cancelling the group's owner again does not reach it.
    """
    return group.create_task(ends_when_cancelled(coro, name, recancel_s), name=name)

"""A simulator started by another process (``lanesort demo``) never outlives it.

The parent passes its pid (``--parent-pid``). Right at start the child calls
:func:`die_with_parent`: on Linux it asks the kernel for SIGTERM when the parent dies
(``prctl(PR_SET_PDEATHSIG)``, which also covers a parent killed with SIGKILL), then
checks that its parent is still that pid: a parent that died between the fork and the
``prctl`` would never send the signal, and the child is then already an orphan. The
SIGTERM stops the simulator as an operator's would (its ports closed, the truth file
written).

:func:`watch_parent` is the portable fallback (and a second line on Linux): it polls
``os.getppid()``, which changes when the parent dies and the child is re-parented.

The kernel sends the death signal when the *thread* that started the child ends; the
demo starts its children from its event loop's thread, which lives as long as it does.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import sys
from collections.abc import Callable

log = logging.getLogger("simulators.parent")

PR_SET_PDEATHSIG = 1
"""``<linux/prctl.h>``: the signal this process gets when its parent dies."""


def die_with_parent(parent_pid: int) -> bool:
    """Get SIGTERM from the kernel when ``parent_pid`` dies (Linux); False when it is no longer
    this process's parent (it died already: stop at once)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            arg = ctypes.c_ulong
            done = libc.prctl(PR_SET_PDEATHSIG, arg(signal.SIGTERM), arg(0), arg(0), arg(0))
        except (OSError, AttributeError) as err:  # no prctl in this libc: the watch remains
            log.warning("cannot ask for a parent-death signal: %s", err)
        else:
            if done != 0:
                log.warning("prctl(PR_SET_PDEATHSIG): %s", os.strerror(ctypes.get_errno()))
    return os.getppid() == parent_pid


async def watch_parent(parent_pid: int, gone: Callable[[], None], every_s: float = 0.5) -> None:
    """Call ``gone`` once ``parent_pid`` is no longer this process's parent."""
    while os.getppid() == parent_pid:  # noqa: ASYNC110 (no event tells of a parent's death)
        await asyncio.sleep(every_s)
    log.warning("parent process %d is gone: stopping", parent_pid)
    gone()

"""Give an OS thread its Python thread's name, so ``top -H``, ``ps -L`` and ``/proc`` show it.

Python 3.11 names threads only for itself: to the OS every thread of the controller is
``python``, and the CPU a journal writer or a camera decoder costs cannot be told apart.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading

_PR_SET_NAME = 15
_NAME_MAX = 15
"""Linux keeps 15 bytes of a thread's name."""


def name_os_thread(name: str | None = None) -> None:
    """Name the calling thread in the OS (the Python thread's name by default).

    Linux keeps the first 15 bytes; where ``prctl`` is missing this does nothing.
    """
    text = (name or threading.current_thread().name).encode(errors="replace")[:_NAME_MAX]
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_NAME, text, 0, 0, 0)

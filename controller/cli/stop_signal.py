"""SIGINT (Ctrl-C) and SIGTERM (systemd, ``docker stop``, ``kill``): one clean stop.

``lanesort run`` and ``lanesort demo`` stop the same way on either signal::

    stop = StopSignal()
    with stop.handled():                  # before the loop: either signal raises KeyboardInterrupt
        run_loop(stop.stops(main()))      # in the loop: the first signal cancels main() once

``main()`` is cancelled where it waits and cleans up in its ``finally`` blocks (the line's
journal is closed, child processes are stopped); :meth:`StopSignal.stops` then returns
None instead of raising, so the command exits normally. A second signal during that
clean-up (which is bounded in time) is logged and does not interrupt it; SIGKILL still
ends the process at once (and the demo's children follow it: ``simulators.parent``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Coroutine, Iterator
from types import FrameType
from typing import Any, TypeVar

log = logging.getLogger("lanesort")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
T = TypeVar("T")


class StopSignal:
    """The stop request of one command: which signal asked for it, if any did."""

    def __init__(self) -> None:
        self.received: signal.Signals | None = None

    @property
    def name(self) -> str:
        """``Ctrl-C`` or the signal's name (``SIGTERM``); empty when no signal came."""
        if self.received is None:
            return ""
        return "Ctrl-C" if self.received == signal.SIGINT else self.received.name

    def _first(self, signum: int) -> bool:
        """Record the signal; True for the first one."""
        if self.received is not None:
            log.warning("%s: already stopping", signal.Signals(signum).name)
            return False
        self.received = signal.Signals(signum)
        return True

    def _interrupt(self, signum: int, _frame: FrameType | None) -> None:
        """Outside the event loop: both signals act as Ctrl-C does (KeyboardInterrupt)."""
        if self._first(signum):
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def handled(self) -> Iterator[None]:
        """Stop on SIGINT or SIGTERM within the block; the block's KeyboardInterrupt (and the
        cancellation a signal caused) end it quietly; the previous handlers come back after."""
        previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._interrupt)
        try:
            yield
        except KeyboardInterrupt:
            if self.received is None:  # raised by something other than our handler
                self.received = signal.SIGINT
        except asyncio.CancelledError:
            # The signal came as the main coroutine returned: the loop ended it cancelled.
            if self.received is None:
                raise
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    async def stops(self, coro: Coroutine[Any, Any, T]) -> T | None:
        """Await ``coro``; the first SIGINT or SIGTERM cancels it. None when a signal stopped
        it, else its result (or its error)."""
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()

        def on_signal(sig: signal.Signals) -> None:
            if self._first(sig):
                log.info("%s: stopping", self.name)
                task.cancel()

        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, on_signal, sig)
        try:
            return await coro
        except asyncio.CancelledError:
            if self.received is None:
                raise
            task.uncancel()
            return None
        finally:
            for sig in STOP_SIGNALS:
                loop.remove_signal_handler(sig)
                signal.signal(sig, self._interrupt)

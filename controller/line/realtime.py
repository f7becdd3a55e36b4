"""Real-time scheduling for the thread that answers the PLC (``line.realtime_priority``).

A line answers its PLC within a couple of milliseconds. Alone on a machine it does; with
several lines (or a database, a broker) on the same cores, the kernel's fair scheduler
lets the loop's wake-up wait behind whatever runs at that moment, and the answer's tail
grows with the machine's load. Under ``SCHED_RR`` the event loop's thread takes a core
from any normal task as soon as it wakes, as a PLC runtime on a Linux box does.

Only the loop's thread is raised, with ``SCHED_RESET_ON_FORK``: threads and processes it
starts afterwards (the default executor, subprocesses) run at normal priority again, and
the journal's writer thread, started before, was never raised. The kernel's real-time
throttle (``/proc/sys/kernel/sched_rt_runtime_us``, 95 % by default) keeps a runaway
loop from taking a core entirely.

By default (``line.realtime_scope: answering``) the loop holds that priority only while an
answer can be due: from the moment the PLC link's poll pace expects a destination request
(a parcel's request window, see :mod:`controller.line.poll_pace`) or sees one, until the
request is answered and no other is expected. The rest of the time (webhooks, MQTT,
Sparkplug, the HMI, the relay to the site) it runs at normal priority, so that several
lines on the same cores do not queue their routine work ahead of another line's answer:
measured with ``benchmarks/site_load.py --rounds 3`` (4 lines on 2 cores), the 4 lines'
answer p99 came to x1.13–1.24 the line alone (0.65–0.72 ms), against x1.27–1.39
(0.78–0.85 ms, two rounds) with the loops raised all the time.
``always`` raises the loop once, for the whole run.

Raising a priority needs ``CAP_SYS_NICE`` or an ``RLIMIT_RTPRIO`` of at least the priority
(systemd: ``LimitRTPRIO=``; ``/etc/security/limits.conf``: ``rtprio``). Without them the
line runs at normal priority and says why, once.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from dataclasses import dataclass

from plc_configs.sections import RealtimeScope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scheduling:
    """A thread's scheduling policy and priority, as read before it was changed."""

    policy: int
    priority: int


def raise_to_realtime(
    priority: int, who: str, pid: int = 0, refused: list[str] | None = None
) -> Scheduling | None:
    """Run thread ``pid`` (0: the calling thread) at ``SCHED_RR`` ``priority``.

    Returns what it ran at before (for :func:`restore`), or None when the kernel refused,
    after a warning that names ``who`` and what to grant (also appended to ``refused``).
    """
    try:
        before = Scheduling(os.sched_getscheduler(pid), os.sched_getparam(pid).sched_priority)
        os.sched_setscheduler(pid, os.SCHED_RR | os.SCHED_RESET_ON_FORK, os.sched_param(priority))
    except OSError as err:
        text = (
            f"{who} runs at normal priority: real-time priority {priority} was refused "
            f"({err.strerror or err}); grant CAP_SYS_NICE or an rtprio limit of {priority} "
            f"(systemd: LimitRTPRIO={priority}), or set line.realtime_priority to 0"
        )
        log.warning("%s", text)
        if refused is not None:
            refused.append(text)
        return None
    log.info("%s runs at real-time priority %d (SCHED_RR)", who, priority)
    return before


def restore(before: Scheduling | None, pid: int = 0) -> None:
    """Put thread ``pid`` back to what :func:`raise_to_realtime` found (no-op for None)."""
    if before is None:
        return
    try:
        os.sched_setscheduler(pid, before.policy, os.sched_param(before.priority))
    except OSError as err:  # the thread is gone, or the limit was lowered meanwhile
        log.debug("scheduling of %d not restored: %s", pid, err)


HELPERS_REFRESH_S = 1.0
"""How often the list of the process's other threads is read again (``/proc/self/task``)."""


class LoopPriority:
    """The real-time priority of the loop that answers the PLC, held as ``scope`` says.

    Call :meth:`start` and :meth:`stop` on the loop's thread; the PLC link calls
    :meth:`answering` on it before each wait and when it sees a request. A switch is one
    ``sched_setscheduler`` call per thread of the process (a few microseconds each), made
    only when the state changes.

    While answering (scope ``answering``), the process's other threads (the journal
    writer, the relay, the executor's) run one step below the loop, above every normal
    task. They share the loop's interpreter lock: one of them preempted by a normal task
    while it held the lock would make the raised loop wait until the scheduler let it
    run again (a priority inversion). Measured with ``benchmarks/site_load.py`` (4 lines
    on 2 cores, two rounds each, run one after the other): the 4 lines' answer p99
    x0.95–1.11 the line alone (0.58–0.68 ms) with the threads raised too, x1.14–1.23
    (0.66–0.71 ms) with the loop alone raised. Between answers they run at normal
    priority again.
    """

    def __init__(self, priority: int, scope: RealtimeScope, who: str):
        self.priority = priority
        self.scope = scope
        self.who = who
        self.raises = 0
        """Times the loop was raised (for diagnostics and tests)."""
        self._before: Scheduling | None = None
        self._raised = False
        self._helpers: list[int] = []
        self._helpers_read_at = -math.inf
        self.refused: str | None = None
        """Why the priority was refused at :meth:`start` (what to grant), or None."""

    def _helper_threads(self) -> list[int]:
        """The process's other threads (re-read at most every :data:`HELPERS_REFRESH_S`)."""
        now = time.monotonic()
        if now - self._helpers_read_at >= HELPERS_REFRESH_S:
            me = threading.get_native_id()
            self._helpers = [t for t in map(int, os.listdir("/proc/self/task")) if t != me]
            self._helpers_read_at = now
        return self._helpers

    def start(self) -> None:
        """Check the priority is granted (a warning says what to grant, once) and hold it
        if the scope is ``always``."""
        refused: list[str] = []
        self._before = raise_to_realtime(self.priority, self.who, refused=refused)
        self.refused = refused[0] if refused else None
        self._raised = self._before is not None
        self.raises += self._raised
        if self.scope == "answering":
            self.answering(False)

    def answering(self, due: bool) -> None:
        """Hold the real-time priority while an answer can be ``due``, normal otherwise."""
        if self._before is None or self.scope == "always" or due == self._raised:
            return
        try:
            if due:
                policy, param = os.SCHED_RR | os.SCHED_RESET_ON_FORK, self.priority
            else:
                policy, param = self._before.policy, self._before.priority
            os.sched_setscheduler(0, policy, os.sched_param(param))
        except OSError as err:  # the rtprio limit was lowered while the line ran
            log.warning("%s stays at its priority: %s", self.who, err.strerror or err)
            return
        self._raised = due
        self.raises += due
        helper = os.sched_param(max(1, self.priority - 1) if due else param)
        for tid in self._helper_threads():
            try:
                os.sched_setscheduler(tid, policy, helper)
            except OSError:  # the thread ended since the list was read
                continue

    def stop(self) -> None:
        """Put the thread (and the others, if raised) back to what they ran at before."""
        self.answering(False)
        restore(self._before)
        self._before, self._raised = None, False

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

Raising a priority needs ``CAP_SYS_NICE`` or an ``RLIMIT_RTPRIO`` of at least the priority
(systemd: ``LimitRTPRIO=``; ``/etc/security/limits.conf``: ``rtprio``). Without them the
line runs at normal priority and says why, once.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scheduling:
    """A thread's scheduling policy and priority, as read before it was changed."""

    policy: int
    priority: int


def raise_to_realtime(priority: int, who: str, pid: int = 0) -> Scheduling | None:
    """Run thread ``pid`` (0: the calling thread) at ``SCHED_RR`` ``priority``.

    Returns what it ran at before (for :func:`restore`), or None when the kernel refused,
    after a warning that names ``who`` and what to grant.
    """
    try:
        before = Scheduling(os.sched_getscheduler(pid), os.sched_getparam(pid).sched_priority)
        os.sched_setscheduler(pid, os.SCHED_RR | os.SCHED_RESET_ON_FORK, os.sched_param(priority))
    except OSError as err:
        log.warning(
            "%s runs at normal priority: real-time priority %d was refused (%s); grant "
            "CAP_SYS_NICE or an rtprio limit of %d (systemd: LimitRTPRIO=%d), or set "
            "line.realtime_priority to 0",
            who,
            priority,
            err.strerror or err,
            priority,
            priority,
        )
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

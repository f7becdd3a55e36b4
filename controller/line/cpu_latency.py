"""Keep the CPUs quick to wake while a line runs (``line.cpu_wakeup_latency_us``).

Between parcels a line's cores are idle, and Linux puts an idle core in the deepest idle
state its governor allows. On a PC with deep C-states, waking from one can take tens to
hundreds of microseconds before the PLC's reply is handled, a real share of a 2 ms answer
budget. On this project's 2-core test VM (``cpuidle-haltpoll``, whose deepest state wakes
in about a microsecond) interleaved runs of ``benchmarks/line_cost.py`` showed no
difference: 3.91-4.25 ms of CPU per parcel and 1.43-1.53 ms answer p99 without the
request, 3.81-4.04 ms and 1.37-1.50 ms with it held at 0.

The kernel's PM QoS interface takes a process's limit on the CPU wake-up latency through
``/dev/cpu_dma_latency``: write the limit in microseconds as a 32-bit integer and keep the
file open; the request ends when it is closed (Linux ``Documentation/power/pm_qos_interface``).
0 lets the cores only poll when idle: the quickest wake-up, paid with a core that spins
(power and heat; on a VM, the host's CPU) whenever it has nothing to do. This is what
real-time Linux set-ups do (``cyclictest``, tuned's ``latency-performance`` profile).

The file is root's (mode 0600); without the right to write it the line runs with the
machine's idle states as they are and says why, once.
"""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path

log = logging.getLogger(__name__)

PM_QOS_DEVICE = Path("/dev/cpu_dma_latency")


class CpuLatencyRequest:
    """A held PM QoS CPU wake-up latency request; :meth:`release` ends it."""

    def __init__(self, fd: int, microseconds: int):
        self._fd: int | None = fd
        self.microseconds = microseconds

    def release(self) -> None:
        """End the request (closing the file is what ends it); idempotent."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def hold_cpu_latency(
    microseconds: int,
    who: str,
    device: Path = PM_QOS_DEVICE,
    refused: list[str] | None = None,
) -> CpuLatencyRequest | None:
    """Ask that no CPU takes longer than ``microseconds`` to wake, until released.

    Returns the held request, or None when the device cannot be written, after a warning
    that names ``who`` and what to grant (also appended to ``refused``).
    """
    try:
        fd = os.open(device, os.O_WRONLY | os.O_CLOEXEC)
    except OSError as err:
        text = (
            f"{who} runs with the CPUs' idle states as they are: {device} cannot be opened "
            f"for writing ({err.strerror or err}); run the line as root, let its user write "
            "that device (a udev rule), or set line.cpu_wakeup_latency_us to null"
        )
    else:
        try:
            os.write(fd, struct.pack("=i", microseconds))
        except OSError as err:
            os.close(fd)
            text = f"{who}: {device} refused the request of {microseconds} us ({err})"
        else:
            log.info("%s holds the CPUs' wake-up latency at %d us or less", who, microseconds)
            return CpuLatencyRequest(fd, microseconds)
    log.warning("%s", text)
    if refused is not None:
        refused.append(text)
    return None

"""What a running line asks of the machine: a real-time loop, CPUs quick to wake.

:class:`MachineGrants` claims what ``line.realtime_priority`` and
``line.cpu_wakeup_latency_us`` ask for when the line starts its devices (see
:mod:`controller.line.realtime` and :mod:`controller.line.cpu_latency`) and gives it back
when the line stops. What the machine refuses comes back as alarms to raise, so the
supervisor sees it, not only the log.
"""

from __future__ import annotations

from controller.line.cpu_latency import CpuLatencyRequest, hold_cpu_latency
from controller.line.realtime import LoopPriority
from plc_configs.sections import LineSection


class MachineGrants:
    """The line's claims on the machine, from its ``line`` section."""

    def __init__(self, section: LineSection):
        self.section = section
        self.loop_priority: LoopPriority | None = None
        """The loop's real-time priority (None: not configured)."""
        self.cpu_latency: CpuLatencyRequest | None = None

    def claim(self) -> list[tuple[str, str]]:
        """Raise the loop and hold the CPU wake-up latency as configured; the (alarm key,
        text) of each refusal, saying what to grant."""
        section, refused = self.section, []
        if section.realtime_priority:
            who = f"line {section.name}'s event loop"
            priority = LoopPriority(section.realtime_priority, section.realtime_scope, who)
            priority.start()
            if priority.refused:
                refused.append(("realtime_priority", priority.refused))
            self.loop_priority = priority
        if section.cpu_wakeup_latency_us is not None:
            why: list[str] = []
            self.cpu_latency = hold_cpu_latency(
                section.cpu_wakeup_latency_us, f"line {section.name}", refused=why
            )
            refused += [("cpu_wakeup_latency_us", text) for text in why]
        return refused

    def release(self) -> None:
        """Give back what was claimed (the loop at normal priority again)."""
        if self.loop_priority is not None:
            self.loop_priority.stop()
            self.loop_priority = None
        if self.cpu_latency is not None:
            self.cpu_latency.release()
            self.cpu_latency = None

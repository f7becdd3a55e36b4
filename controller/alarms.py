"""Alarms: raised by a key, cleared by the same key; every change is journaled and logged.

Pure bookkeeping with a clock passed in. The same key raised again while active
only counts (an alarm per no-read would flood the screen; one alarm with a count
does not). ISA-18.2 acknowledge/shelve states come with the HMI issue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from controller.journal import AlarmRecord

log = logging.getLogger("lanesort.alarms")


class Severity(StrEnum):
    """How bad it is."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Alarm:
    """An active alarm."""

    key: str
    device: str | None
    severity: Severity
    text: str
    since: float
    count: int = 1


class AlarmBoard:
    """The active alarms and a callback that records every change."""

    def __init__(self, record: Callable[[AlarmRecord], None] | None = None):
        self._active: dict[str, Alarm] = {}
        self._record = record
        self.raised_total = 0

    def raise_(
        self,
        key: str,
        text: str,
        now: float,
        *,
        device: str | None = None,
        severity: Severity = Severity.WARNING,
    ) -> Alarm:
        """Raise (or re-count) the alarm ``key``."""
        current = self._active.get(key)
        if current is not None:
            updated = replace(current, count=current.count + 1, text=text)
            self._active[key] = updated
            return updated
        alarm = Alarm(key, device, severity, text, now)
        self._active[key] = alarm
        self.raised_total += 1
        level = logging.ERROR if severity is Severity.CRITICAL else logging.WARNING
        log.log(level, "ALARM %s: %s", key, text)
        self._emit(alarm, "raised", now)
        return alarm

    def clear(self, key: str, now: float) -> None:
        """Clear ``key`` if it is active (returned to normal)."""
        alarm = self._active.pop(key, None)
        if alarm is not None:
            log.info("cleared %s", key)
            self._emit(alarm, "cleared", now)

    def active(self) -> list[Alarm]:
        """Active alarms, oldest first."""
        return sorted(self._active.values(), key=lambda a: a.since)

    def is_active(self, key: str) -> bool:
        """True while ``key`` is raised."""
        return key in self._active

    def _emit(self, alarm: Alarm, state: str, now: float) -> None:
        if self._record is not None:
            self._record(
                AlarmRecord(now, alarm.key, alarm.device, alarm.severity.value, state, alarm.text)
            )

"""Alarms with ISA-18.2 states: raised by a key, cleared by the same key, acknowledged, shelved.

Pure bookkeeping with a clock passed in. The same key raised again while active
only counts (an alarm per no-read would flood the screen; one alarm with a count
does not). Every change is journaled as an :class:`AlarmRecord` (with the user
for operator actions) and logged.

States (ISA-18.2; an alarm in the normal state is not on the board)::

    normal ──raise──► UNACK ──ack──► ACK ──clear──► normal
                        │  ▲                ▲
                  clear │  │ raise          │ raise (counted)
                        ▼  │                │
                      RTN_UNACK ──ack──► normal

A shelved alarm stays on the board in its state but is hidden from :meth:`AlarmBoard.active`
(listed by :meth:`AlarmBoard.shelved`) until it is unshelved or its shelf expires
(:meth:`AlarmBoard.expire_shelves`, run every second by :meth:`AlarmBoard.run_shelf_timer`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from controller.errors import CommandRefused
from controller.journal.writer import AlarmRecord

log = logging.getLogger("lanesort.alarms")

#: The longest an alarm may be shelved, in seconds (8 h: one shift).
MAX_SHELVE_S = 8 * 3600.0


class Severity(StrEnum):
    """How bad it is."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlarmState(StrEnum):
    """ISA-18.2 state of an alarm on the board (normal alarms are not on it)."""

    UNACK = "unacknowledged"
    """The condition is active and nobody acknowledged it."""
    ACK = "acknowledged"
    """The condition is active and acknowledged."""
    RTN_UNACK = "returned-unacknowledged"
    """The condition cleared but nobody acknowledged it: shown until acknowledged."""


class UnknownAlarm(CommandRefused):
    """No alarm with this key is on the board."""


@dataclass(frozen=True, slots=True)
class Alarm:
    """An alarm on the board (condition active, or returned but not yet acknowledged)."""

    key: str
    device: str | None
    severity: Severity
    text: str
    since: float
    count: int = 1
    state: AlarmState = AlarmState.UNACK
    acked_by: str | None = None
    acked_at: float | None = None
    shelved_until: float | None = None
    shelved_by: str | None = None
    shelve_reason: str | None = None
    cleared_at: float | None = None

    @property
    def condition_active(self) -> bool:
        """True while the condition that raised it lasts (UNACK or ACK)."""
        return self.state is not AlarmState.RTN_UNACK

    @property
    def is_shelved(self) -> bool:
        """True while it is shelved."""
        return self.shelved_until is not None


class AlarmBoard:
    """The alarms on the board and a callback that records every change."""

    def __init__(self, record: Callable[[AlarmRecord], None] | None = None):
        self._alarms: dict[str, Alarm] = {}
        self._record = record
        self.raised_total = 0
        self.listeners: list[Callable[[Alarm, str, float], None]] = []
        """Called on the loop with (alarm, change, now) after every change (``raised``,
        ``cleared``, ``acknowledged``, ``shelved``, ``unshelved``); they must not block."""

    # -- conditions (devices, links, the line) ----------------------------------------------

    def raise_(
        self,
        key: str,
        text: str,
        now: float,
        *,
        device: str | None = None,
        severity: Severity = Severity.WARNING,
    ) -> Alarm:
        """Raise (or re-count) the alarm ``key``; a returned, unacknowledged one is UNACK again."""
        current = self._alarms.get(key)
        if current is not None and current.condition_active:
            updated = replace(current, count=current.count + 1, text=text)
            self._alarms[key] = updated
            return updated
        if current is not None:  # returned-unacknowledged: active again, still unacknowledged
            alarm = replace(
                current,
                count=current.count + 1,
                text=text,
                state=AlarmState.UNACK,
                cleared_at=None,
            )
        else:
            alarm = Alarm(key, device, severity, text, now)
        self._alarms[key] = alarm
        self.raised_total += 1
        level = logging.ERROR if alarm.severity is Severity.CRITICAL else logging.WARNING
        log.log(level, "ALARM %s: %s", key, text)
        self._emit(alarm, "raised", now)
        return alarm

    def clear(self, key: str, now: float) -> None:
        """The condition of ``key`` returned to normal: gone if acknowledged, else RTN_UNACK."""
        alarm = self._alarms.get(key)
        if alarm is None or not alarm.condition_active:
            return
        if alarm.state is AlarmState.ACK:
            del self._alarms[key]
        else:
            alarm = replace(alarm, state=AlarmState.RTN_UNACK, cleared_at=now)
            self._alarms[key] = alarm
        log.info("cleared %s", key)
        self._emit(alarm, "cleared", now)

    # -- operator actions -------------------------------------------------------------------

    def acknowledge(self, key: str, user: str, now: float) -> None:
        """UNACK -> ACK; RTN_UNACK -> normal (removed). CommandRefused says why not."""
        alarm = self._get(key)
        if alarm.state is AlarmState.ACK:
            raise CommandRefused(
                f"alarm {key} is already acknowledged (by {alarm.acked_by or 'someone'})"
            )
        acked = replace(alarm, state=AlarmState.ACK, acked_by=user, acked_at=now)
        if alarm.state is AlarmState.RTN_UNACK:
            del self._alarms[key]
        else:
            self._alarms[key] = acked
        log.info("%s acknowledged %s", user, key)
        self._emit(acked, "acknowledged", now, user)

    def shelve(
        self, key: str, user: str, until: float, now: float, reason: str | None = None
    ) -> None:
        """Hide ``key`` from :meth:`active` until ``until`` (at most 8 h); again: new ``until``."""
        alarm = self._get(key)
        if not until - now > 0:
            raise CommandRefused(f"alarm {key}: a shelf must end in the future")
        if not until - now <= MAX_SHELVE_S:
            raise CommandRefused(
                f"alarm {key}: an alarm may be shelved for at most {MAX_SHELVE_S / 3600:g} hours"
            )
        shelved = replace(alarm, shelved_until=until, shelved_by=user, shelve_reason=reason)
        self._alarms[key] = shelved
        log.warning("%s shelved %s for %.0f s: %s", user, key, until - now, reason or "")
        self._emit(shelved, "shelved", now, user)

    def unshelve(self, key: str, user: str, now: float) -> None:
        """Show a shelved alarm again; CommandRefused if it is not shelved."""
        alarm = self._get(key)
        if not alarm.is_shelved:
            raise CommandRefused(f"alarm {key} is not shelved")
        self._unshelve(alarm, now, user)

    def expire_shelves(self, now: float) -> list[Alarm]:
        """Unshelve every alarm whose shelf ended at or before ``now``; returns them."""
        expired = [
            a
            for a in self._alarms.values()
            if a.shelved_until is not None and a.shelved_until <= now
        ]
        return [self._unshelve(alarm, now, None) for alarm in expired]

    async def run_shelf_timer(self, clock: Callable[[], float], period: float = 1.0) -> None:
        """Expire shelves every ``period`` seconds, so the journal notes them when they end."""
        while True:
            self.expire_shelves(clock())
            await asyncio.sleep(period)

    # -- reading ----------------------------------------------------------------------------

    def get(self, key: str) -> Alarm | None:
        """The alarm ``key`` if it is on the board (shelved or not)."""
        return self._alarms.get(key)

    def active(self) -> list[Alarm]:
        """The displayed alarms (UNACK, ACK, RTN_UNACK; not shelved), oldest first."""
        return sorted((a for a in self._alarms.values() if not a.is_shelved), key=_since)

    def shelved(self) -> list[Alarm]:
        """The shelved alarms, oldest first."""
        return sorted((a for a in self._alarms.values() if a.is_shelved), key=_since)

    def unacknowledged_critical(self) -> list[Alarm]:
        """Critical alarms nobody acknowledged (UNACK or RTN_UNACK), not shelved: the banner."""
        return [
            a
            for a in self.active()
            if a.severity is Severity.CRITICAL and a.state is not AlarmState.ACK
        ]

    def is_active(self, key: str) -> bool:
        """True while the condition of ``key`` is active (UNACK or ACK, shelved or not)."""
        alarm = self._alarms.get(key)
        return alarm is not None and alarm.condition_active

    # -- internals --------------------------------------------------------------------------

    def _get(self, key: str) -> Alarm:
        alarm = self._alarms.get(key)
        if alarm is None:
            raise UnknownAlarm(f"no alarm {key} is active or awaiting acknowledgement")
        return alarm

    def _unshelve(self, alarm: Alarm, now: float, user: str | None) -> Alarm:
        shown = replace(alarm, shelved_until=None, shelved_by=None, shelve_reason=None)
        self._alarms[alarm.key] = shown
        log.warning("%s unshelved %s", user or "shelf timer", alarm.key)
        self._emit(shown, "unshelved", now, user)
        return shown

    def _emit(self, alarm: Alarm, state: str, now: float, user: str | None = None) -> None:
        if self._record is not None:
            self._record(
                AlarmRecord(
                    now, alarm.key, alarm.device, alarm.severity.value, state, alarm.text, user
                )
            )
        for listener in self.listeners:
            listener(alarm, state, now)


def _since(alarm: Alarm) -> float:
    return alarm.since

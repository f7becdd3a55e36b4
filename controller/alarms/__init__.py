"""Alarms: the live alarm board (ISA-18.2 states, acknowledge, shelve) and its history.

Owns :class:`AlarmBoard` (:mod:`~controller.alarms.board`: raise, clear, acknowledge,
shelve; every change goes to the journal) and :class:`AlarmHistory`
(:mod:`~controller.alarms.history`: past alarms read back from the journal).

May use: :mod:`controller.journal` (the alarm records and a read-only connection).
"""

from controller.alarms.board import Alarm, AlarmBoard, Severity, UnknownAlarm
from controller.alarms.history import AlarmHistory

__all__ = ["Alarm", "AlarmBoard", "AlarmHistory", "Severity", "UnknownAlarm"]

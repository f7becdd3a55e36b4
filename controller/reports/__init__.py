"""Reports read from the journal: the shift report and the demo report.

Owns the shift report (:mod:`~controller.reports.shift`: counts, reasons, running time
and throughput of a shift, from the journal and the line-state history) and the demo
report (:mod:`~controller.reports.demo`: the journal checked against the line twin's
ground truth, for ``lanesort demo``).

May use: :mod:`controller.parcels`, :mod:`controller.packml` (the line-state
vocabulary), :mod:`controller.histogram`.
"""

from controller.reports.demo import DemoReport, build_report, read_journal
from controller.reports.shift import ShiftReport, shift_report, throughput_series

__all__ = [
    "DemoReport",
    "ShiftReport",
    "build_report",
    "read_journal",
    "shift_report",
    "throughput_series",
]

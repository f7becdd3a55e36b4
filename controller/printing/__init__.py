"""Container labels: composing them in ZPL and spooling them to the put wall's printer.

Owns the container label's layout (:mod:`~controller.printing.zpl`, pure: a
:class:`ContainerLabel` in, a ZPL format out) and the print spooler
(:mod:`~controller.printing.spooler`: an in-memory queue per printer that sends a
label only when the printer says it is ready, raises an alarm naming the printer while
it is not, and prints every label once it is back, in order).

May use: :mod:`controller.alarms` (the printer's alarm), the label printer driver
interface :mod:`drivers.printer.base` and :mod:`drivers.errors`. The container book
(:mod:`controller.containers`) decides *when* a label is printed; this package only
knows *what* is on it and *how* it gets to the printer.
"""

from controller.printing.spooler import LabelSpooler, PrintJob
from controller.printing.zpl import ContainerLabel, container_label_zpl, stops_text

__all__ = ["ContainerLabel", "LabelSpooler", "PrintJob", "container_label_zpl", "stops_text"]

"""Label printer drivers: ZPL over raw TCP (port 9100 on Zebra and most industrial printers)."""

from drivers.printer.base import LabelPrinter, PrinterStatus
from drivers.printer.zpl_tcp import ZplTcpPrinter

__all__ = ["LabelPrinter", "PrinterStatus", "ZplTcpPrinter"]

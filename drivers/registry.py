"""Driver registry: a config string names a driver class, as python-can does with interfaces.

``(kind, driver)`` from the line config (``sorter_plc``/``modbus-tcp``,
``barcode_reader``/``cognex``) maps to a factory that builds the driver from the
device's config section. Later device kinds and vendors add entries here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drivers.barcode.base import BarcodeReader
from drivers.barcode.cognex_tcp import CognexTcpReader
from drivers.plc.base import SorterPlc
from drivers.plc.modbus_tcp import ModbusTcpSorterPlc
from plc_configs.register_map import RegisterMap
from plc_configs.schema import BarcodeReaderDevice, SorterPlcDevice


def _modbus_plc(name: str, device: SorterPlcDevice, register_map: RegisterMap) -> SorterPlc:
    return ModbusTcpSorterPlc(name, device.url, register_map, timeout_s=device.timeout_ms / 1000)


def _cognex_reader(name: str, device: BarcodeReaderDevice) -> BarcodeReader:
    return CognexTcpReader(
        name,
        device.url,
        timeout_s=device.timeout_ms / 1000,
        no_read=device.no_read,
        separator=device.separator,
    )


PLC_DRIVERS: dict[str, Callable[..., SorterPlc]] = {"modbus-tcp": _modbus_plc}
READER_DRIVERS: dict[str, Callable[..., BarcodeReader]] = {"cognex": _cognex_reader}


class UnknownDriver(LookupError):
    """The config names a driver this build does not have."""


def _lookup(table: dict[str, Callable[..., Any]], kind: str, driver: str) -> Callable[..., Any]:
    try:
        return table[driver]
    except KeyError:
        known = ", ".join(sorted(table))
        raise UnknownDriver(f"no {kind} driver {driver!r}; known: {known}") from None


def create_plc(name: str, device: SorterPlcDevice, register_map: RegisterMap) -> SorterPlc:
    """Build the sorter PLC driver named by ``device.driver``."""
    return _lookup(PLC_DRIVERS, "sorter_plc", device.driver)(name, device, register_map)


def create_reader(name: str, device: BarcodeReaderDevice) -> BarcodeReader:
    """Build the barcode reader driver named by ``device.driver``."""
    return _lookup(READER_DRIVERS, "barcode_reader", device.driver)(name, device)

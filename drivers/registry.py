"""Driver registry: a config string names a driver class, as python-can does with interfaces.

``(kind, driver)`` from the line config (``sorter_plc``/``modbus-tcp``,
``barcode_reader``/``cognex``, ``scale``/``mt-sics``, ``dimensioner``/``cubiscan`` …)
maps to a factory that builds the driver from the device's config section.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers.asrs import GebhardtStorage, OsipStorage, StorageSystem
from drivers.barcode.autoid import AutoIdReader
from drivers.barcode.base import BarcodeReader
from drivers.barcode.cognex_push import CognexPushReader
from drivers.barcode.tcp_reader import TcpReader
from drivers.camera import CameraReader
from drivers.dimensioner import create_dimensioner as make_dimensioner
from drivers.dimensioner.base import Dimensioner
from drivers.plc.base import SorterPlc
from drivers.plc.modbus_tcp import ModbusTcpSorterPlc
from drivers.plc.opcua import OpcuaClientOptions, OpcuaSorterPlc
from drivers.printer import LabelPrinter, ZplTcpPrinter
from drivers.ptl.atop import AtopPickToLight
from drivers.ptl.banner import BannerPickToLight
from drivers.ptl.base import PickToLight
from drivers.scale.base import Scale
from drivers.scale.mt_sics import MtSicsScale
from drivers.scale.nci import NciScale
from drivers.scale.opcua_weighing import OpcUaWeighingScale
from drivers.scale.sma import SmaScale
from drivers.scale.toledo_continuous import ToledoContinuousScale
from plc_configs.devices import AsrsDevice
from plc_configs.readers import PRESETS
from plc_configs.schema import (
    BarcodeReaderDevice,
    CameraDevice,
    DimensionerDevice,
    LabelPrinterDevice,
    LineConfig,
    PickToLightDevice,
    ScaleDevice,
)


def _modbus_plc(name: str, config: LineConfig, data_dir: Path) -> SorterPlc:
    device = config.plc
    return ModbusTcpSorterPlc(
        name, device.url, config.register_map, timeout_s=device.timeout_ms / 1000
    )


def _opcua_plc(name: str, config: LineConfig, data_dir: Path) -> SorterPlc:
    device = config.plc
    password = None
    if device.password_env:
        password = os.environ.get(device.password_env)
        if password is None:
            raise ValueError(
                f"devices.{name}.password_env: environment variable {device.password_env} "
                "is not set"
            )
    options = OpcuaClientOptions(
        timeout_s=device.timeout_ms / 1000,
        publishing_interval_ms=device.publishing_interval_ms,
        security_mode=device.security_mode,
        pki_dir=data_dir / device.pki_dir,
        server_certificate=(
            data_dir / device.server_certificate if device.server_certificate else None
        ),
        username=device.username,
        password=password,
    )
    return OpcuaSorterPlc(name, device.url, config.node_map, options)


def _tcp_reader(name: str, device: BarcodeReaderDevice) -> BarcodeReader:
    """A TCP preset; ``no_read``/``separator``/``multiple_read`` None take the preset's;
    ``response`` is the cognex DMCC response mode (the other presets ignore it)."""
    preset = PRESETS[device.driver]
    no_read = device.no_read or preset.no_read
    separator = device.separator or preset.separator
    timeout_s = device.timeout_ms / 1000
    if device.push:
        if device.driver != "cognex":
            raise ValueError(f"{name}: push mode is only for the cognex preset")
        return CognexPushReader(name, device.url, timeout_s, no_read, separator)
    return TcpReader(
        name,
        device.url,
        device.driver,
        timeout_s,
        no_read,
        separator,
        device.multiple_read or preset.multiple_read,
        response=device.response,
    )


def _autoid_reader(name: str, device: BarcodeReaderDevice) -> BarcodeReader:
    return AutoIdReader(name, device.url, node=device.node, timeout_s=device.timeout_ms / 1000)


def _serial_scale(cls: Callable[..., Scale]) -> Callable[[str, ScaleDevice], Scale]:
    def build(name: str, device: ScaleDevice) -> Scale:
        return cls(name, device.url, timeout_s=device.timeout_ms / 1000)

    return build


def _opcua_scale(name: str, device: ScaleDevice) -> Scale:
    return OpcUaWeighingScale(
        name, device.url, node=device.node, timeout_s=device.timeout_ms / 1000
    )


def _dimensioner(name: str, device: DimensionerDevice) -> Dimensioner:
    return make_dimensioner(
        name,
        device.driver,
        device.url,
        timeout_s=device.timeout_ms / 1000,
        telegram=device.telegram,
    )


def _camera(name: str, device: CameraDevice) -> BarcodeReader:
    return CameraReader(
        name,
        device.url,
        decoder=device.driver,
        timeout_s=device.timeout_ms / 1000,
        stream=device.stream,
        deskew=device.deskew,
        keep_images=device.keep_images,
    )


PLC_DRIVERS: dict[str, Callable[..., SorterPlc]] = {"modbus-tcp": _modbus_plc, "opcua": _opcua_plc}
READER_DRIVERS: dict[str, Callable[..., BarcodeReader]] = {
    "cognex": _tcp_reader,
    "sick": _tcp_reader,
    "keyence": _tcp_reader,
    "datalogic": _tcp_reader,
    "autoid": _autoid_reader,
}
SCALE_DRIVERS: dict[str, Callable[..., Scale]] = {
    "mt-sics": _serial_scale(MtSicsScale),
    "sma": _serial_scale(SmaScale),
    "nci": _serial_scale(NciScale),
    "toledo-continuous": _serial_scale(ToledoContinuousScale),
    "opcua-weighing": _opcua_scale,
}
CAMERA_DRIVERS: dict[str, Callable[..., BarcodeReader]] = {"zxing": _camera, "pyzbar": _camera}
DIMENSIONER_DRIVERS: dict[str, Callable[..., Dimensioner]] = {
    name: _dimensioner for name in ("cubiscan", "sick", "datalogic", "telegram")
}


class UnknownDriver(LookupError):
    """The config names a driver this build does not have."""


def _lookup(table: dict[str, Callable[..., Any]], kind: str, driver: str) -> Callable[..., Any]:
    try:
        return table[driver]
    except KeyError:
        known = ", ".join(sorted(table))
        raise UnknownDriver(f"no {kind} driver {driver!r}; known: {known}") from None


def create_plc(config: LineConfig, data_dir: Path) -> SorterPlc:
    """Build the line's sorter PLC driver (``devices.<plc>.driver``); files under ``data_dir``."""
    name = config.plc_name
    return _lookup(PLC_DRIVERS, "sorter_plc", config.plc.driver)(name, config, data_dir)


def create_reader(name: str, device: BarcodeReaderDevice) -> BarcodeReader:
    """Build the barcode reader driver named by ``device.driver``."""
    return _lookup(READER_DRIVERS, "barcode_reader", device.driver)(name, device)


def create_camera(name: str, device: CameraDevice) -> BarcodeReader:
    """Build a camera (it reads symbols like a barcode reader) with the configured decoder."""
    return _lookup(CAMERA_DRIVERS, "camera", device.driver)(name, device)


def create_scale(name: str, device: ScaleDevice) -> Scale:
    """Build the scale driver named by ``device.driver``."""
    return _lookup(SCALE_DRIVERS, "scale", device.driver)(name, device)


def create_dimensioner(name: str, device: DimensionerDevice) -> Dimensioner:
    """Build the dimensioner driver named by ``device.driver``."""
    return _lookup(DIMENSIONER_DRIVERS, "dimensioner", device.driver)(name, device)


#: A station scanner waits this long for the operator's next scan (then waits again).
STATION_WAIT_S = 3600.0


def create_station_reader(name: str, device: BarcodeReaderDevice) -> BarcodeReader:
    """A scanner at a put wall or a dock door: it pushes every read (an operator's trigger).

    Reads are queued and handed out in order, however long ago they arrived (no grace
    window as in the tunnel, where a late read belongs to another parcel).
    """
    if not device.push or device.driver != "cognex":
        raise ValueError(
            f"devices.{name}: a scanner at a put wall or a dock door must push its reads "
            "(driver cognex, push: true)"
        )
    preset = PRESETS[device.driver]
    return CognexPushReader(
        name,
        device.url,
        STATION_WAIT_S,
        device.no_read or preset.no_read,
        device.separator or preset.separator,
        grace_s=STATION_WAIT_S,
    )


def _zpl_printer(name: str, device: LabelPrinterDevice) -> LabelPrinter:
    return ZplTcpPrinter(
        name,
        device.url,
        timeout_s=device.timeout_ms / 1000,
        paper_out_field=device.paper_out_field,
        pause_field=device.pause_field,
        head_up_field=device.head_up_field,
    )


PRINTER_DRIVERS: dict[str, Callable[..., LabelPrinter]] = {"zpl": _zpl_printer}


def create_label_printer(name: str, device: LabelPrinterDevice) -> LabelPrinter:
    """Build the label printer driver named by ``device.driver``."""
    return _lookup(PRINTER_DRIVERS, "label_printer", device.driver)(name, device)


def _atop(name: str, device: PickToLightDevice) -> PickToLight:
    return AtopPickToLight(
        name,
        device.url,
        device.node_list,
        port=device.port,
        timeout_s=device.timeout_ms / 1000,
        poll_interval_s=device.poll_interval_ms / 1000,
    )


def _banner(name: str, device: PickToLightDevice) -> PickToLight:
    return BannerPickToLight(
        name,
        device.url,
        device.node_list,
        timeout_s=device.timeout_ms / 1000,
        poll_interval_s=device.poll_interval_ms / 1000,
    )


PTL_DRIVERS: dict[str, Callable[..., PickToLight]] = {"atop": _atop, "banner-rtu": _banner}


def create_pick_to_light(name: str, device: PickToLightDevice) -> PickToLight:
    """Build the pick-to-light bus driver named by ``device.driver``."""
    return _lookup(PTL_DRIVERS, "pick_to_light", device.driver)(name, device)


def create_storage(name: str, device: AsrsDevice) -> StorageSystem:
    """Build the AS/RS driver for ``device.protocol`` (osip or gebhardt)."""
    common = {
        "our_id": device.our_id,
        "device_id": device.device_id,
        "in_location": device.in_location,
        "out_location": device.out_location,
        "reply_timeout_s": device.reply_timeout_ms / 1000,
        "max_retries": device.max_retries,
    }
    if device.protocol == "osip":
        return OsipStorage(name, device.url, telegram_length=device.telegram_length, **common)
    if device.protocol == "gebhardt":
        return GebhardtStorage(name, device.url, **common)
    raise UnknownDriver(f"no asrs protocol {device.protocol!r}; known: gebhardt, osip")

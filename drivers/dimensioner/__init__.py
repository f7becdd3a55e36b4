"""Dimensioner drivers: CubiScan and the configurable delimited telegram (SICK, Datalogic …).

:func:`create_dimensioner` builds one from the line config's driver name.
"""

from __future__ import annotations

from drivers.dimensioner.base import Dimensioner, Dimensions
from drivers.dimensioner.cubiscan import CubiScanDimensioner, parse_cubiscan_reply
from drivers.dimensioner.telegram import (
    TelegramDimensioner,
    bcc_xor,
    build_telegram,
    format_number,
    parse_telegram,
)
from plc_configs.telegram import PRESETS, TelegramFormat

DRIVERS = ("cubiscan", "datalogic", "sick", "telegram")
"""Driver names :func:`create_dimensioner` knows."""


def create_dimensioner(
    name: str,
    driver: str,
    url: str,
    timeout_s: float = 0.5,
    telegram: TelegramFormat | None = None,
) -> Dimensioner:
    """The dimensioner driver ``driver`` (one of :data:`DRIVERS`) for device ``name`` at ``url``.

    ``sick`` and ``datalogic`` use their preset telegram unless ``telegram`` is given;
    ``telegram`` needs one; ``cubiscan`` takes none. ValueError otherwise.
    """
    if driver == "cubiscan":
        if telegram is not None:
            raise ValueError(f"{name}: driver cubiscan takes no telegram format")
        return CubiScanDimensioner(name, url, timeout_s=timeout_s)
    if driver not in DRIVERS:
        raise ValueError(f"{name}: no dimensioner driver {driver!r}; known: {', '.join(DRIVERS)}")
    fmt = telegram or PRESETS.get(driver)
    if fmt is None:
        raise ValueError(f"{name}: driver {driver} needs a telegram format")
    return TelegramDimensioner(name, url, fmt, timeout_s=timeout_s)


__all__ = [
    "DRIVERS",
    "CubiScanDimensioner",
    "Dimensioner",
    "Dimensions",
    "TelegramDimensioner",
    "bcc_xor",
    "build_telegram",
    "create_dimensioner",
    "format_number",
    "parse_cubiscan_reply",
    "parse_telegram",
]

"""create_dimensioner: driver names from the line config to driver objects."""

from __future__ import annotations

import pytest

from drivers.dimensioner import (
    CubiScanDimensioner,
    TelegramDimensioner,
    create_dimensioner,
)
from plc_configs.telegram import DATALOGIC, SICK

URL = "tcp://127.0.0.1:9"


def test_cubiscan():
    driver = create_dimensioner("cube", "cubiscan", URL, 0.7)
    assert isinstance(driver, CubiScanDimensioner)
    assert (driver.name, driver.address, driver.timeout_s) == ("cube", URL, 0.7)


@pytest.mark.parametrize(("driver", "preset"), [("sick", SICK), ("datalogic", DATALOGIC)])
def test_presets(driver, preset):
    built = create_dimensioner("tunnel", driver, URL, 0.5)
    assert isinstance(built, TelegramDimensioner) and built.fmt is preset


def test_a_given_telegram_replaces_the_preset_and_is_needed_for_telegram():
    custom = SICK.model_copy(update={"separator": "|"})
    assert create_dimensioner("t", "datalogic", URL, 0.5, custom).fmt is custom
    assert create_dimensioner("t", "telegram", URL, 0.5, custom).fmt is custom
    with pytest.raises(ValueError, match="needs a telegram"):
        create_dimensioner("t", "telegram", URL, 0.5)


def test_unknown_driver_and_misplaced_telegram_are_value_errors():
    with pytest.raises(ValueError, match="known: cubiscan"):
        create_dimensioner("t", "metrologic", URL, 0.5)
    with pytest.raises(ValueError, match="no telegram"):
        create_dimensioner("t", "cubiscan", URL, 0.5, SICK)


def test_serial_urls_are_accepted():
    driver = create_dimensioner("cube", "cubiscan", "/dev/ttyUSB0?baud=9600&parity=E&bytesize=7")
    assert driver.address.startswith("/dev/ttyUSB0")

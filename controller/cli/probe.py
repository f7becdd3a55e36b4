"""``lanesort probe``: talk to one device before the line runs, print what it said as JSON.

The commissioning tool: the same drivers and driver names as the line config,
one request, the parsed result and the device's raw text on standard output,
exit 0; or a clear error (timeout with the bytes received so far, which bytes
were garbled, what was expected) on standard error and exit 1.

::

    lanesort probe scale --driver mt-sics --url socket://10.0.0.5:4001
    lanesort probe scale --driver nci --url '/dev/ttyUSB0?baud=9600&parity=E&bytesize=7'
    lanesort probe dimensioner --driver cubiscan --url tcp://10.0.0.6:2000
    lanesort probe reader --driver cognex --url tcp://10.0.0.7:23
    lanesort probe camera --url file:///tmp/label.png          (decoder zxing or pyzbar)
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, is_dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import ValidationError

from controller.errors import ControllerError
from controller.parcels import Gs1Error, parse_gs1
from drivers.barcode.base import BarcodeRead
from drivers.errors import DriverError
from drivers.registry import create_camera, create_dimensioner, create_reader, create_scale
from plc_configs.schema import BarcodeReaderDevice, CameraDevice, DimensionerDevice, ScaleDevice


class ProbeFailed(ControllerError):
    """The device did not give a usable answer; the message says what happened."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _device(kind: str, driver: str, url: str, timeout_ms: int, extra: dict[str, Any]) -> Any:
    model = {
        "scale": ScaleDevice,
        "dimensioner": DimensionerDevice,
        "reader": BarcodeReaderDevice,
        "camera": CameraDevice,
    }[kind]
    data = {
        "kind": "barcode_reader" if kind == "reader" else kind,
        "driver": driver,
        "url": url,
        "timeout_ms": timeout_ms,
        **extra,
    }
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"--{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in err.errors()
        )
        raise ProbeFailed(problems) from err


async def _with_driver(driver: Any, operation: Callable[[Any], Awaitable[Any]]) -> Any:
    try:
        await driver.connect()
        try:
            return await operation(driver)
        finally:
            await driver.close()
    except DriverError as err:
        raise ProbeFailed(str(err)) from err


async def probe(
    kind: str,
    driver: str,
    url: str,
    *,
    timeout_ms: int = 1000,
    now: bool = False,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Connect, ask once, return the result as a JSON-ready dict (raises ProbeFailed)."""
    device = _device(kind, driver, url, timeout_ms, extra or {})
    name = f"{kind}"
    started = time.perf_counter()
    if kind == "scale":
        instance = create_scale(name, device)
        result = await _with_driver(instance, lambda d: d.read_now() if now else d.read_stable())
    elif kind == "dimensioner":
        instance = create_dimensioner(name, device)
        result = await _with_driver(instance, lambda d: d.measure())
    else:
        instance = create_reader(name, device) if kind == "reader" else create_camera(name, device)
        read = await _with_driver(instance, lambda d: d.trigger())
        result = {
            "no_read": read.no_read,
            "multiple": getattr(read, "multiple", False),
            "raw": read.raw,
            "symbols": [_symbol(s) for s in read.symbols],
        }
    elapsed = (time.perf_counter() - started) * 1000
    return {
        "device": kind,
        "driver": driver,
        "url": url,
        "elapsed_ms": round(elapsed, 3),
        "result": _jsonable(result),
    }


def _symbol(symbol: BarcodeRead) -> dict[str, Any]:
    """A symbol as JSON, with its GS1 Application Identifiers when it is a GS1 symbol."""
    out: dict[str, Any] = _jsonable(symbol)
    try:
        out["gs1"] = parse_gs1(symbol.symbology + symbol.data).as_dict()
    except Gs1Error:
        out["gs1"] = None
    return out


def run_probe(
    kind: str, driver: str, url: str, timeout_ms: int, now: bool, extra: dict[str, Any]
) -> str:
    """Run :func:`probe` on a fresh event loop and return the JSON text."""
    return json.dumps(
        asyncio.run(probe(kind, driver, url, timeout_ms=timeout_ms, now=now, extra=extra)),
        indent=2,
    )

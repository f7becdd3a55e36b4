"""The fleet tests' layout (the demo fleet line's) and the official VDA 5050 2.1.0 schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from plc_configs.fleet import FleetSection

ROOT = Path(__file__).resolve().parents[3]
SCHEMAS = ROOT / "tests" / "vda5050" / "2.1.0"  # the official schemas, see SOURCE.md


def fleet_section(url: str = "mqtt://127.0.0.1:1883", **dispatch: Any) -> FleetSection:
    """The demo line's fleet section on broker ``url``, with ``dispatch`` overrides."""
    data = yaml.safe_load((ROOT / "plc_configs" / "demo-line-fleet.yaml").read_text())["fleet"]
    data["mqtt"] = {"url": url}
    data["dispatch"] = {**data.get("dispatch", {}), **dispatch}
    return FleetSection.model_validate(data)


@pytest.fixture(scope="session")
def schema() -> Any:
    """``schema(kind)`` -> a Draft 2020-12 validator of the official 2.1.0 schema, dates checked."""
    cache: dict[str, Draft202012Validator] = {}

    def get(kind: str) -> Draft202012Validator:
        if kind not in cache:
            doc = json.loads((SCHEMAS / f"{kind}.schema").read_text())
            cache[kind] = Draft202012Validator(
                doc, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
        return cache[kind]

    return get

"""The OPC UA node map and the OPC UA sorter PLC's config section."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from plc_configs.loader import load_line_config
from plc_configs.node_map import NodeMap, is_node_id
from tests.simulators.sim_helpers import make_config

ROOT = Path(__file__).parents[2]


def test_the_opcua_demo_line_loads_with_its_node_map():
    config = load_line_config(ROOT / "plc_configs" / "demo-line-opcua.yaml")
    assert config.plc.driver == "opcua" and config.plc.security_mode == "SignAndEncrypt"
    assert config.node_map.namespace_uri == "urn:lanesort:demo-sorter-plc"
    assert config.node_map.entries()["plc.request"] == "Request"
    assert config.node_map.path_elements("PackTags/StateCurrent") == [
        "Sorter",
        "PackTags",
        "StateCurrent",
    ]


def test_entries_are_browse_paths_or_node_ids():
    assert is_node_id('s="DB_Sorter"."Heartbeat"') and is_node_id("i=1234")
    assert not is_node_id("Host/Heartbeat") and not is_node_id("sx=1")
    with pytest.raises(ValidationError, match="empty element"):
        NodeMap.model_validate({"host": {"answer": "Host//Answer"}})
    with pytest.raises(ValidationError, match="expected a browse path"):
        NodeMap.model_validate({"plc": {"heartbeat": "  "}})


def test_the_url_must_match_the_driver():
    with pytest.raises(ValidationError, match=r"url: expected a URL starting with opc\.tcp://"):
        make_config(devices={"sorter": {"driver": "opcua"}})
    with pytest.raises(ValidationError, match="modbus-tcp://"):
        make_config(devices={"sorter": {"url": "opc.tcp://127.0.0.1:4840"}})
    with pytest.raises(ValidationError, match="password_env: set username too"):
        make_config(
            devices={
                "sorter": {
                    "driver": "opcua",
                    "url": "opc.tcp://127.0.0.1:4840",
                    "password_env": "X",
                }
            }
        )

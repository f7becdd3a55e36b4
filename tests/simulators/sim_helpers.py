"""Helpers for the simulator tests: small, fast line configs and a plain Modbus client."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable
from typing import Any

from pymodbus.client import AsyncModbusTcpClient

from plc_configs.contract import join_u32
from plc_configs.schema import LineConfig

BASE: dict[str, Any] = {
    "line": {"name": "test-line", "data_dir": "data"},
    "devices": {
        "sorter": {"kind": "sorter_plc", "url": "modbus-tcp://127.0.0.1:15020"},
        "reader": {"kind": "barcode_reader", "url": "tcp://127.0.0.1:15023", "timeout_ms": 30},
    },
    # 4 m/s = 4 mm per ms: a parcel goes from induct to reject chute in ~0.3 s.
    "topology": {
        "belt_speed_mps": 4.0,
        "scan_point_mm": 100,
        "scan_field_mm": 200,
        "min_parcel_pitch_mm": 200,
        "request_point_mm": 300,
        "decision_point_mm": 700,
        "chutes": [
            {"id": 1, "position_mm": 800, "capacity": 50},
            {"id": 2, "position_mm": 900, "capacity": 50},
            {"id": 3, "position_mm": 1000, "capacity": 50},
        ],
        "reject_chute": {"id": 9, "position_mm": 1200, "capacity": 500},
    },
    "decision": {"deadline_ms": 20},
    "sort_plan": {"A": [1], "B": [2], "C": [3]},
    "simulation": {
        "seed": 7,
        "rate_pph": 36000,
        "parcels": 3,
        "parcel_length_mm": [100, 200],
        "min_gap_mm": 100,
        "chute_empty_after_s": 0.5,
        "reader": {"no_read_rate": 0, "multi_label_rate": 0, "duplicate_read_rate": 0},
        "plc": {
            "heartbeat_interval_ms": 20,
            "host_heartbeat_timeout_ms": 150,
            "start_state": "execute",
            "transition_ms": 20,
        },
    },
}


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


CLOCKED_PLC_AREA = {
    "clock": 14,
    "scan_ring": {"start": 16, "size": 14, "entry_words": 3},
    "confirm_ring": {"start": 58, "size": 16, "entry_words": 4},
}
"""The demo line's PLC area (``register_map.plc``): the PLC's millisecond clock at 14,
each scan stamped with it in word 3 of its ring entry."""


def config_dict(**overrides: Any) -> dict[str, Any]:
    """The test line as a dict, with sections deep-merged from ``overrides`` (None removes)."""
    return _merge(BASE, overrides)


def make_config(**overrides: Any) -> LineConfig:
    """The test line config (validated)."""
    return LineConfig.model_validate(config_dict(**overrides))


async def wait_for(predicate: Callable[[], Any], within: float = 3.0, step: float = 0.002) -> Any:
    """Poll ``predicate`` until it is truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)


class Host:
    """A plain Modbus client playing the controller, addressing through the register map."""

    def __init__(self, config: LineConfig, client: AsyncModbusTcpClient):
        self.rm = config.register_map
        self.client = client
        self.scan_read = 0
        self.confirm_read = 0
        self.command_seq = 0

    async def plc(self) -> list[int]:
        """The whole PLC area (one read)."""
        address, count = self.rm.plc_block
        assert address == 0
        response = await self.client.read_holding_registers(address, count=count, device_id=1)
        assert not response.isError(), response
        return response.registers

    async def write(self, address: int, values: list[int]) -> Any:
        return await self.client.write_registers(address, values, device_id=1)

    async def command(self, code: int) -> None:
        self.command_seq = self.command_seq % 0xFFFF + 1
        await self.write(self.rm.host.command, [code, self.command_seq])

    async def request(self) -> tuple[int, int] | None:
        """(seq, tracking id) of the open destination request, if any."""
        regs = await self.plc()
        p = self.rm.plc
        if regs[p.pending_requests] == 0:
            return None
        tid = join_u32(regs[p.request_tracking_id], regs[p.request_tracking_id + 1])
        return regs[p.request_seq], tid

    async def answer(self, seq: int, tracking_id: int, chute: int) -> None:
        address, _ = self.rm.answer_block
        await self.write(address, [seq, tracking_id >> 16, tracking_id & 0xFFFF, chute])

    async def new_scans(self, ack: bool = True) -> list[int]:
        regs = await self.plc()
        ring = self.rm.plc.scan_ring
        out = []
        write = regs[self.rm.plc.scan_write_index]
        while self.scan_read != write:
            a = ring.entry_address(self.scan_read)
            out.append(join_u32(regs[a], regs[a + 1]))
            self.scan_read = (self.scan_read + 1) % ring.size
        if ack and out:
            await self.write(self.rm.host.scan_read_index, [self.scan_read])
        return out

    async def new_confirms(self) -> list[tuple[int, int, int]]:
        """(tracking id, chute, result) entries written since the last call; acknowledges."""
        regs = await self.plc()
        ring = self.rm.plc.confirm_ring
        out = []
        write = regs[self.rm.plc.confirm_write_index]
        while self.confirm_read != write:
            a = ring.entry_address(self.confirm_read)
            out.append((join_u32(regs[a], regs[a + 1]), regs[a + 2], regs[a + 3]))
            self.confirm_read = (self.confirm_read + 1) % ring.size
        if out:
            await self.write(self.rm.host.confirm_read_index, [self.confirm_read])
        return out

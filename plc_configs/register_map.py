"""The sorter PLC's Modbus register map: one model shared by driver and simulator.

All addresses are 0-based protocol addresses of holding registers. The map has
two areas:

* the **PLC area** (written by the PLC, read by the controller in one block read):
  life counter, PackML state, conveyor run, the destination-request mailbox,
  two rings (scan events and sort confirmations) with their write indices,
  chute full/disabled bits and a fault word; optionally the PLC's millisecond
  clock, which time-stamps the scan events (see :attr:`PlcArea.clock`);
* the **host area** (written by the controller): its life counter, the PackML
  command with a command sequence number, the destination answer, the rings'
  read indices and chute-disable requests.

A ring holds ``size`` entries; the writer (PLC) owns ``write_index`` and the
reader (controller) owns ``read_index``. The ring is empty when both are equal
and full when ``(write_index + 1) % size == read_index``, so a ring never
overwrites an entry that has not been acknowledged.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_READ_REGISTERS = 125
"""A Modbus read of holding registers carries at most 125 registers."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RingLayout(_Strict):
    """Where a ring lives: first entry address, entry count and registers per entry."""

    start: int = Field(ge=0, le=65535, description="address of entry 0")
    size: int = Field(ge=2, le=64, description="number of entries")
    entry_words: int = Field(ge=1, le=8, description="registers per entry")

    @property
    def end(self) -> int:
        """One past the last register of the ring."""
        return self.start + self.size * self.entry_words

    def entry_address(self, index: int) -> int:
        """Address of the first register of entry ``index``."""
        return self.start + (index % self.size) * self.entry_words


class PlcArea(_Strict):
    """Registers the PLC writes."""

    heartbeat: int = 0
    packml_state: int = 1
    conveyor_running: int = 2
    request_seq: int = 3
    request_tracking_id: int = Field(4, description="two registers, high word first")
    scan_write_index: int = 6
    confirm_write_index: int = 7
    fault_word: int = 8
    pending_requests: int = 9
    chute_full: int = Field(10, description="chute_words registers of bits")
    chute_disabled: int = Field(12, description="chute_words registers of bits")
    scan_ring: RingLayout = RingLayout(start=16, size=16, entry_words=2)
    confirm_ring: RingLayout = RingLayout(start=48, size=16, entry_words=4)
    clock: int | None = Field(
        None,
        description="the PLC's free-running millisecond counter (low 16 bits, wraps); "
        "with it, word 3 of each scan ring entry is the counter when the parcel entered "
        "(scan_ring.entry_words >= 3). Optional: with it the controller knows when each "
        "parcel entered to the millisecond, and reads fast only around its request",
    )
    clock_resolution_ms: int = Field(
        1,
        ge=1,
        le=100,
        description="the clock's step in ms: 1 for most PLCs; 10 for an S7-300's TIME_TCK "
        "(1 on an S7-400)",
    )


class HostArea(_Strict):
    """Registers the controller writes."""

    heartbeat: int = 200
    command: int = 201
    command_seq: int = 202
    answer_seq: int = 203
    answer_tracking_id: int = Field(204, description="two registers, high word first")
    answer_chute: int = 206
    scan_read_index: int = 207
    confirm_read_index: int = 208
    chute_disable_request: int = Field(210, description="chute_words registers of bits")


class RegisterMap(_Strict):
    """The whole map. The defaults are the map of the demo line's PLC program."""

    unit_id: int = Field(1, ge=0, le=247, description="Modbus unit (device) id")
    chute_words: int = Field(2, ge=1, le=8, description="16 chutes per register")
    plc: PlcArea = PlcArea()
    host: HostArea = HostArea()

    def plc_registers(self) -> dict[str, tuple[int, int]]:
        """Every PLC-area field as name -> (address, register count)."""
        p = self.plc
        w = self.chute_words
        return {
            "heartbeat": (p.heartbeat, 1),
            "packml_state": (p.packml_state, 1),
            "conveyor_running": (p.conveyor_running, 1),
            "request_seq": (p.request_seq, 1),
            "request_tracking_id": (p.request_tracking_id, 2),
            "scan_write_index": (p.scan_write_index, 1),
            "confirm_write_index": (p.confirm_write_index, 1),
            "fault_word": (p.fault_word, 1),
            "pending_requests": (p.pending_requests, 1),
            "chute_full": (p.chute_full, w),
            "chute_disabled": (p.chute_disabled, w),
            "scan_ring": (p.scan_ring.start, p.scan_ring.end - p.scan_ring.start),
            "confirm_ring": (p.confirm_ring.start, p.confirm_ring.end - p.confirm_ring.start),
            **({"clock": (p.clock, 1)} if p.clock is not None else {}),
        }

    def host_registers(self) -> dict[str, tuple[int, int]]:
        """Every host-area field as name -> (address, register count)."""
        h = self.host
        return {
            "heartbeat": (h.heartbeat, 1),
            "command": (h.command, 1),
            "command_seq": (h.command_seq, 1),
            "answer_seq": (h.answer_seq, 1),
            "answer_tracking_id": (h.answer_tracking_id, 2),
            "answer_chute": (h.answer_chute, 1),
            "scan_read_index": (h.scan_read_index, 1),
            "confirm_read_index": (h.confirm_read_index, 1),
            "chute_disable_request": (h.chute_disable_request, self.chute_words),
        }

    @staticmethod
    def span(fields: dict[str, tuple[int, int]]) -> tuple[int, int]:
        """(first address, register count) covering all ``fields``."""
        first = min(a for a, _ in fields.values())
        last = max(a + n for a, n in fields.values())
        return first, last - first

    @property
    def plc_block(self) -> tuple[int, int]:
        """(address, count) of the one read that fetches the whole PLC area."""
        return self.span(self.plc_registers())

    @property
    def host_block(self) -> tuple[int, int]:
        """(address, count) of the host area."""
        return self.span(self.host_registers())

    @property
    def answer_block(self) -> tuple[int, int]:
        """(address, count) of the answer: seq, tracking id, chute in one write."""
        return self.host.answer_seq, 4

    @model_validator(mode="after")
    def _check_layout(self) -> RegisterMap:
        plc = self.plc_registers()
        host = self.host_registers()
        claimed: dict[int, str] = {}
        for area, fields in (("plc", plc), ("host", host)):
            for name, (address, count) in fields.items():
                for reg in range(address, address + count):
                    if reg in claimed:
                        raise ValueError(
                            f"register {reg} is used by both {claimed[reg]} and {area}.{name}"
                        )
                    claimed[reg] = f"{area}.{name}"
        _, plc_count = self.span(plc)
        if plc_count > MAX_READ_REGISTERS:
            raise ValueError(
                f"the PLC area spans {plc_count} registers; one Modbus read carries at most "
                f"{MAX_READ_REGISTERS}: make the rings smaller or the area denser"
            )
        h = self.host
        if [h.answer_tracking_id, h.answer_chute] != [h.answer_seq + 1, h.answer_seq + 3]:
            raise ValueError(
                "host.answer_seq, host.answer_tracking_id (2 registers) and host.answer_chute "
                "must be consecutive so the answer is written in one request"
            )
        if self.plc.scan_ring.entry_words < 2 or self.plc.confirm_ring.entry_words < 4:
            raise ValueError("scan ring entries need 2 registers, confirm ring entries 4")
        if self.plc.clock is not None and self.plc.scan_ring.entry_words < 3:
            raise ValueError(
                "plc.clock time-stamps the scans in word 3 of each scan ring entry: "
                "scan_ring.entry_words must be at least 3"
            )
        return self

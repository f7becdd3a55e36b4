"""Turning a PLC's raw values into handshake objects, whatever the wire brought them.

Both sorter PLC drivers (Modbus registers, OPC UA variables) read the same things:
a PackML state number, ring write indices and ring entries. A value outside its
range becomes a :class:`~drivers.plc.base.RegisterProblem` and the entry is skipped,
never guessed.
"""

from __future__ import annotations

from drivers.plc.base import RegisterProblem, SortConfirmation
from plc_configs.contract import PackMLState, SortResult

_PACKML_VALUES = frozenset(s.value for s in PackMLState)
_RESULT_VALUES = frozenset(r.value for r in SortResult)


def decode_state(
    raw: int, problems: list[RegisterProblem], name: str = "packml_state", address: int = -1
) -> PackMLState:
    """The PackTags state ``raw`` names; UNDEFINED (and a problem) when it names none."""
    if raw in _PACKML_VALUES:
        return PackMLState(raw)
    problems.append(RegisterProblem(name, address, raw, "0..17 (PackML)"))
    return PackMLState.UNDEFINED


def ring_indices(
    cursor: int,
    write_index: int,
    size: int,
    problems: list[RegisterProblem],
    name: str,
    address: int = -1,
) -> list[int]:
    """Ring positions from ``cursor`` up to (not including) ``write_index``.

    A write index outside the ring is a problem and yields nothing (the cursor stays).
    """
    if not 0 <= write_index < size:
        problems.append(RegisterProblem(name, address, write_index, f"0..{size - 1}"))
        return []
    indices = []
    while cursor != write_index:
        indices.append(cursor)
        cursor = (cursor + 1) % size
    return indices


def decode_confirmation(
    tracking_id: int,
    chute: int,
    result: int,
    index: int,
    problems: list[RegisterProblem],
    name: str,
    address: int = -1,
) -> SortConfirmation | None:
    """The confirmation in ring entry ``index``, or None (and a problem) for a bad result."""
    if result not in _RESULT_VALUES:
        problems.append(
            RegisterProblem(
                f"{name}[{index}].result (tracking id {tracking_id})",
                address,
                result,
                "a SortResult code 1..8",
            )
        )
        return None
    return SortConfirmation(tracking_id, chute, SortResult(result), index)

"""The wire contract between LaneSort and a sorter PLC.

Both sides of the wire use these numbers: the controller's PLC drivers and the
PLC simulator. They are the numbers a PLC programmer puts in the PLC, so they are
fixed here once and never cast from one numbering into another.

PackML numbers are those of ISA-TR88 PackTags (``StateCurrent``/``CntrlCmd``).
OPC UA PackML (OPC 30050) numbers states differently; a driver for it must map,
never cast.
"""

from __future__ import annotations

from enum import IntEnum


class PackMLState(IntEnum):
    """PackTags ``StateCurrent`` values (ISA-TR88)."""

    UNDEFINED = 0
    CLEARING = 1
    STOPPED = 2
    STARTING = 3
    IDLE = 4
    SUSPENDED = 5
    EXECUTE = 6
    STOPPING = 7
    ABORTING = 8
    ABORTED = 9
    HOLDING = 10
    HELD = 11
    UNHOLDING = 12
    SUSPENDING = 13
    UNSUSPENDING = 14
    RESETTING = 15
    COMPLETING = 16
    COMPLETE = 17


class PackMLCommand(IntEnum):
    """PackTags ``CntrlCmd`` values (ISA-TR88)."""

    RESET = 1
    START = 2
    STOP = 3
    HOLD = 4
    UNHOLD = 5
    SUSPEND = 6
    UNSUSPEND = 7
    ABORT = 8
    CLEAR = 9
    COMPLETE = 10


class SortResult(IntEnum):
    """What the PLC reports for a parcel in a sort confirmation.

    Every parcel that passes the decision point gets exactly one confirmation.
    Results other than ``DIVERTED`` mean the parcel went to the reject chute
    (or, for ``RECIRCULATED`` and ``LOST``, to no chute at all).
    """

    DIVERTED = 1
    """Diverted into the chute the controller asked for."""
    NO_ANSWER = 2
    """No destination answer arrived before the decision point: sent to reject."""
    CHUTE_FULL = 3
    """The answered chute was full when the parcel reached it: sent to reject."""
    CHUTE_DISABLED = 4
    """The answered chute was disabled when the parcel reached it: sent to reject."""
    REJECT_REQUESTED = 5
    """The controller answered with the reject chute."""
    INVALID_ANSWER = 6
    """The answer named a chute the PLC does not have: sent to reject."""
    RECIRCULATED = 7
    """The parcel stayed on the loop and will be inducted again (new tracking id)."""
    LOST = 8
    """The PLC lost track of the parcel (gap error, jam, manual removal)."""


#: Sort results after which the parcel physically lies in the reject chute.
REJECT_CHUTE_RESULTS = frozenset(
    {
        SortResult.NO_ANSWER,
        SortResult.CHUTE_FULL,
        SortResult.CHUTE_DISABLED,
        SortResult.REJECT_REQUESTED,
        SortResult.INVALID_ANSWER,
    }
)


class PlcFault(IntEnum):
    """Bits of the PLC's fault word."""

    ESTOP = 0
    JAM = 1
    HOST_HEARTBEAT_LOST = 2
    RING_OVERFLOW = 3


def split_u32(value: int) -> tuple[int, int]:
    """Split an unsigned 32-bit value into (high word, low word) registers."""
    if not 0 <= value <= 0xFFFF_FFFF:
        raise ValueError(f"{value} does not fit in 32 bits")
    return value >> 16, value & 0xFFFF


def join_u32(high: int, low: int) -> int:
    """Join (high word, low word) registers into an unsigned 32-bit value."""
    return (high << 16) | low


def chute_bits_to_ids(words: list[int]) -> frozenset[int]:
    """Chute ids whose bit is set; chute ``n`` is bit ``n - 1`` counting from word 0."""
    ids = set()
    for word_index, word in enumerate(words):
        for bit in range(16):
            if word & (1 << bit):
                ids.add(word_index * 16 + bit + 1)
    return frozenset(ids)


def chute_ids_to_bits(ids: set[int] | frozenset[int], word_count: int) -> list[int]:
    """Inverse of :func:`chute_bits_to_ids`; raises ``ValueError`` for an id out of range."""
    words = [0] * word_count
    for chute in ids:
        if not 1 <= chute <= word_count * 16:
            raise ValueError(f"chute {chute} has no bit (1..{word_count * 16})")
        words[(chute - 1) // 16] |= 1 << ((chute - 1) % 16)
    return words

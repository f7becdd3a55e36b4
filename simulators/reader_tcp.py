"""The Cognex DMCC reader simulator (kept here for old imports; see :mod:`simulators.readers`)."""

from __future__ import annotations

from simulators.readers.cognex import (
    AIM_CODE128,
    ReaderSimulator,
    Reply,
    parse_command,
    trigger_reply,
)

__all__ = ["AIM_CODE128", "ReaderSimulator", "Reply", "parse_command", "trigger_reply"]

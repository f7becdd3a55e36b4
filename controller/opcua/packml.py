"""The PackML state as OPC 30050 (PackML over OPC UA) numbers it, mapped from PackTags.

The PLC reports its state as an ISA-TR88 PackTags ``StateCurrent`` number
(:class:`plc_configs.contract.PackMLState`). OPC 30050 models the same states as three
nested state machines with their own ``StateNumber`` values:

* ``PackMLBaseStateMachineType``: Aborting 8, Aborted 9, Cleared 19;
* ``PackMLMachineStateMachineType`` (inside Cleared): Clearing 1, Stopped 2, Stopping 7,
  Running 18;
* ``PackMLExecuteStateMachineType`` (inside Running): Idle 4, Starting 3, Execute 6,
  Suspended 5, Holding 10, Held 11, Unholding 12, Suspending 13, Unsuspending 14,
  Resetting 15, Completing 16, Complete 17.

A PackTags number says neither which machine a state belongs to nor its enclosing
states (Execute is Cleared/Running/Execute: 19/18/6), and Cleared and Running have no
PackTags number at all, so :data:`OPC30050` maps every PackTags state explicitly by name;
no number is ever cast from one numbering into the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from plc_configs.contract import PackMLState

BASE_STATES = {"Aborting": 8, "Aborted": 9, "Cleared": 19}
"""OPC 30050 PackMLBaseStateMachineType state numbers."""
MACHINE_STATES = {"Clearing": 1, "Stopped": 2, "Stopping": 7, "Running": 18}
"""OPC 30050 PackMLMachineStateMachineType state numbers."""
EXECUTE_STATES = {
    "Starting": 3,
    "Idle": 4,
    "Suspended": 5,
    "Execute": 6,
    "Holding": 10,
    "Held": 11,
    "Unholding": 12,
    "Suspending": 13,
    "Unsuspending": 14,
    "Resetting": 15,
    "Completing": 16,
    "Complete": 17,
}
"""OPC 30050 PackMLExecuteStateMachineType state numbers."""


@dataclass(frozen=True, slots=True)
class UaPackMLState:
    """One PackTags state in OPC 30050's three state machines ('' and 0: not in that one)."""

    base: str = ""
    machine: str = ""
    execute: str = ""

    @property
    def base_number(self) -> int:
        """OPC 30050 StateNumber of the base state machine (0 when none)."""
        return BASE_STATES.get(self.base, 0)

    @property
    def machine_number(self) -> int:
        """StateNumber of the machine state machine (0 unless the base state is Cleared)."""
        return MACHINE_STATES.get(self.machine, 0)

    @property
    def execute_number(self) -> int:
        """StateNumber of the execute state machine (0 unless the machine state is Running)."""
        return EXECUTE_STATES.get(self.execute, 0)


_S = PackMLState


def _running(execute: str) -> UaPackMLState:
    return UaPackMLState("Cleared", "Running", execute)


OPC30050: dict[PackMLState, UaPackMLState] = {
    _S.UNDEFINED: UaPackMLState(),
    _S.ABORTING: UaPackMLState("Aborting"),
    _S.ABORTED: UaPackMLState("Aborted"),
    _S.CLEARING: UaPackMLState("Cleared", "Clearing"),
    _S.STOPPED: UaPackMLState("Cleared", "Stopped"),
    _S.STOPPING: UaPackMLState("Cleared", "Stopping"),
    _S.RESETTING: _running("Resetting"),
    _S.IDLE: _running("Idle"),
    _S.STARTING: _running("Starting"),
    _S.EXECUTE: _running("Execute"),
    _S.COMPLETING: _running("Completing"),
    _S.COMPLETE: _running("Complete"),
    _S.SUSPENDING: _running("Suspending"),
    _S.SUSPENDED: _running("Suspended"),
    _S.UNSUSPENDING: _running("Unsuspending"),
    _S.HOLDING: _running("Holding"),
    _S.HELD: _running("Held"),
    _S.UNHOLDING: _running("Unholding"),
}
"""Every PackTags state in OPC 30050 terms."""


def ua_state(state: PackMLState | None) -> UaPackMLState:
    """The OPC 30050 view of ``state`` (None, the PLC not heard yet: no state at all)."""
    return OPC30050[state] if state is not None else UaPackMLState()

"""The line's PackML state as the controller sees it: legal commands and the state history.

The PLC runs the PackML state machine. Here: which command makes sense in which state
(:mod:`~controller.packml.commands`, so a refused command says what to do instead) and
the line-state history (:mod:`~controller.packml.history`: every state change, PLC link
loss and controller start/stop with its cause, in the journal file's ``line_states``
table), from which the shift report computes running time.

May use: ``plc_configs`` (the PackML states and commands of the PLC contract).
"""

from controller.packml.commands import check_command, state_name
from controller.packml.history import LineStates, fault_names

__all__ = ["LineStates", "check_command", "fault_names", "state_name"]

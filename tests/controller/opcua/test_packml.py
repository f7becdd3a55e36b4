"""PackTags states in OPC 30050's three state machines: an explicit table, never a cast."""

from __future__ import annotations

import pytest

from controller.opcua.packml import (
    BASE_STATES,
    EXECUTE_STATES,
    MACHINE_STATES,
    OPC30050,
    UaPackMLState,
    ua_state,
)
from plc_configs.contract import PackMLState as S

EXPECTED = {
    S.UNDEFINED: (0, 0, 0),
    S.ABORTING: (8, 0, 0),
    S.ABORTED: (9, 0, 0),
    S.CLEARING: (19, 1, 0),
    S.STOPPED: (19, 2, 0),
    S.STOPPING: (19, 7, 0),
    S.RESETTING: (19, 18, 15),
    S.IDLE: (19, 18, 4),
    S.STARTING: (19, 18, 3),
    S.EXECUTE: (19, 18, 6),
    S.COMPLETING: (19, 18, 16),
    S.COMPLETE: (19, 18, 17),
    S.SUSPENDING: (19, 18, 13),
    S.SUSPENDED: (19, 18, 5),
    S.UNSUSPENDING: (19, 18, 14),
    S.HOLDING: (19, 18, 10),
    S.HELD: (19, 18, 11),
    S.UNHOLDING: (19, 18, 12),
}


def test_every_packtags_state_is_mapped():
    assert set(OPC30050) == set(S) == set(EXPECTED)


@pytest.mark.parametrize("state", list(S), ids=lambda s: s.name)
def test_state_numbers_are_those_of_opc_30050(state):
    ua = ua_state(state)
    assert (ua.base_number, ua.machine_number, ua.execute_number) == EXPECTED[state]


@pytest.mark.parametrize("state", list(S), ids=lambda s: s.name)
def test_the_names_match_the_numbers_and_nest(state):
    ua = ua_state(state)
    assert ua.base_number == BASE_STATES.get(ua.base, 0)
    assert bool(ua.machine) == (ua.base == "Cleared" and state is not S.UNDEFINED)
    assert bool(ua.execute) == (ua.machine == "Running")
    if ua.execute:
        assert ua.execute == state.name.title() and ua.execute_number == EXECUTE_STATES[ua.execute]
    elif ua.machine:
        assert ua.machine == state.name.title() and ua.machine_number == MACHINE_STATES[ua.machine]


def test_no_state_before_the_plc_is_heard():
    assert ua_state(None) == UaPackMLState() == ua_state(S.UNDEFINED)
    assert ua_state(None).base == "" and ua_state(None).base_number == 0

from controller.packml.commands import check_command
from plc_configs.contract import PackMLCommand as C
from plc_configs.contract import PackMLState as S


def test_start_from_idle_is_allowed():
    assert check_command(C.START, S.IDLE) is None


def test_start_from_stopped_says_reset_first():
    why = check_command(C.START, S.STOPPED)
    assert why is not None and "Reset" in why and "Stopped" in why


def test_reset_only_from_stopped_or_complete():
    assert check_command(C.RESET, S.STOPPED) is None
    assert check_command(C.RESET, S.EXECUTE) is not None


def test_abort_is_always_possible_except_when_aborting():
    assert check_command(C.ABORT, S.EXECUTE) is None
    assert check_command(C.ABORT, S.ABORTED) is not None


def test_stop_from_execute():
    assert check_command(C.STOP, S.EXECUTE) is None
    assert check_command(C.STOP, S.STOPPED) is not None

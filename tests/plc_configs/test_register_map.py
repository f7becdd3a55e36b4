import pytest
from pydantic import ValidationError

from plc_configs.contract import chute_bits_to_ids, chute_ids_to_bits, join_u32, split_u32
from plc_configs.register_map import RegisterMap
from tests.simulators.sim_helpers import CLOCKED_PLC_AREA


def test_default_map_reads_in_one_request():
    m = RegisterMap()
    assert m.plc_block == (0, 112)
    assert m.answer_block == (203, 4)


def test_overlapping_registers_are_refused():
    with pytest.raises(ValidationError, match="used by both"):
        RegisterMap.model_validate({"plc": {"fault_word": 20}})


def test_plc_area_larger_than_one_read_is_refused():
    with pytest.raises(ValidationError, match="at most 125"):
        RegisterMap.model_validate(
            {"plc": {"confirm_ring": {"start": 48, "size": 32, "entry_words": 4}}}
        )


def test_u32_and_chute_bits_round_trip():
    assert join_u32(*split_u32(0x12345678)) == 0x12345678
    words = chute_ids_to_bits({1, 16, 17, 32}, 2)
    assert words == [0x8001, 0x8001]
    assert chute_bits_to_ids(words) == {1, 16, 17, 32}
    with pytest.raises(ValueError):
        chute_ids_to_bits({33}, 2)


def test_the_plc_clock_is_read_with_the_area_and_needs_a_stamp_word_in_the_scan_ring():
    m = RegisterMap.model_validate({"plc": CLOCKED_PLC_AREA})
    assert m.plc_registers()["clock"] == (14, 1)
    assert m.plc_block == (0, 122)  # still one read
    assert "clock" not in RegisterMap().plc_registers()  # optional: off by default
    with pytest.raises(ValidationError, match="entry_words must be at least 3"):
        RegisterMap.model_validate({"plc": {"clock": 14}})
    with pytest.raises(ValidationError, match="used by both"):
        RegisterMap.model_validate({"plc": {**CLOCKED_PLC_AREA, "clock": 20}})  # inside the ring

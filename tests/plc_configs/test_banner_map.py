"""Banner PICK-IQ register map: encode/decode round trips and the documented addresses."""

from __future__ import annotations

import pytest

from plc_configs.banner import (
    DEFAULT_MAP,
    Animation,
    BannerRegisterMap,
    Lamp,
    decode_inputs,
    decode_lamp,
    decode_value,
    encode_inputs,
    encode_lamp,
    encode_value,
)


@pytest.mark.parametrize("colour", ["green", "red", "orange"])
@pytest.mark.parametrize("flash", [False, True])
def test_lamp_round_trip(colour, flash):
    regs = encode_lamp(Lamp(colour, flash))
    assert regs[0] == (Animation.FLASH if flash else Animation.STEADY)
    assert decode_lamp(regs) == Lamp(colour, flash)


def test_off_is_animation_off_and_decodes_as_off():
    regs = encode_lamp(Lamp("off", flash=True))
    assert regs == [0] * DEFAULT_MAP.display_write_length
    assert decode_lamp([0, 1, 0, 0, 0, 0, 0]) == Lamp("off")


def test_other_animations_show_colour_1_steady_and_bad_codes_are_errors():
    assert decode_lamp([Animation.CHASE, 1, 0, 0, 0, 0, 0]) == Lamp("red", False)
    with pytest.raises(ValueError, match="colour code 9"):
        decode_lamp([Animation.STEADY, 9, 0, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="blue"):
        encode_lamp(Lamp("blue"))


def test_a_map_with_other_offsets_is_used_by_both_sides():
    rmap = BannerRegisterMap(colour_offset=3, pattern_offset=4)
    regs = encode_lamp(Lamp("orange", True), rmap)
    assert len(regs) == 5 and regs[3] == 2
    assert decode_lamp(regs, rmap) == Lamp("orange", True)


@pytest.mark.parametrize("value", [0, 1, 65535, 65536, 999_999])
def test_value_round_trip(value):
    regs = encode_value(value)
    assert all(0 <= r <= 0xFFFF for r in regs)
    assert decode_value(regs) == value


@pytest.mark.parametrize("value", [-1, 1_000_000])
def test_value_out_of_range(value):
    with pytest.raises(ValueError):
        encode_value(value)


@pytest.mark.parametrize("primary", [False, True])
@pytest.mark.parametrize("secondary", [False, True])
def test_inputs_round_trip(primary, secondary):
    assert decode_inputs(encode_inputs(primary, secondary)) == (primary, secondary)


def test_inputs_ignore_other_bits():
    assert decode_inputs(0xFFFC) == (False, False)


def test_documented_addresses():
    m = DEFAULT_MAP
    assert (m.device_id, m.baud_code, m.parity, m.stop_bits) == (6100, 6101, 6102, 6103)
    assert m.state_blocks == (6301, 6312, 6323, 6334, 6345)
    assert m.display_block + m.pattern_offset == 6307  # documented flash pattern register
    assert (m.touch_output, m.optical_output) == (6000, 6002)

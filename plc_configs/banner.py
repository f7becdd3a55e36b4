"""Banner PICK-IQ lights (K50/K30/PTL110) over Modbus RTU: the register map and its codecs.

Shared by the driver (:mod:`drivers.ptl.banner`) and the simulator
(:mod:`simulators.ptl.banner`), so both sides agree on every address and value.

What is documented (Banner "PICK-IQ Device Register Map", p/n 209995 rev. F, and the
PTL110 manual; addresses below are protocol addresses, "without offset"):

* holding 1000–1053 model number, model name, configuration and serial number;
* holding 6000/6001 touch output (0 disabled, 1 primary, 2 secondary) and its on-delay,
  6002/6003 optical output (PTL110 only) and its on-delay;
* holding 6100–6103 device id (1–247), baud code (192 = 19200), parity (0 none,
  1 odd, 2 even), stop bits;
* holding 6301, 6312, 6323, 6334, 6345: the animation of each of the five visual
  states (0 off, 1 steady, 2 flash, 3 two-colour flash, 4 half/half top/bottom,
  5 half/half left/right, 6 half/half rotate, 7 chase, 8 intensity sweep), the flash
  pattern at +6 (6307, 6318 …: 0 normal, 1 strobe, 2 three-pulse, 3 SOS, 4 random)
  and the state delays at +8/+9.

What is **assumed** (nothing definite found; every address is a field of
:class:`BannerRegisterMap`, so an integrator changes it in one place):

* the other registers of a state block follow Banner's usual order (the one of its
  IO-Link lights): +1 colour 1, +2 colour 1 intensity, +3 colour 2, +4 colour 2
  intensity, +5 speed, +6 pattern, +7 direction (this puts the pattern at +6, as
  documented);
* colour codes are Banner's usual ones: 0 green, 1 red, 2 orange (3 amber, 4 yellow,
  … 13 white); intensity 0 is high;
* the host drives the light by rewriting the block of the first state
  (``display_block`` = 6301, the state the light rests in): animation off = dark;
* the touch/optical outputs are read from **input register 0** (function 4): bit 0 the
  primary output (the touch surface by default: register 6000 = 1, a CONFIRM), bit 1
  the secondary output (set 6000 or 6002 to 2 to get a SHORTAGE). The bit follows
  the sensor (it is set while the surface is touched, plus the on-delay), it is not
  latched: the host must poll faster than a touch lasts;
* a numeric value (0–999999) is written as two holding registers at 6200/6201 (high,
  low word). A K50/K30 has no display: it answers exception 2 (illegal address) and
  the driver stops writing the value to that light.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

#: Modbus device ids a PICK-IQ light can have.
DEVICE_IDS = range(1, 248)
#: Largest value the driver sends (six digits, as the Atop modules).
MAX_VALUE = 999_999


class Animation(IntEnum):
    """A state's animation register (documented values)."""

    OFF = 0
    STEADY = 1
    FLASH = 2
    TWO_COLOUR_FLASH = 3
    HALF_TOP_BOTTOM = 4
    HALF_LEFT_RIGHT = 5
    HALF_ROTATE = 6
    CHASE = 7
    INTENSITY_SWEEP = 8


class FlashPattern(IntEnum):
    """A state's flash pattern register (documented values)."""

    NORMAL = 0
    STROBE = 1
    THREE_PULSE = 2
    SOS = 3
    RANDOM = 4


#: Colour names the driver uses -> Banner colour code (assumed, see module doc).
COLOUR_CODES: dict[str, int] = {"green": 0, "red": 1, "orange": 2}
BAUD_CODES: dict[int, int] = {
    1200: 12,
    2400: 24,
    4800: 48,
    9600: 96,
    19200: 192,
    38400: 384,
}

PRIMARY_BIT = 0x0001
SECONDARY_BIT = 0x0002


@dataclass(frozen=True, slots=True)
class BannerRegisterMap:
    """Every address the driver and simulator use (protocol addresses, 0-based)."""

    model_number: int = 1000
    """Low word, high word of the model number (holding, documented)."""
    serial_number: int = 1038
    """16 registers of the serial number string (holding, documented)."""
    touch_output: int = 6000
    """Touch output: 0 disabled, 1 primary, 2 secondary (holding, documented)."""
    optical_output: int = 6002
    """PTL110 optical output: 0 disabled, 1 primary, 2 secondary (documented)."""
    device_id: int = 6100
    baud_code: int = 6101
    parity: int = 6102
    stop_bits: int = 6103
    state_blocks: tuple[int, ...] = (6301, 6312, 6323, 6334, 6345)
    """First register (animation) of each visual state (documented)."""
    display_block: int = 6301
    """The state block :meth:`show`/:meth:`clear` rewrite (assumed: the rest state)."""
    block_length: int = 11
    colour_offset: int = 1
    intensity_offset: int = 2
    pattern_offset: int = 6
    input_status: int = 0
    """Input register (function 4) with the output bits (assumed)."""
    primary_bit: int = PRIMARY_BIT
    secondary_bit: int = SECONDARY_BIT
    value_register: int | None = 6200
    """High word, low word of the shown value (assumed); None: never write a value."""

    @property
    def display_write_length(self) -> int:
        """Registers one display write covers: animation through pattern."""
        return self.pattern_offset + 1


DEFAULT_MAP = BannerRegisterMap()


@dataclass(frozen=True, slots=True)
class Lamp:
    """What a light shows: ``colour`` is ``off``, ``green``, ``red`` or ``orange``."""

    colour: str
    flash: bool = False


def encode_lamp(lamp: Lamp, rmap: BannerRegisterMap = DEFAULT_MAP) -> list[int]:
    """The display block registers (animation … pattern) for ``lamp``.

    ``ValueError`` for a colour the light has no code for.
    """
    regs = [0] * rmap.display_write_length
    if lamp.colour == "off":
        return regs
    try:
        code = COLOUR_CODES[lamp.colour]
    except KeyError:
        raise ValueError(f"no Banner colour code for {lamp.colour!r}") from None
    regs[0] = Animation.FLASH if lamp.flash else Animation.STEADY
    regs[rmap.colour_offset] = code
    regs[rmap.intensity_offset] = 0  # high
    regs[rmap.pattern_offset] = FlashPattern.NORMAL
    return regs


def decode_lamp(regs: list[int], rmap: BannerRegisterMap = DEFAULT_MAP) -> Lamp:
    """What a light shows for its display block registers (animation first).

    Animations other than steady and flash show colour 1 as steady (the bank knows
    no others); an unknown colour code is ``ValueError``.
    """
    animation = regs[0]
    if animation == Animation.OFF:
        return Lamp("off")
    code = regs[rmap.colour_offset]
    for name, value in COLOUR_CODES.items():
        if value == code:
            return Lamp(name, flash=animation == Animation.FLASH)
    raise ValueError(f"colour code {code} is not one of {sorted(COLOUR_CODES.values())}")


def encode_value(value: int) -> list[int]:
    """A shown value as two registers, high word first (0 … 999999)."""
    if not 0 <= value <= MAX_VALUE:
        raise ValueError(f"value {value} outside 0..{MAX_VALUE}")
    return [value >> 16, value & 0xFFFF]


def decode_value(regs: list[int]) -> int:
    """Two registers (high word first) back to the value."""
    return (regs[0] << 16) | regs[1]


def decode_inputs(register: int, rmap: BannerRegisterMap = DEFAULT_MAP) -> tuple[bool, bool]:
    """``(primary, secondary)`` output active from the input status register."""
    return bool(register & rmap.primary_bit), bool(register & rmap.secondary_bit)


def encode_inputs(primary: bool, secondary: bool, rmap: BannerRegisterMap = DEFAULT_MAP) -> int:
    """The input status register for these outputs (the simulator's side)."""
    return (rmap.primary_bit if primary else 0) | (rmap.secondary_bit if secondary else 0)

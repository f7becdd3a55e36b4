"""The configurable delimited telegram of dimensioning tunnels (SICK, Datalogic and others).

The customer defines the host telegram on these devices, so the driver (and the
simulator) are driven by a :class:`TelegramFormat`: start and end bytes, separator,
the fields in order with their widths and implied decimals, units, an optional
BCC, and the strings that mean "no read", "not legal" and "no dimension".

Presets follow the examples in PROTOCOLS.md; the exact field list of a site's
telegram is configuration, never code.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FieldName = Literal[
    "sequence",
    "barcode",
    "length",
    "width",
    "height",
    "weight",
    "weight_unit",
    "length_unit",
    "volume",
    "status",
    "reason",
    "alibi",
    "ignore",
]


class TelegramField(BaseModel):
    """One field of the telegram."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: FieldName
    width: int | None = Field(None, gt=0, description="fixed width (zero/space padded)")
    decimals: int = Field(
        0, ge=0, le=6, description="implied decimals when the value has no decimal point"
    )


class TelegramFormat(BaseModel):
    """How one dimensioner's host telegram looks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str = Field("\x02", description="frame start (STX); empty for none")
    end: str = Field("\x03", min_length=1, description="frame end (ETX, CR LF …)")
    separator: str = Field(";", min_length=1)
    fields: tuple[TelegramField, ...] = Field(min_length=1)
    length_unit: Literal["mm", "cm", "m", "in"] = Field(
        "mm", description="used when the telegram has no length_unit field"
    )
    weight_unit: Literal["g", "kg", "lb", "oz"] = Field(
        "kg", description="used when the telegram has no weight_unit field"
    )
    bcc: Literal["none", "xor"] = Field(
        "none",
        description="xor: one byte after the end, the XOR of every byte before it after the start",
    )
    trigger: str | None = Field(
        None, description="sent to ask for a measurement; None: the device pushes telegrams"
    )
    no_read: str = Field("NoRead", description="barcode field value when nothing was read")
    legal_status: tuple[str, ...] = Field(
        (), description="status values that mean legal for trade (empty: any status is legal)"
    )
    not_legal_status: tuple[str, ...] = Field(
        (), description="status values that mean not legal for trade (e.g. NOTREADY)"
    )
    zero_means_no_dimension: bool = Field(
        True, description="L, W and H all zero = the device could not measure"
    )
    zero_weight_means_not_legal: bool = Field(
        False, description="a zeroed weight means the weight is not legal (SICK)"
    )

    @model_validator(mode="after")
    def _fields_make_sense(self) -> TelegramFormat:
        names = [f.name for f in self.fields if f.name != "ignore"]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"fields appear more than once: {repeated}")
        if not {"length", "width", "height"} <= set(names):
            raise ValueError("fields must include length, width and height")
        if self.start and self.start in self.end:
            raise ValueError("start and end must differ")
        return self

    def field_names(self) -> tuple[str, ...]:
        """The field names in telegram order."""
        return tuple(f.name for f in self.fields)


def bcc_xor(frame_without_bcc: bytes, start: bytes) -> int:
    """The telegram BCC: XOR of every byte after ``start`` up to and including the end bytes.

    The BCC byte follows the end bytes. Both sides of the wire (the driver that checks
    and the simulator that builds) use this one function.
    """
    body = frame_without_bcc[len(start) :] if start else frame_without_bcc
    value = 0
    for byte in body:
        value ^= byte
    return value


def _fields(*spec: str | tuple[str, int | None, int]) -> tuple[TelegramField, ...]:
    out = []
    for item in spec:
        if isinstance(item, str):
            out.append(TelegramField(name=item))  # type: ignore[arg-type]
        else:
            name, width, decimals = item
            out.append(TelegramField(name=name, width=width, decimals=decimals))  # type: ignore[arg-type]
    return tuple(out)


SICK = TelegramFormat(
    start="\x02",
    end="\x03",
    separator=";",
    fields=_fields(
        ("sequence", 4, 0),
        "barcode",
        ("weight", 9, 0),
        "weight_unit",
        "status",
        ("length", 4, 0),
        ("width", 4, 0),
        ("height", 4, 0),
        "length_unit",
        ("reason", 4, 0),
        "volume",
    ),
    no_read="NoRead",
    zero_weight_means_not_legal=True,
)
"""SICK: ``STX 0145;1JVGL0012345;000081212;g;0;0321;0150;0087;mm;0000;<volume> ETX``."""

DATALOGIC = TelegramFormat(
    start="\x02",
    end="\r\n",
    separator=",",
    fields=_fields(
        "status",
        ("sequence", 4, 0),
        "barcode",
        ("length", 5, 1),
        ("width", 5, 1),
        ("height", 5, 1),
        "length_unit",
        ("weight", 6, 3),
        "weight_unit",
        "reason",
        "alibi",
    ),
    no_read="NoRead",
    legal_status=("READY",),
    not_legal_status=("NOTREADY",),
)
"""Datalogic DM3610 style (unverified field order; configurable):
``STX READY,0012,LS0000000001,03210,01500,00870,mm,12.345,kg,,A000123 CR LF``; a failed
measurement carries a ``NODIM_…`` reason such as ``NODIM_BOX_STACKED``."""

PRESETS: dict[str, TelegramFormat] = {"sick": SICK, "datalogic": DATALOGIC}

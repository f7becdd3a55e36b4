"""Measurements in the scan tunnel: what was weighed and measured, and what is wrong with it.

Pure: no I/O, no clock. Values stay exact :class:`~decimal.Decimal` as the drivers
gave them; the device's raw text travels with them into the journal.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from controller.parcels.decision import RejectReason
from drivers.dimensioner.base import Dimensions
from drivers.scale.base import Weight, WeightMode
from plc_configs.schema import TunnelSection


@dataclass(frozen=True, slots=True)
class Measurement:
    """Weight and dimensions of one parcel, each with the device and any error."""

    weight: Weight | None = None
    weight_device: str | None = None
    weight_error: str | None = None
    dimensions: Dimensions | None = None
    dimensions_device: str | None = None
    dimensions_error: str | None = None
    volumetric_kg: Decimal | None = None

    def to_detail(self) -> dict[str, Any]:
        """A JSON-ready record for the journal (numbers as exact decimal strings)."""
        detail: dict[str, Any] = {}
        if self.weight is not None:
            w = self.weight
            detail["weight"] = {
                "kg": str(w.kg),
                "value": str(w.value),
                "unit": w.unit,
                "stable": w.stable,
                "mode": w.mode.value,
                "legal_for_trade": w.legal_for_trade,
                "raw": w.raw,
                "flags": list(w.flags),
                "device": self.weight_device,
            }
        if self.weight_error is not None:
            detail["weight_error"] = self.weight_error
        if self.dimensions is not None:
            d = self.dimensions
            detail["dimensions"] = {
                "length_mm": _s(d.length_mm),
                "width_mm": _s(d.width_mm),
                "height_mm": _s(d.height_mm),
                "legal_for_trade": d.legal_for_trade,
                "weight_kg": _s(d.weight_kg),
                "no_dimension_reason": d.no_dimension_reason,
                "raw": d.raw,
                "flags": list(d.flags),
                "device": self.dimensions_device,
            }
        if self.dimensions_error is not None:
            detail["dimensions_error"] = self.dimensions_error
        if self.volumetric_kg is not None:
            detail["volumetric_kg"] = str(self.volumetric_kg)
        return detail

    @classmethod
    def from_detail(cls, detail: dict[str, Any]) -> Measurement:
        """The measurement a journal record of :meth:`to_detail` holds (tare not kept)."""
        weight = dims = None
        if (w := detail.get("weight")) is not None:
            weight = Weight(
                kg=Decimal(w["kg"]),
                value=Decimal(w["value"]),
                unit=w["unit"],
                stable=bool(w["stable"]),
                mode=WeightMode(w["mode"]),
                legal_for_trade=bool(w["legal_for_trade"]),
                raw=w["raw"],
                flags=tuple(w.get("flags", ())),
            )
        if (d := detail.get("dimensions")) is not None:
            dims = Dimensions(
                length_mm=_d(d.get("length_mm")),
                width_mm=_d(d.get("width_mm")),
                height_mm=_d(d.get("height_mm")),
                legal_for_trade=bool(d["legal_for_trade"]),
                raw=d["raw"],
                weight_kg=_d(d.get("weight_kg")),
                no_dimension_reason=d.get("no_dimension_reason"),
                flags=tuple(d.get("flags", ())),
            )
        return cls(
            weight=weight,
            weight_device=(detail.get("weight") or {}).get("device"),
            weight_error=detail.get("weight_error"),
            dimensions=dims,
            dimensions_device=(detail.get("dimensions") or {}).get("device"),
            dimensions_error=detail.get("dimensions_error"),
            volumetric_kg=_d(detail.get("volumetric_kg")),
        )


def _d(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def volumetric_kg(dimensions: Dimensions, divisor: float) -> Decimal | None:
    """Dimensional weight: L x W x H in cm3 divided by ``divisor`` (cm3/kg), exact."""
    if not dimensions.measured:
        return None
    assert dimensions.length_mm is not None
    assert dimensions.width_mm is not None and dimensions.height_mm is not None
    cm3 = dimensions.length_mm * dimensions.width_mm * dimensions.height_mm / Decimal(1000)
    return cm3 / Decimal(str(divisor))


@dataclass(frozen=True, slots=True)
class MeasureIncident:
    """One thing wrong with a parcel's measurement."""

    reason: RejectReason
    detail: str


def check_measurement(
    m: Measurement, limits: TunnelSection, *, weighs: bool, dimensions: bool
) -> list[MeasureIncident]:
    """Every measurement incident of ``m`` (empty when all is well)."""
    found: list[MeasureIncident] = []
    legal_problems: list[str] = []
    if weighs:
        w = m.weight
        if w is None:
            found.append(
                MeasureIncident(RejectReason.MISSING_WEIGHT, m.weight_error or "no weight")
            )
        else:
            if not w.stable:
                found.append(MeasureIncident(RejectReason.UNSTABLE_WEIGHT, f"{w.raw!r}"))
            if w.kg > Decimal(str(limits.max_weight_kg)):
                found.append(
                    MeasureIncident(
                        RejectReason.OVER_MAX_WEIGHT,
                        f"{w.kg} kg over the {limits.max_weight_kg} kg limit",
                    )
                )
            if not w.legal_for_trade:
                legal_problems.append(f"weight {w.raw!r}")
    if dimensions:
        d = m.dimensions
        if d is None or not d.measured:
            why = (d.no_dimension_reason if d is not None else None) or m.dimensions_error
            found.append(MeasureIncident(RejectReason.MISSING_DIMENSIONS, why or "no dimensions"))
        else:
            over = [
                f"{name} {value} mm > {limit} mm"
                for name, value, limit in (
                    ("length", d.length_mm, limits.max_length_mm),
                    ("width", d.width_mm, limits.max_width_mm),
                    ("height", d.height_mm, limits.max_height_mm),
                )
                if value is not None and value > Decimal(str(limit))
            ]
            if over:
                found.append(MeasureIncident(RejectReason.OVERSIZE, "; ".join(over)))
            if not d.legal_for_trade:
                legal_problems.append(f"dimensions {d.raw!r}")
    if legal_problems:
        found.append(
            MeasureIncident(
                RejectReason.NOT_LEGAL_FOR_TRADE,
                "the device marks these as not legal for trade: " + ", ".join(legal_problems),
            )
        )
    return found

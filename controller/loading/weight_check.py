"""The check-weigh of a closed container against its parcels' tunnel weights. Pure.

Expected = the parcels' tunnel weights + the container's tare. Allowed difference =
max(``tolerance_kg``, ``tolerance_share`` x expected). A parcel without a tunnel weight
makes the expected weight unknown: the container is held (a supervisor looks), unless
the policy allows judging on the weighed parcels alone (``allow_unmeasured``). What
happens to a held container (weighed again, or released by a supervisor) is
:mod:`controller.putwall.closeout`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WeightPolicy:
    """How a closed container is judged."""

    tolerance_kg: float = 0.2
    tolerance_share: float = 0.03
    tare_kg: float = 0.0
    allow_unmeasured: bool = False


@dataclass(frozen=True, slots=True)
class WeightVerdict:
    """The check's outcome; ``reason`` says it in words."""

    ok: bool
    expected_kg: float
    measured_kg: float
    difference_kg: float
    allowed_kg: float
    reason: str
    unmeasured: int = 0


def check_weight(
    measured_kg: float, parcel_weights_kg: Sequence[float | None], policy: WeightPolicy
) -> WeightVerdict:
    """Judge ``measured_kg`` (the container on the scale) against its parcels."""
    known = [w for w in parcel_weights_kg if w is not None]
    unmeasured = len(parcel_weights_kg) - len(known)
    expected = round(sum(known) + policy.tare_kg, 3)
    allowed = round(max(policy.tolerance_kg, policy.tolerance_share * expected), 3)
    difference = round(measured_kg - expected, 3)
    figures = f"{measured_kg:.3f} kg measured, {expected:.3f} kg expected (±{allowed:.3f})"
    if unmeasured and not policy.allow_unmeasured:
        reason = f"{unmeasured} parcels have no tunnel weight; {figures}"
        return WeightVerdict(False, expected, measured_kg, difference, allowed, reason, unmeasured)
    if abs(difference) > allowed:
        what = "a parcel missing?" if difference < 0 else "an extra parcel?"
        side = "light" if difference < 0 else "heavy"
        reason = f"{figures}: {abs(difference):.3f} kg {side}, {what}"
        return WeightVerdict(False, expected, measured_kg, difference, allowed, reason, unmeasured)
    return WeightVerdict(True, expected, measured_kg, difference, allowed, figures, unmeasured)

"""The frame a camera over the scan field sees for a parcel (or for the empty belt).

Reader outcomes map to what is physically on the parcel:

* ``ok``, ``late_answer`` - one readable label (``late_answer`` is a slow HTTP reply);
* ``no_read`` - no label at all, or (every other parcel) a destroyed label;
* ``multi_label`` - a second, different label elsewhere on the box;
* ``duplicate_read`` - the same label stuck on twice;
* ``garbled`` - a heavily damaged label (unreadable).

Each parcel's rotation, positions and damage come from a generator seeded with the
tracking id, so the same parcel always gives the same frame.
"""

from __future__ import annotations

import numpy as np

from simulators.camera.labels import render_label
from simulators.camera.scene import FRAME_SIZE, Distortion, Placement, render_frame
from simulators.parcels import ParcelSpec, ReaderOutcome

DESTROYED = 0.9
"""Damage level of an unreadable label (see :func:`simulators.camera.scene.damage_label`)."""


def parcel_placements(
    spec: ParcelSpec,
    symbology: str,
    rng: np.random.Generator,
    *,
    module_px: int = 3,
    random_angle: bool = True,
) -> list[Placement]:
    """The labels on this parcel, with their positions, angles and damage."""

    def angle() -> float:
        return float(rng.uniform(0, 360)) if random_angle else 0.0

    outcome = spec.reader_outcome
    if outcome is ReaderOutcome.NO_READ:
        if spec.tracking_id % 2:
            return []
        return [
            Placement(
                render_label(spec.barcode, symbology, module_px), (0.5, 0.5), angle(), DESTROYED
            )
        ]
    if outcome is ReaderOutcome.GARBLED:
        return [
            Placement(render_label(spec.barcode, symbology, module_px), (0.5, 0.5), angle(), 1.0)
        ]
    labels = [spec.barcode]
    if outcome is ReaderOutcome.MULTI_LABEL and spec.second_label is not None:
        labels.append(spec.second_label)
    elif outcome is ReaderOutcome.DUPLICATE_READ:
        labels.append(spec.barcode)
    if len(labels) == 1:
        centre = (float(rng.uniform(0.42, 0.58)), float(rng.uniform(0.42, 0.58)))
        return [Placement(render_label(labels[0], symbology, module_px), centre, angle())]
    small = max(2, module_px - 1)  # two labels must fit side by side
    centres = [(0.3, 0.32), (0.7, 0.7)]
    return [
        Placement(render_label(code, symbology, small), centre, angle())
        for code, centre in zip(labels, centres, strict=False)
    ]


def parcel_frame(
    spec: ParcelSpec | None,
    symbology: str = "code128",
    *,
    size: tuple[int, int] = FRAME_SIZE,
    module_px: int = 3,
    random_angle: bool = True,
    distortion: Distortion | None = None,
    seed: int = 0,
) -> np.ndarray:
    """The grayscale frame for this parcel, or the empty belt for ``None``."""
    distortion = distortion or Distortion()
    if spec is None:
        return render_frame([], distortion, size=size, seed=seed, parcel=False)
    rng = np.random.default_rng([seed, spec.tracking_id])
    placements = parcel_placements(
        spec, symbology, rng, module_px=module_px, random_angle=random_angle
    )
    return render_frame(placements, distortion, size=size, seed=seed + spec.tracking_id)

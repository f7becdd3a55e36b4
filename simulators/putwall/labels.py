"""What the wall operator reads on a printed container label.

A label here is anything with ``fields`` of ``x``, ``y``, ``kind`` (``text`` or
``code128``) and ``data``, as :class:`simulators.zpl_check.PrintedLabel` records them.
A value is found by its caption: in the same field (``CUBBY W1-03``) or, as
``controller.printing.zpl`` lays a label out, in the field printed right below the
caption (same x, the next y down).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol


class LabelField(Protocol):
    """A printed field (``simulators.zpl_check.Field``)."""

    x: int
    y: int
    kind: str
    data: str


class Label(Protocol):
    """A printed label (``simulators.zpl_check.PrintedLabel``)."""

    @property
    def fields(self) -> Sequence[LabelField]:
        """Its fields."""
        ...


def label_value(label: Label, caption: str) -> str | None:
    """The text after ``caption``: in the same field (``CUBBY W1-03``) or the field
    printed right below the caption (same x, the next y down)."""
    texts = [f for f in label.fields if f.kind == "text"]
    for f in texts:
        if f.data.startswith(caption + " "):
            return f.data[len(caption) + 1 :].strip()
    for cap in texts:
        if cap.data.strip() == caption:
            below = [f for f in texts if abs(f.x - cap.x) <= 2 and f.y > cap.y]
            if below:
                return min(below, key=lambda f: f.y).data.strip()
    return None


def label_barcode(label: Label) -> str | None:
    """The data of the label's first Code 128."""
    return next((f.data for f in label.fields if f.kind == "code128"), None)


def parse_stops(text: str | None) -> tuple[int, ...]:
    """``"1-3, 5"`` -> ``(1, 2, 3, 5)``; anything unreadable is skipped."""
    stops: set[int] = set()
    for part in (text or "").split(","):
        if m := re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part):
            first, last = int(m[1]), int(m[2] or m[1])
            stops.update(range(first, last + 1))
    return tuple(sorted(stops))

"""What the PLC link and the tunnel work with, built by the line controller."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from controller.journal.images import ImageStore
from controller.journal.writer import Journal
from controller.line.reader_link import ReaderLink
from controller.line.tunnel_link import DimensionerLink, ScaleLink
from controller.packml.history import LineStates
from controller.parcels.decision import RouteLookup, SortPlan
from controller.parcels.state import ParcelTracker
from plc_configs.schema import LineConfig


@dataclass
class LineParts:
    """What the PLC link works with, built by the line controller."""

    config: LineConfig
    tracker: ParcelTracker
    journal: Journal
    plan: SortPlan
    readers: list[ReaderLink]
    manifest: RouteLookup
    spawn: Callable[[Coroutine[Any, Any, None]], Any]
    scales: list[ScaleLink] = field(default_factory=list)
    dimensioners: list[DimensionerLink] = field(default_factory=list)
    line_states: LineStates | None = None
    """The line-state history: told of every PackML state change and link loss."""
    images: ImageStore | None = None
    """Where the cameras' images of each parcel are kept (None: not kept)."""

    @property
    def measures(self) -> bool:
        """True when the tunnel has a scale or a dimensioner."""
        return bool(self.scales or self.dimensioners)

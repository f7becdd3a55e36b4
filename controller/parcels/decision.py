"""The decision: barcode(s) -> parcel id -> route -> chute, or the reject chute with a reason.

Pure and synchronous: no I/O, no clock. The PLC link calls :func:`decide` with
everything it knows about a parcel and writes the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class RouteLookup(Protocol):
    """Barcode -> route (the manifest); ``default`` when the barcode is unknown."""

    def get(self, barcode: str, default: None = None, /) -> str | None:
        """The route of ``barcode``."""
        ...


class RejectReason(StrEnum):
    """Why a parcel went to the reject (exception) chute, or was not sorted."""

    NO_READ = "no_read"
    MULTIPLE_LABELS = "multiple_labels"
    NO_ROUTE = "no_route"
    UNKNOWN_PARCEL = "unknown_parcel"
    CHUTE_FULL = "chute_full"
    CHUTE_DISABLED = "chute_disabled"
    ANSWER_TOO_LATE = "answer_too_late"
    DEVICE_FAULT = "device_fault"
    INVALID_ANSWER = "invalid_answer"
    DUPLICATE_BARCODE = "duplicate_barcode"
    MISSING_WEIGHT = "missing_weight"
    UNSTABLE_WEIGHT = "unstable_weight"
    OVER_MAX_WEIGHT = "over_max_weight"
    MISSING_DIMENSIONS = "missing_dimensions"
    OVERSIZE = "oversize"
    NOT_LEGAL_FOR_TRADE = "not_legal_for_trade"
    RECIRCULATED = "recirculated"


@dataclass(frozen=True, slots=True)
class Identification:
    """The outcome of identifying a parcel: its barcode, or why there is none."""

    barcode: str | None
    reason: RejectReason | None = None
    detail: str = ""
    postal_code: str | None = None
    label: str | None = None
    """The label pattern that matched (``labels.patterns``), if any."""


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a parcel goes. ``reason`` is set exactly when ``chute`` is the reject chute."""

    chute: int
    route: str | None
    reason: RejectReason | None
    detail: str = ""

    @property
    def rejected(self) -> bool:
        """True when the parcel goes to the reject chute."""
        return self.reason is not None


class SortPlan:
    """Route -> chutes in order of preference (the active sort plan)."""

    def __init__(self, plan: Mapping[str, Sequence[int]], reject_chute: int, version: int = 1):
        self._plan = {route: tuple(chutes) for route, chutes in plan.items()}
        self.reject_chute = reject_chute
        self.version = version

    def replace(self, plan: Mapping[str, Sequence[int]], version: int) -> None:
        """Make ``plan`` the active plan (validated by the caller), in one step."""
        self._plan = {route: tuple(chutes) for route, chutes in plan.items()}
        self.version = version

    def as_dict(self) -> dict[str, list[int]]:
        """The plan as route -> chutes, for display and storage."""
        return {route: list(chutes) for route, chutes in self._plan.items()}

    def chutes_of(self, route: str) -> tuple[int, ...]:
        """The chutes bound to ``route`` (empty if the route is not in the plan)."""
        return self._plan.get(route, ())

    @property
    def routes(self) -> tuple[str, ...]:
        """Every route in the plan."""
        return tuple(self._plan)

    def choose(
        self, route: str, full: frozenset[int], disabled: frozenset[int]
    ) -> tuple[int | None, RejectReason | None, str]:
        """First chute of ``route`` that is neither full nor disabled, else why not."""
        chutes = self.chutes_of(route)
        if not chutes:
            return None, RejectReason.NO_ROUTE, f"route {route} has no chute in the sort plan"
        for chute in chutes:
            if chute not in full and chute not in disabled:
                return chute, None, ""
        if any(c in full for c in chutes):
            return None, RejectReason.CHUTE_FULL, f"chutes {list(chutes)} of {route} full"
        return None, RejectReason.CHUTE_DISABLED, f"chutes {list(chutes)} of {route} disabled"


def decide(
    identification: Identification,
    routes: RouteLookup | Mapping[str, str] | None,
    plan: SortPlan,
    full: frozenset[int],
    disabled: frozenset[int],
    route_for_postal: Callable[[str | None], str | None] | None = None,
) -> Decision:
    """Barcode -> route (manifest, else the postal-code rules) -> chute, or a typed reject."""
    reject = plan.reject_chute
    if identification.barcode is None:
        reason = identification.reason or RejectReason.NO_READ
        return Decision(reject, None, reason, identification.detail)
    route = routes.get(identification.barcode) if routes is not None else None
    if route is None and route_for_postal is not None:
        route = route_for_postal(identification.postal_code)
    if route is None:
        postal = identification.postal_code
        why = f"{identification.barcode} not in the manifest" + (
            f" and no route rule for postal code {postal}" if postal else ""
        )
        return Decision(reject, None, RejectReason.NO_ROUTE, why)
    chute, reason, detail = plan.choose(route, full, disabled)
    if chute is None:
        return Decision(reject, route, reason, detail)
    return Decision(chute, route, None)


def reject(plan: SortPlan, reason: RejectReason, detail: str = "") -> Decision:
    """A decision to send a parcel to the reject chute for ``reason``."""
    return Decision(plan.reject_chute, None, reason, detail)

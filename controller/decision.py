"""The decision: barcode(s) -> parcel id -> route -> chute, or the reject chute with a reason.

Pure and synchronous: no I/O, no clock. The PLC link calls :func:`decide` with
everything it knows about a parcel and writes the answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from drivers.barcode.base import BarcodeRead


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


def identify(symbols: Iterable[BarcodeRead]) -> Identification:
    """Pick the parcel's barcode from what was read.

    The same label read twice is one read; two different labels on one parcel is
    the multi-label case, never resolved by guessing.
    """
    distinct = list(dict.fromkeys(s.data for s in symbols if s.data))
    if not distinct:
        return Identification(None, RejectReason.NO_READ, "no symbol read")
    if len(distinct) > 1:
        return Identification(
            None, RejectReason.MULTIPLE_LABELS, f"different labels: {', '.join(distinct)}"
        )
    return Identification(distinct[0])


class SortPlan:
    """Route -> chutes in order of preference (the active sort plan)."""

    def __init__(self, plan: Mapping[str, Sequence[int]], reject_chute: int):
        self._plan = {route: tuple(chutes) for route, chutes in plan.items()}
        self.reject_chute = reject_chute

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
    routes: Mapping[str, str] | None,
    plan: SortPlan,
    full: frozenset[int],
    disabled: frozenset[int],
) -> Decision:
    """Barcode -> route (manifest) -> chute (sort plan), or reject with a typed reason."""
    reject = plan.reject_chute
    if identification.barcode is None:
        reason = identification.reason or RejectReason.NO_READ
        return Decision(reject, None, reason, identification.detail)
    route = routes.get(identification.barcode) if routes is not None else None
    if route is None:
        return Decision(
            reject, None, RejectReason.NO_ROUTE, f"{identification.barcode} not in the manifest"
        )
    chute, reason, detail = plan.choose(route, full, disabled)
    if chute is None:
        return Decision(reject, route, reason, detail)
    return Decision(chute, route, None)


def reject(plan: SortPlan, reason: RejectReason, detail: str = "") -> Decision:
    """A decision to send a parcel to the reject chute for ``reason``."""
    return Decision(plan.reject_chute, None, reason, detail)

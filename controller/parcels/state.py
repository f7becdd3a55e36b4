"""The parcel state machine and the tracker of parcels on the belt.

::

    inducted ──► identified ──► assigned ──► sorted     (diverted into its chute, confirmed)
        │            │             ├───────► rejected   (reject chute, with a reason)
        └────────────┴─────────────┴───────► lost       (no confirmation, or the PLC lost it)

Pure and synchronous: every method takes the time as an argument and returns
the :class:`ParcelEvent` records to journal. A parcel reaches exactly one
terminal state; a repeated confirmation (after a reconnect) changes nothing.
Parcels are keyed by the PLC's tracking id, never by FIFO position.

After a restart the parcels an earlier run left open (on the belt when the
controller stopped or crashed) are taken back from the journal
(:mod:`controller.parcels.resume`): they keep their journal session and uid, so their
confirmation closes the record the earlier run opened and the TMS sees one parcel
id with one terminal event.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from controller.parcels.decision import Decision, Identification, RejectReason
from controller.parcels.measurement import Measurement
from plc_configs.contract import SortResult


class ParcelState(StrEnum):
    """Where a parcel is in its life on the line."""

    INDUCTED = "inducted"
    IDENTIFIED = "identified"
    ASSIGNED = "assigned"
    SORTED = "sorted"
    REJECTED = "rejected"
    LOST = "lost"


TERMINAL_STATES = frozenset({ParcelState.SORTED, ParcelState.REJECTED, ParcelState.LOST})

KEEP_TERMINAL = 5000
"""Finished parcels the tracker remembers, to recognise a repeated confirmation."""

_RESULT_REASONS = {
    SortResult.NO_ANSWER: RejectReason.ANSWER_TOO_LATE,
    SortResult.CHUTE_FULL: RejectReason.CHUTE_FULL,
    SortResult.CHUTE_DISABLED: RejectReason.CHUTE_DISABLED,
    SortResult.INVALID_ANSWER: RejectReason.INVALID_ANSWER,
    SortResult.RECIRCULATED: RejectReason.RECIRCULATED,
}


@dataclass(frozen=True, slots=True)
class ParcelEvent:
    """One journal record: something happened to a parcel."""

    time: float
    uid: int
    tracking_id: int
    kind: str
    state: ParcelState
    barcode: str | None = None
    route: str | None = None
    chute: int | None = None
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    session: int | None = None
    """The journal session that opened the parcel's record; None: the running one."""

    @property
    def terminal(self) -> bool:
        """True for the one event that ends the parcel's life."""
        return self.state in TERMINAL_STATES and self.kind == "terminal"


@dataclass(slots=True)
class Parcel:
    """What the controller knows about one parcel."""

    uid: int
    tracking_id: int
    state: ParcelState
    inducted_at: float
    barcode: str | None = None
    symbols: tuple[tuple[str, str, str], ...] = ()
    """Every symbol read: (data, AIM symbology, reader)."""
    identification: Identification | None = None
    decision: Decision | None = None
    request_seen_at: float | None = None
    answered_at: float | None = None
    landed_chute: int | None = None
    reason: RejectReason | None = None
    measurement: Measurement | None = None
    session: int | None = None
    """The journal session that opened the record (a parcel resumed after a restart);
    None: the running session."""

    @property
    def terminal(self) -> bool:
        """True once sorted, rejected or lost."""
        return self.state in TERMINAL_STATES


class ParcelTracker:
    """Parcels by tracking id, from induction to their one terminal state."""

    def __init__(self, keep_terminal: int = KEEP_TERMINAL):
        self._active: dict[int, Parcel] = {}
        self._finished: OrderedDict[int, Parcel] = OrderedDict()
        self._keep_terminal = keep_terminal
        self._next_uid = 1
        self._barcodes: dict[str, int] = {}
        self.duplicate_confirmations = 0
        self.counts: dict[str, int] = {s.value: 0 for s in ParcelState}
        self.reasons: dict[str, int] = {}
        self.per_chute: dict[int, int] = {}
        """Parcels that landed in each chute (sorted and rejected), this session."""
        self.per_route: dict[str, int] = {}
        """Parcels answered for each route (sorted or not), this session: the arrived
        volume the re-planning triggers compare with the planned one."""

    def __len__(self) -> int:
        return len(self._active)

    def get(self, tracking_id: int) -> Parcel | None:
        """The parcel with this tracking id, active or recently finished."""
        return self._active.get(tracking_id) or self._finished.get(tracking_id)

    def active(self) -> list[Parcel]:
        """Parcels on the belt that have no terminal state yet."""
        return list(self._active.values())

    def _new(
        self, tracking_id: int, now: float, not_scanned: str | None = None
    ) -> tuple[Parcel, list[ParcelEvent]]:
        """Start a parcel for a tracking id that is not on the belt.

        ``not_scanned`` names what made the parcel known when the PLC never reported it
        in the scan tunnel (kept in the event's detail: the read rate leaves it out).
        """
        parcel = Parcel(self._next_uid, tracking_id, ParcelState.INDUCTED, now)
        self._next_uid += 1
        self._active[tracking_id] = parcel
        self.counts[ParcelState.INDUCTED.value] += 1
        detail = {"not_scanned": not_scanned} if not_scanned else None
        return parcel, [self._event(parcel, now, "inducted", detail)]

    def _event(
        self,
        parcel: Parcel,
        now: float,
        kind: str,
        detail: dict[str, Any] | None = None,
        chute: int | None = None,
    ) -> ParcelEvent:
        decision = parcel.decision
        return ParcelEvent(
            time=now,
            uid=parcel.uid,
            tracking_id=parcel.tracking_id,
            kind=kind,
            state=parcel.state,
            barcode=parcel.barcode,
            route=decision.route if decision else None,
            chute=chute,
            reason=parcel.reason.value if parcel.reason else None,
            detail=detail or {},
            session=parcel.session,
        )

    def on_scan(
        self,
        tracking_id: int,
        now: float,
        *,
        backlog: bool = True,
        not_scanned: str | None = None,
    ) -> tuple[Parcel, list[ParcelEvent]]:
        """The PLC reports a parcel in the scan tunnel: a new parcel.

        ``backlog``: the report may have been delivered before (the first read after a
        connect brings every entry not yet acknowledged, and entries a full ring held
        back come late), so a known tracking id is a repeat and changes nothing. A report
        that is not a backlog is a parcel that just entered the tunnel: if the PLC used
        its tracking id before, the earlier parcel still open is closed as lost and a new
        one starts. ``not_scanned``: why the readers were not triggered for it (kept in
        the ``inducted`` event; the read rate leaves such parcels out).
        """
        existing = self.get(tracking_id)
        events: list[ParcelEvent] = []
        if existing is not None:
            if backlog:
                return existing, []
            if not existing.terminal:
                why = (
                    f"the PLC reported tracking id {tracking_id} again for a parcel entering "
                    "the scan tunnel; this one was never confirmed"
                )
                events.append(
                    self.finish(existing, ParcelState.LOST, None, None, now, {"why": why})
                )
        parcel, started = self._new(tracking_id, now, not_scanned)
        return parcel, events + started

    def on_identified(
        self,
        parcel: Parcel,
        identification: Identification,
        symbols: tuple[tuple[str, str, str], ...],
        raw: str,
        now: float,
    ) -> list[ParcelEvent]:
        """The readers answered (or failed); record what was read."""
        if parcel.state is not ParcelState.INDUCTED:
            return []
        if identification.barcode is not None:
            holder = self._barcodes.get(identification.barcode)
            if holder is not None and holder != parcel.tracking_id:
                # A label belongs to one parcel: the reader saw a neighbour, or two parcels
                # carry the same label. Either way this parcel cannot be sorted by it.
                identification = Identification(
                    None,
                    RejectReason.DUPLICATE_BARCODE,
                    f"label {identification.barcode} was also read on tracking id {holder}, "
                    "still on the belt",
                )
            else:
                self._barcodes[identification.barcode] = parcel.tracking_id
        parcel.identification = identification
        parcel.barcode = identification.barcode
        parcel.symbols = symbols
        parcel.state = ParcelState.IDENTIFIED
        self.counts[ParcelState.IDENTIFIED.value] += 1
        detail: dict[str, Any] = {
            "symbols": [{"data": d, "symbology": s, "device": dev} for d, s, dev in symbols],
            "raw": raw,
        }
        if identification.label:
            detail["label"] = identification.label
        if identification.postal_code:
            detail["postal_code"] = identification.postal_code
        if identification.reason:
            detail["problem"] = identification.reason.value
            detail["why"] = identification.detail
        return [self._event(parcel, now, "identified", detail)]

    def on_measured(
        self, parcel: Parcel, measurement: Measurement, now: float
    ) -> list[ParcelEvent]:
        """The tunnel's scales and dimensioners answered (or failed); record it all."""
        if parcel.terminal or parcel.measurement is not None:
            return []
        parcel.measurement = measurement
        return [self._event(parcel, now, "measured", measurement.to_detail())]

    def on_request(self, tracking_id: int, now: float) -> tuple[Parcel, list[ParcelEvent]]:
        """The PLC asks for a destination; an unseen tracking id is an unknown parcel.

        A request for a parcel that already has its terminal state is the PLC's mailbox
        still showing an expired request (seen after a link outage): the finished parcel
        is returned, unchanged.
        """
        events: list[ParcelEvent] = []
        parcel = self.get(tracking_id)
        if parcel is not None and parcel.terminal:
            return parcel, events
        if parcel is None:
            parcel, events = self._new(tracking_id, now, "destination request")
            parcel.identification = Identification(
                None, RejectReason.UNKNOWN_PARCEL, "no scan event for this tracking id"
            )
        if parcel.request_seen_at is None:
            parcel.request_seen_at = now
        return parcel, events

    def on_answered(
        self, parcel: Parcel, decision: Decision, now: float, plan_version: int | None = None
    ) -> list[ParcelEvent]:
        """The destination answer reached the PLC (decided with sort plan ``plan_version``)."""
        if parcel.terminal or parcel.state is ParcelState.ASSIGNED:
            return []
        parcel.decision = decision
        parcel.answered_at = now
        parcel.state = ParcelState.ASSIGNED
        parcel.reason = decision.reason
        self.counts[ParcelState.ASSIGNED.value] += 1
        if (route := decision.route) is not None:
            self.per_route[route] = self.per_route.get(route, 0) + 1
        latency = (now - parcel.request_seen_at) * 1000 if parcel.request_seen_at else None
        detail: dict[str, Any] = {"answer_ms": latency}
        if plan_version is not None:
            detail["plan_version"] = plan_version
        if decision.detail:
            detail["why"] = decision.detail
        return [self._event(parcel, now, "assigned", detail, chute=decision.chute)]

    def on_confirmation(
        self, tracking_id: int, chute: int, result: SortResult, now: float
    ) -> list[ParcelEvent]:
        """The PLC reports where the parcel went; the parcel reaches its terminal state."""
        parcel = self._active.get(tracking_id)
        events: list[ParcelEvent] = []
        if parcel is None:
            if tracking_id in self._finished:
                self.duplicate_confirmations += 1
                return []
            parcel, events = self._new(tracking_id, now, "sort confirmation")
        detail: dict[str, Any] = {"plc_result": result.name}
        if result is SortResult.DIVERTED:
            state, reason = ParcelState.SORTED, None
            answered = parcel.decision.chute if parcel.decision else None
            if answered is not None and answered != chute:
                detail["anomaly"] = f"PLC diverted to {chute}, the answer was {answered}"
        elif result is SortResult.LOST:
            state, reason = ParcelState.LOST, None
        elif result is SortResult.REJECT_REQUESTED:
            state = ParcelState.REJECTED
            reason = parcel.reason or (
                parcel.decision.reason if parcel.decision else RejectReason.UNKNOWN_PARCEL
            )
        else:
            state, reason = ParcelState.REJECTED, _RESULT_REASONS[result]
        events.append(self.finish(parcel, state, reason, chute, now, detail))
        return events

    def adopt(self, parcel: Parcel) -> None:
        """Put a parcel an earlier run knew back on the belt (:mod:`controller.parcels.resume`)."""
        self._active[parcel.tracking_id] = parcel
        if parcel.barcode is not None:
            self._barcodes[parcel.barcode] = parcel.tracking_id

    def remember(self, parcel: Parcel) -> None:
        """Know a parcel an earlier run finished, unless its tracking id is known already."""
        tid = parcel.tracking_id
        if tid not in self._active and tid not in self._finished:
            self._finished[tid] = parcel
            while len(self._finished) > self._keep_terminal:
                self._finished.popitem(last=False)

    def finish(
        self,
        parcel: Parcel,
        state: ParcelState,
        reason: RejectReason | None,
        chute: int | None,
        now: float,
        detail: dict[str, Any],
    ) -> ParcelEvent:
        """End ``parcel``'s life: its one terminal event."""
        parcel.state = state
        parcel.reason = reason
        parcel.landed_chute = chute
        self.counts[state.value] += 1
        if chute is not None:
            self.per_chute[chute] = self.per_chute.get(chute, 0) + 1
        if reason is not None:
            self.reasons[reason.value] = self.reasons.get(reason.value, 0) + 1
        self._active.pop(parcel.tracking_id, None)
        if parcel.barcode is not None and self._barcodes.get(parcel.barcode) == parcel.tracking_id:
            del self._barcodes[parcel.barcode]
        self._finished[parcel.tracking_id] = parcel
        while len(self._finished) > self._keep_terminal:
            self._finished.popitem(last=False)
        return self._event(parcel, now, "terminal", detail, chute=chute)

    def sweep_lost(self, now: float, lost_after_s: float) -> list[ParcelEvent]:
        """Parcels with no confirmation ``lost_after_s`` after they were last heard of."""
        events = []
        for parcel in list(self._active.values()):
            last = parcel.answered_at or parcel.request_seen_at or parcel.inducted_at
            if now - last > lost_after_s:
                events.append(
                    self.finish(
                        parcel,
                        ParcelState.LOST,
                        None,
                        None,
                        now,
                        {"why": f"no confirmation {lost_after_s:.0f} s after last news"},
                    )
                )
        return events

"""After a restart: take back the parcels an earlier run of the controller left on the belt.

A controller that is killed (power cut, ``kill -9``, a crash) leaves the parcels then on
the belt with a record and no terminal state, and the PLC goes on with them: their
confirmations wait in its ring. :func:`resume_open` puts them back on the belt under
their own journal session and uid, so a confirmation closes the record the earlier run
opened (one parcel id, one terminal event upstream) with the reason that run decided.
:func:`remember_finished` makes the parcels closed shortly before the crash known, so a
confirmation the PLC delivers again (the crash came before it was acknowledged) is a
repeat and not a new, unknown parcel.

Pure and synchronous like :mod:`controller.parcels.state`; the journal is read by
:mod:`controller.journal.open_parcels`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controller.parcels.decision import Decision, Identification, RejectReason
from controller.parcels.measurement import Measurement
from controller.parcels.state import Parcel, ParcelEvent, ParcelState, ParcelTracker

STOPPED = "the controller stopped before the tunnel's devices answered"


@dataclass(frozen=True, slots=True)
class OpenRecord:
    """A parcel record of an earlier run, as the journal has it."""

    session: int
    uid: int
    tracking_id: int
    state: ParcelState
    updated: float
    """Wall-clock time (epoch s) of the record's last event."""
    barcode: str | None = None
    route: str | None = None
    chute: int | None = None
    reason: str | None = None
    identified: dict[str, Any] | None = None
    """The detail of its ``identified`` event, if it had one."""
    measured: dict[str, Any] | None = None
    """The detail of its ``measured`` event, if it had one."""
    why: str = ""
    """The decision's explanation (its ``assigned`` event)."""


def _parcel_of(record: OpenRecord, now: float) -> Parcel:
    parcel = Parcel(
        record.uid,
        record.tracking_id,
        record.state,
        now,
        barcode=record.barcode,
        session=record.session,
        landed_chute=record.chute if record.state is not ParcelState.ASSIGNED else None,
    )
    if record.state is ParcelState.ASSIGNED and record.chute is not None:
        reason = RejectReason(record.reason) if record.reason else None
        parcel.decision = Decision(record.chute, record.route, reason, record.why)
        parcel.reason = reason
        parcel.answered_at = now
    return parcel


def remember_finished(tracker: ParcelTracker, records: list[OpenRecord]) -> None:
    """Parcels an earlier run closed (newest first): a confirmation the PLC delivers again
    for one of them is a repeat, and a request for one an expired request."""
    for record in reversed(records):
        tracker.remember(_parcel_of(record, 0.0))


def resume_open(
    tracker: ParcelTracker,
    records: list[OpenRecord],
    now: float,
    wall_now: float,
    resume_s: float,
    measures: bool,
) -> list[ParcelEvent]:
    """Take back the parcels an earlier run left open; the events that records.

    A record whose last event is older than ``resume_s`` (wall clock) is closed as lost,
    and of two open records with one tracking id the older is. The others go back on the
    belt: a confirmation closes them, a repeated request is answered with their decision,
    and without news they are lost ``lost_after_s`` after now like any parcel. One whose
    readers or devices had not answered when the controller stopped gets that as reason.
    """
    events: list[ParcelEvent] = []
    newest: dict[int, OpenRecord] = {}
    for record in sorted(records, key=lambda r: (r.updated, r.session, r.uid)):
        if (older := newest.get(record.tracking_id)) is not None:
            why = f"tracking id {older.tracking_id} was used again by a later parcel"
            events.append(_lost(tracker, older, now, why))
        newest[record.tracking_id] = record
    for record in newest.values():
        age = wall_now - record.updated
        if age > resume_s:
            why = (
                f"open when the controller stopped; no news for {age:.0f} s (a restart "
                f"resumes parcels heard of in the last {resume_s:.0f} s)"
            )
            events.append(_lost(tracker, record, now, why))
        else:
            events += _resume_one(tracker, record, now, measures)
    return events


def _lost(tracker: ParcelTracker, record: OpenRecord, now: float, why: str) -> ParcelEvent:
    parcel = _parcel_of(record, now)
    return tracker.finish(parcel, ParcelState.LOST, None, None, now, {"why": why})


def _resume_one(
    tracker: ParcelTracker, record: OpenRecord, now: float, measures: bool
) -> list[ParcelEvent]:
    parcel = _parcel_of(record, now)
    tracker.adopt(parcel)
    if record.identified is not None:
        problem = record.identified.get("problem")
        parcel.identification = Identification(
            record.barcode,
            RejectReason(problem) if problem else None,
            record.identified.get("why", ""),
            record.identified.get("postal_code"),
            record.identified.get("label"),
        )
    if record.measured is not None:
        parcel.measurement = Measurement.from_detail(record.measured)
    if parcel.decision is not None:
        return []
    events: list[ParcelEvent] = []
    if parcel.identification is None:
        parcel.state = ParcelState.INDUCTED
        no_read = Identification(None, RejectReason.NO_READ, STOPPED)
        events += tracker.on_identified(parcel, no_read, (), "", now)
    if measures and parcel.measurement is None:
        missing = Measurement(weight_error=STOPPED, dimensions_error=STOPPED)
        events += tracker.on_measured(parcel, missing, now)
    return events

"""Incident policies: what a reject reason triggers besides the reject itself."""

from __future__ import annotations

from dataclasses import dataclass

from controller.parcels.decision import RejectReason
from plc_configs.schema import IncidentAction, IncidentPolicies

_INCIDENT_OF = {
    RejectReason.NO_READ: "no_read",
    RejectReason.MULTIPLE_LABELS: "multiple_labels",
    RejectReason.DUPLICATE_BARCODE: "multiple_labels",
    RejectReason.NO_ROUTE: "no_route",
    RejectReason.UNKNOWN_PARCEL: "unknown_parcel",
    RejectReason.CHUTE_FULL: "chute_full",
    RejectReason.CHUTE_DISABLED: "chute_disabled",
    RejectReason.ANSWER_TOO_LATE: "answer_too_late",
    RejectReason.DEVICE_FAULT: "device_fault",
    RejectReason.INVALID_ANSWER: "device_fault",
    RejectReason.MISSING_WEIGHT: "missing_weight",
    RejectReason.UNSTABLE_WEIGHT: "unstable_weight",
    RejectReason.OVER_MAX_WEIGHT: "over_max_weight",
    RejectReason.MISSING_DIMENSIONS: "missing_dimensions",
    RejectReason.OVERSIZE: "oversize",
    RejectReason.NOT_LEGAL_FOR_TRADE: "not_legal_for_trade",
}


@dataclass(frozen=True, slots=True)
class IncidentResponse:
    """What to do about one incident."""

    incident: str
    alarm: bool
    reject: bool
    stop_line: bool


def respond(reason: RejectReason, policies: IncidentPolicies) -> IncidentResponse | None:
    """The response the configured policy asks for, or None for reasons that are not incidents."""
    incident = _INCIDENT_OF.get(reason)
    if incident is None:
        return None
    action: IncidentAction = getattr(policies, incident)
    return IncidentResponse(
        incident,
        alarm=action in (IncidentAction.ALARM, IncidentAction.STOP),
        reject=action in (IncidentAction.REJECT, IncidentAction.STOP),
        stop_line=action is IncidentAction.STOP,
    )

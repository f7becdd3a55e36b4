"""Instant actions sent until the vehicle shows them.

An instant action (``cancelOrder``, ``startPause``/``stopPause``, ``factsheetRequest``,
``initPosition``, ``stopCharging`` …) goes out at QoS 0 and may be lost. It counts as
seen once its ``actionId`` appears in the vehicle's ``actionStates``, or in an error's
references (a vehicle may answer a refused instant action only with an error, e.g.
``noOrderToCancel``, VDA 5050 6.6.3.2); until then it is sent again every ``resend_s``,
at most ``tries`` times, then given up (the service raises an alarm).
"""

from __future__ import annotations

from dataclasses import dataclass

from plc_configs.vda5050.messages import Action, VehicleError

TERMINAL = frozenset({"FINISHED", "FAILED"})


@dataclass
class PendingAction:
    """One instant action to one vehicle."""

    vehicle: str
    action: Action
    sent_at: float
    tries: int = 1
    seen: bool = False
    status: str | None = None
    """Its last ``actionStatus`` (or ``ERROR`` when only an error named it)."""
    error: str | None = None
    purpose: str = ""
    """What it is for (``cancel:<task>``, ``pause``, ``charge-end`` …): the service's key."""

    @property
    def done(self) -> bool:
        """FINISHED, FAILED, or answered by an error."""
        return self.status in TERMINAL or self.error is not None


class InstantActions:
    """The instant actions in flight."""

    def __init__(self, resend_s: float, tries: int):
        self.resend_s = resend_s
        self.tries = tries
        self.pending: dict[str, PendingAction] = {}
        """actionId -> its entry, until done or given up."""

    def add(self, vehicle: str, action: Action, now: float, purpose: str = "") -> PendingAction:
        """Track an action just sent."""
        entry = PendingAction(vehicle, action, now, purpose=purpose)
        self.pending[action.action_id] = entry
        return entry

    def on_status(self, vehicle: str, action_id: str, status: str) -> PendingAction | None:
        """An ``actionStates`` entry changed; the tracked action if it is ours."""
        entry = self.pending.get(action_id)
        if entry is None or entry.vehicle != vehicle:
            return None
        entry.seen = True
        entry.status = status
        if entry.done:
            del self.pending[action_id]
        return entry

    def on_error(self, vehicle: str, error: VehicleError) -> PendingAction | None:
        """An error appeared; the tracked action it references, if any (then done)."""
        action_id = error.reference("actionId")
        entry = self.pending.get(action_id or "")
        if entry is None or entry.vehicle != vehicle:
            return None
        entry.seen = True
        entry.error = error.error_type
        entry.status = "FAILED"
        del self.pending[entry.action.action_id]
        return entry

    def due(self, now: float) -> tuple[list[PendingAction], list[PendingAction]]:
        """``(to send again, given up)``: unseen actions older than ``resend_s``; those past
        ``tries`` are given up and forgotten."""
        again: list[PendingAction] = []
        gave_up: list[PendingAction] = []
        for action_id, entry in list(self.pending.items()):
            if entry.seen or now - entry.sent_at < self.resend_s:
                continue
            if entry.tries >= self.tries:
                gave_up.append(entry)
                del self.pending[action_id]
            else:
                entry.tries += 1
                entry.sent_at = now
                again.append(entry)
        return again, gave_up

    def of(self, vehicle: str, purpose: str) -> PendingAction | None:
        """The pending action of ``vehicle`` for ``purpose``, if any."""
        for entry in self.pending.values():
            if entry.vehicle == vehicle and entry.purpose == purpose:
                return entry
        return None

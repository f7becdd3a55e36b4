"""What the reference TMS received: validation, idempotency, order checks, counters.

:class:`EventLedger` is the synchronous heart of the simulator, free of sockets:
the web handlers give it the raw body and the headers of every delivery and send
back the status and JSON it returns. See :mod:`simulators.tms` for the contract.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from plc_configs.webhook import EVENT_HEADER, IDEMPOTENCY_HEADER

PARCEL_TYPES = frozenset(
    {"parcel.measured", "parcel.sorted", "parcel.rejected", "parcel.lost", "parcel.put",
     "parcel.short"}
)  # fmt: skip
#: Events about a container (a chute's, or a put wall's tote), not a parcel: no
#: ``parcel_id``, no ``sequence``.
CONTAINER_TYPES = frozenset({"container.closed"})
#: Events about a truck's stop or the truck: a ``truck`` id, not ordered.
TRUCK_TYPES = frozenset({"stop.complete", "truck.loaded"})
EVENT_TYPES = PARCEL_TYPES | CONTAINER_TYPES | TRUCK_TYPES


def _malformed_reason(event: Any) -> str | None:
    """None when ``event`` has the fields the TMS needs to accept it, else why not."""
    if not isinstance(event, dict):
        return "body is not a JSON object"
    event_id = event.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        return "event_id: expected a non-empty string"
    if event.get("type") in CONTAINER_TYPES:
        return _container_malformed_reason(event)
    if event.get("type") in TRUCK_TYPES:
        truck = event.get("truck")
        return None if isinstance(truck, str) and truck else "truck: expected a non-empty string"
    parcel_id = event.get("parcel_id")
    if not isinstance(parcel_id, str) or not parcel_id:
        return "parcel_id: expected a non-empty string"
    sequence = event.get("sequence")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        return "sequence: expected an integer >= 1"
    return None


def _container_malformed_reason(event: dict[str, Any]) -> str | None:
    """None when a container event has its id, its chute (or put wall) and parcel list."""
    container_id = event.get("container_id")
    if not isinstance(container_id, str) or not container_id:
        return "container_id: expected a non-empty string"
    chute, wall = event.get("chute"), event.get("wall")
    if (not isinstance(chute, int) or isinstance(chute, bool)) and not (
        isinstance(wall, str) and wall
    ):
        return "chute: expected an integer (or wall: a put wall's id)"
    parcels = event.get("parcels")
    if not isinstance(parcels, list) or not all(isinstance(p, dict) for p in parcels):
        return "parcels: expected a list of objects"
    return None


class EventLedger:
    """Accepted webhook events in arrival order, with the counters of ``GET /stats``.

    ``events_file``, when given, receives one JSON line per accepted event
    (flushed at once, so another process can tail it); :meth:`reset` truncates it.
    """

    def __init__(self, events_file: Path | None = None) -> None:
        self.events_file = events_file
        self._file: IO[str] | None = None
        self.reset()

    def open(self) -> None:
        """Open ``events_file`` for appending (no-op without one)."""
        if self.events_file is not None and self._file is None:
            self.events_file.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.events_file.open("a", encoding="utf-8")

    def close(self) -> None:
        """Close ``events_file``."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def reset(self) -> None:
        """Forget every event and counter (and truncate ``events_file`` if open)."""
        self.records: list[dict[str, Any]] = []
        self._seen_ids: set[str] = set()
        self._last_sequence: dict[str, int] = {}
        self.duplicates = 0
        self.order_violations = 0
        self.sequence_gaps = 0
        self.bad_signatures = 0
        self.rejected_malformed = 0
        self.errors_answered = 0
        self.header_mismatches = 0
        self.by_type: Counter[str] = Counter()
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            self._file.flush()

    def receive(self, raw: bytes, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """Take one delivery (signature already checked); return the HTTP status and answer."""
        try:
            event = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            self.rejected_malformed += 1
            return 400, {"error": "malformed", "reason": f"body is not JSON: {err}"}
        reason = _malformed_reason(event)
        if reason is not None:
            self.rejected_malformed += 1
            return 400, {"error": "malformed", "reason": reason}
        event_id: str = event["event_id"]
        if event_id in self._seen_ids:
            self.duplicates += 1
            return 200, {"status": "duplicate", "event_id": event_id}
        self._seen_ids.add(event_id)

        order_violation = sequence_gap = False
        if event.get("type") in PARCEL_TYPES:  # order is checked per parcel
            parcel_id: str = event["parcel_id"]
            sequence: int = event["sequence"]
            last = self._last_sequence.get(parcel_id, 0)
            order_violation = sequence <= last
            sequence_gap = sequence > last + 1
            self.order_violations += order_violation
            self.sequence_gaps += sequence_gap
            self._last_sequence[parcel_id] = max(last, sequence)

        problems = []
        if headers.get(IDEMPOTENCY_HEADER) != event_id:
            problems.append(f"{IDEMPOTENCY_HEADER} is not the event_id")
        if headers.get(EVENT_HEADER) != event.get("type"):
            problems.append(f"{EVENT_HEADER} is not the type")
        if event.get("type") not in EVENT_TYPES:
            problems.append(f"unknown type {event.get('type')!r}")
        self.header_mismatches += bool(problems[:2])
        self.by_type[str(event.get("type"))] += 1

        record = {
            "index": len(self.records) + 1,
            "received_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "order_violation": order_violation,
            "sequence_gap": sequence_gap,
            "problems": problems,
            "event": event,
        }
        self.records.append(record)
        if self._file is not None:
            self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._file.flush()
        answer: dict[str, Any] = {"status": "accepted", "event_id": event_id}
        if order_violation:
            answer["order_violation"] = True
        if sequence_gap:
            answer["sequence_gap"] = True
        return 200, answer

    def events(self, after: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Accepted records with ``index > after`` (indices start at 1), oldest first."""
        selected = self.records[max(after, 0) :]
        return selected if limit is None else selected[:limit]

    def stats(self) -> dict[str, Any]:
        """The counters (without ``mode``, which the server adds)."""
        return {
            "received": len(self.records),
            "duplicates": self.duplicates,
            "order_violations": self.order_violations,
            "sequence_gaps": self.sequence_gaps,
            "bad_signatures": self.bad_signatures,
            "rejected_malformed": self.rejected_malformed,
            "errors_answered": self.errors_answered,
            "header_mismatches": self.header_mismatches,
            "by_type": dict(self.by_type),
            "parcels": len(self._last_sequence),
        }

"""The reference TMS (transport management system): LaneSort's upstream, simulated.

It plays the far side of LaneSort's webhook (:mod:`plc_configs.webhook`) for
tests and the demo, and can push a manifest and a route plan to LaneSort's API like a TMS would.

The webhook contract, as received here
--------------------------------------

LaneSort POSTs one event per request as JSON to the webhook URL (path
``/lanesort/events`` by default) with the headers ``Idempotency-Key: <event_id>``,
``X-LaneSort-Event: <type>`` and, when a secret is configured,
``X-LaneSort-Signature: t=<unix s>,v1=<hex>``. The body::

    {"event_id": str, "type": "parcel.measured" | "parcel.sorted" | "parcel.rejected"
     | "parcel.lost", "time": ISO-8601, "line": str, "parcel_id": str,
     "sequence": int (1, 2, ... per parcel_id), "tracking_id": int, "barcode": str|null,
     "route": str|null, "chute": int|null, "reason": str|null, "reason_detail": str|null,
     "weight": {"kg", "raw", "stable", "legal_for_trade", "device"}|null,
     "dimensions": {"length_mm", "width_mm", "height_mm", "raw", "device"}|null,
     "volumetric_weight_kg": number|null}

or, when a chute's container is closed out (type ``container.closed``, no
``parcel_id`` or ``sequence``)::

    {"event_id": str, "type": "container.closed", "time": ISO-8601, "line": str,
     "container_id": str, "chute": int, "route": str|null, "routes": [str],
     "opened": ISO-8601, "closed": ISO-8601, "parcel_count": int, "closed_by": str,
     "reason": str|null, "parcels": [{"parcel_id", "tracking_id", "barcode"}]}

Put-wall and loading events: ``parcel.put`` and ``parcel.short`` are parcel events (the
sorted parcel's ``parcel_id``, ``sequence`` following its sort events, ``barcode``);
``container.closed`` of a put wall's tote names its ``wall`` instead of a ``chute``;
``stop.complete`` and ``truck.loaded`` carry a ``truck`` (not ordered).

The simulator answers, in this order:

* mode ``error``: the configured status (500 by default), nothing recorded;
* a secret is configured and the signature is missing, stale or wrong: 401
  ``{"error": "bad signature", "reason": ...}``, counted in ``bad_signatures``;
* the body is not a JSON object with a non-empty string ``event_id`` and
  ``parcel_id`` and an integer ``sequence >= 1`` (a ``container.closed``: a
  non-empty string ``container_id``, an integer ``chute`` and a list ``parcels``):
  400, ``rejected_malformed``;
* an ``event_id`` already accepted: 200 ``{"status": "duplicate"}``, counted in
  ``duplicates``, not recorded again (the ``Idempotency-Key`` contract);
* otherwise 200 ``{"status": "accepted"}`` and the event is recorded. A
  ``sequence`` not greater than the highest accepted for its ``parcel_id`` is an
  order violation, one more than one above it a gap: both are counted and
  flagged on the record (container events are not ordered). Headers that disagree with the body
  (``Idempotency-Key`` != ``event_id``, ``X-LaneSort-Event`` != ``type``) are
  counted in ``header_mismatches`` and listed in the record's ``problems``.

A record is ``{"index": 1.., "received_at", "order_violation", "sequence_gap",
"problems": [...], "event": <the body>}``; with an events file each record is
also appended there as one JSON line, flushed at once.

The webhook site also serves ``GET /manifest.csv`` (the configured manifest).

The control site (always up)
----------------------------

* ``POST /mode`` ``{"mode": "up"|"down"|"slow"|"error", "delay_ms": 2000,
  "status": 500, "for_s": null}``: ``down`` closes the webhook listener
  (connections refused) and ``up`` reopens the same port; ``slow`` answers
  every delivery ``delay_ms`` late (after recording it, so a sender that times
  out and retries produces a duplicate); ``error`` answers ``status``. With
  ``for_s`` the mode returns to ``up`` after that many seconds. ``GET /mode``.
* ``GET /stats``: ``received`` (accepted, unique), ``duplicates``,
  ``order_violations``, ``sequence_gaps``, ``bad_signatures``,
  ``rejected_malformed``, ``errors_answered``, ``header_mismatches``,
  ``by_type``, ``parcels`` (distinct ``parcel_id``), ``mode``.
* ``GET /events?after=N[&limit=M]``: the records with ``index > N``.
* ``POST /reset``: forget all events and counters (truncates the events file).

As a process: ``python -m simulators.tms --port P --control-port C`` prints one
JSON line ``{"event": "ready", "webhook_url", "control_url", "manifest_url"}``
once listening and exits 0 on SIGTERM/SIGINT (see :mod:`simulators.tms.__main__`).
"""

from simulators.tms.client import (
    ManifestPushError,
    RoutePlanPushError,
    push_manifest,
    push_route_plan,
)
from simulators.tms.ledger import EventLedger
from simulators.tms.server import DEFAULT_PATH, Mode, TmsSimulator

__all__ = [
    "DEFAULT_PATH",
    "EventLedger",
    "ManifestPushError",
    "Mode",
    "RoutePlanPushError",
    "TmsSimulator",
    "push_manifest",
    "push_route_plan",
]

"""The webhook wire contract between LaneSort and the TMS: headers and the HMAC signature.

Both sides import it (the controller signs, the reference TMS simulator verifies),
as both sides of the PLC wire share the register map.

A delivery is one HTTP ``POST`` of one event as a JSON object, with::

    Content-Type: application/json
    Idempotency-Key: <event_id>            the same on every retry of the event
    X-LaneSort-Event: parcel.sorted        the event type
    X-LaneSort-Signature: t=<unix s>,v1=<hex>   only when a secret is configured

``v1`` is ``HMAC-SHA256(secret, "<t>.<raw body>")`` in lower-case hex, as Stripe
signs its webhooks: the receiver recomputes it over the raw body bytes and
rejects a stale ``t`` to stop replays. Any 2xx answer means delivered.
"""

from __future__ import annotations

import hashlib
import hmac

IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-LaneSort-Event"
SIGNATURE_HEADER = "X-LaneSort-Signature"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_S = 300.0


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``v1`` HMAC-SHA256 hex digest of ``"<timestamp>.<body>"``."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The value of ``X-LaneSort-Signature`` for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},{SIGNATURE_VERSION}={signature(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    header: str | None,
    body: bytes,
    now: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> str | None:
    """None when ``header`` is a valid signature of ``body``, else why it is not."""
    if not header:
        return f"missing {SIGNATURE_HEADER} header"
    fields: dict[str, str] = {}
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields[key] = value
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return f"{SIGNATURE_HEADER}: expected t=<unix seconds>, got {header!r}"
    given = fields.get(SIGNATURE_VERSION)
    if given is None:
        return f"{SIGNATURE_HEADER}: no {SIGNATURE_VERSION}= signature"
    if abs(now - timestamp) > tolerance_s:
        return f"{SIGNATURE_HEADER}: timestamp {timestamp} is more than {tolerance_s:.0f} s off"
    if not hmac.compare_digest(given, signature(secret, timestamp, body)):
        return f"{SIGNATURE_HEADER}: signature does not match the body"
    return None

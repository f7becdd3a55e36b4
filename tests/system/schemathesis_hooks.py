"""Schemathesis hooks (``SCHEMATHESIS_HOOKS``): how to put generated bodies on the wire.

The manifest upload declares NDJSON as a string body; schemathesis has no
serializer for that media type, so the generated value is sent as its text
(a list or object becomes JSON lines, which is what a TMS would send).
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(_ctx: Any, value: Any) -> bytes:
    """Generated NDJSON body as bytes."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    items = value if isinstance(value, list) else [value]
    return "\n".join(json.dumps(item) for item in items).encode()

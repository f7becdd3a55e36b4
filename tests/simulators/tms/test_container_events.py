"""The reference TMS accepts container close-outs, which are not parcel events."""

from __future__ import annotations

import uuid
from typing import Any

from simulators.tms import TmsSimulator
from tests.simulators.tms.helpers import make_event


def container_event(**changes: Any) -> dict[str, Any]:
    """A ``container.closed`` body as LaneSort sends it."""
    event = {
        "event_id": str(uuid.uuid4()),
        "type": "container.closed",
        "time": "2025-01-01T12:00:00.000Z",
        "line": "demo",
        "container_id": "C-3-20250101120000-a1b2c3",
        "chute": 3,
        "route": "R01",
        "routes": ["R01"],
        "opened": "2025-01-01T11:00:00.000Z",
        "closed": "2025-01-01T12:00:00.000Z",
        "parcel_count": 1,
        "closed_by": "lead",
        "reason": "full",
        "parcels": [{"parcel_id": "1-7", "tracking_id": 17, "barcode": "1Z999"}],
    }
    return event | changes


async def test_a_container_event_is_accepted_without_parcel_order(tms: TmsSimulator, deliver):
    assert (await deliver(tms.webhook_url, make_event("1-7", 1)))[0] == 200
    event = container_event()
    status, answer = await deliver(tms.webhook_url, event)
    assert (status, answer["status"]) == (200, "accepted")
    second = container_event(container_id="C-3-next", parcels=[])
    assert (await deliver(tms.webhook_url, second))[0] == 200
    stats = tms.stats()
    assert stats["by_type"] == {"parcel.sorted": 1, "container.closed": 2}
    assert (stats["order_violations"], stats["sequence_gaps"], stats["parcels"]) == (0, 0, 1)
    record = tms.ledger.records[1]
    assert record["event"] == event and record["problems"] == []
    assert (record["order_violation"], record["sequence_gap"]) == (False, False)


async def test_a_container_event_without_its_fields_is_malformed(tms: TmsSimulator, deliver):
    bad = [
        container_event(container_id=""),
        container_event(chute="3"),
        container_event(parcels=None),
        container_event(parcels=["1-7"]),
    ]
    for event in bad:
        status, answer = await deliver(tms.webhook_url, event)
        assert (status, answer["error"]) == (400, "malformed"), event
    assert tms.stats()["rejected_malformed"] == len(bad)
    assert tms.stats()["received"] == 0
